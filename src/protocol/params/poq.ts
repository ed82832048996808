/**
 * Parameters of the Proof-of-Quality round (cost-aware and robust PoQ papers, PAPERS.md §2–4): how many
 * evaluators score each output, how their scores aggregate, how trust moves, how rewards are computed and
 * what an honest evaluator reports. The papers leave every value unknown; these defaults are ours and are
 * swept in docs/reproductions/poq-*.md. Shared by the evaluator nodes, the simulator and the contracts.
 */
import { DEFAULT_DIMENSION_WEIGHTS, DIMENSIONS, type DimensionWeights } from "../poq/composite.ts";
import { AGGREGATORS, type AggregatorName } from "../poq/consensus/aggregators.ts";
import type { HardenedTrustParams, PaperTrustParams } from "../poq/consensus/trust.ts";
import type { RewardParams } from "../poq/rewards.ts";

/** What honest evaluators report: their own evaluator's score, or the multi-dimensional composite. */
export type QualitySignal = "evaluator" | "composite";

/** Parameters of one PoQ round. */
export interface PoqRoundParams {
  /** Evaluators sampled per round (k). */
  readonly k: number;
  readonly aggregator: AggregatorName;
  /** Trim fraction per side for trimmed-mean (τ). */
  readonly trim: number;
  /** With commit–reveal, nobody sees this round's scores before committing. */
  readonly commitReveal: boolean;
  readonly paperTrust: PaperTrustParams;
  /** The hardened rule, and the share of rounds audited against a reference answer. */
  readonly hardenedTrust: HardenedTrustParams & { readonly auditProbability: number };
  /** Yuma's κ: consensus is the stake-weighted κ-quantile (Bittensor default ≈ 0.5). */
  readonly yumaKappa: number;
  readonly rewards: RewardParams;
  readonly quality: QualitySignal;
  readonly compositeWeights: DimensionWeights;
  /** Smoothing of a node's quality prior (its history) for the composite. */
  readonly priorSmoothing: number;
}

/** Our defaults (PAPERS.md marks all of these unknown in the papers). */
export const DEFAULT_POQ_ROUND_PARAMS: PoqRoundParams = {
  k: 5,
  aggregator: "median",
  trim: 0.2,
  commitReveal: true,
  paperTrust: { lambda: 0.1, wMin: 0.1, wMax: 5, initialWeight: 1 },
  hardenedTrust: {
    eta: 2,
    decay: 0.02,
    prior: 1,
    wMin: 0.05,
    wMax: 20,
    auditBoost: 3,
    discriminationMemory: 100,
    auditProbability: 0.02,
  },
  yumaKappa: 0.5,
  rewards: { inference: { alpha: 1, beta: 0.5 }, evaluator: { alpha: 1, beta: 0.5 } },
  quality: "evaluator",
  compositeWeights: DEFAULT_DIMENSION_WEIGHTS,
  priorSmoothing: 0.05,
};

/** Every problem with round parameters (empty when valid). */
export function poqRoundProblems(c: PoqRoundParams): string[] {
  const problems: string[] = [];
  if (!(Number.isInteger(c.k) && c.k >= 1 && c.k <= 1000))
    problems.push(`k (evaluators per round) must be an integer in 1..1000, got ${c.k}`);
  if (!(AGGREGATORS as readonly string[]).includes(c.aggregator)) {
    problems.push(`unknown aggregator "${c.aggregator}"; known: ${AGGREGATORS.join(", ")}`);
  }
  if (!(c.trim >= 0 && c.trim < 0.5)) problems.push(`trim fraction τ must be in [0, 0.5), got ${c.trim}`);
  const t = c.paperTrust;
  if (!(t.lambda > 0 && t.wMin > 0 && t.wMin <= t.initialWeight && t.initialWeight <= t.wMax)) {
    problems.push("paper trust needs λ > 0 and 0 < w_min ≤ initial weight ≤ w_max");
  }
  const h = c.hardenedTrust;
  if (
    !(
      h.eta > 0 &&
      h.decay >= 0 &&
      h.decay < 1 &&
      h.wMin > 0 &&
      h.wMin <= h.prior &&
      h.prior <= h.wMax &&
      h.auditBoost >= 1 &&
      (h.discriminationMemory === 0 || h.discriminationMemory >= 1)
    )
  ) {
    problems.push(
      "hardened trust needs η > 0, 0 ≤ decay < 1, 0 < w_min ≤ prior ≤ w_max, audit boost ≥ 1 and discrimination memory 0 (off) or ≥ 1",
    );
  }
  if (!(h.auditProbability >= 0 && h.auditProbability <= 1))
    problems.push("audit probability must be in [0, 1]");
  if (!(c.yumaKappa > 0 && c.yumaKappa < 1)) problems.push(`Yuma κ must be in (0, 1), got ${c.yumaKappa}`);
  for (const [who, w] of Object.entries(c.rewards)) {
    if (!(Number.isFinite(w.alpha) && Number.isFinite(w.beta) && w.alpha >= 0 && w.beta >= 0))
      problems.push(`${who} reward α and β must be ≥ 0`);
  }
  if (!(c.quality === "evaluator" || c.quality === "composite"))
    problems.push(`quality signal must be evaluator or composite, got ${c.quality}`);
  const weightSum = DIMENSIONS.reduce((s, d) => s + c.compositeWeights[d], 0);
  if (DIMENSIONS.some((d) => !(c.compositeWeights[d] >= 0)) || Math.abs(weightSum - 1) > 1e-9) {
    problems.push("composite weights must be non-negative and sum to 1");
  }
  if (!(c.priorSmoothing > 0 && c.priorSmoothing <= 1)) problems.push("prior smoothing must be in (0, 1]");
  return problems;
}
