/**
 * Configuration of a PoQ Monte Carlo run, validated before any work starts (every problem reported).
 * Parameters the papers leave unknown have defaults of ours (PAPERS.md), each named here.
 */

import { fail, ok, type Verdict } from "../protocol/errors.ts";
import { preset } from "../protocol/params/params.ts";
import { DEFAULT_DIMENSION_WEIGHTS, DIMENSIONS, type DimensionWeights } from "../protocol/poq/composite.ts";
import { AGGREGATORS, type AggregatorName } from "../protocol/poq/consensus/aggregators.ts";
import { type AttackParams, BEHAVIOURS, type BehaviourName } from "../protocol/poq/consensus/behaviours.ts";
import type { HardenedTrustParams, PaperTrustParams } from "../protocol/poq/consensus/trust.ts";
import type { RewardParams } from "../protocol/poq/rewards.ts";

/** What honest evaluators report: their own evaluator's score, or the multi-dimensional composite. */
export type QualitySignal = "evaluator" | "composite";

/** A simulation configuration. */
export interface PoqSimConfig {
  readonly rounds: number;
  /** Evaluators sampled per round (k). */
  readonly k: number;
  /** Evaluator nodes in the network (M); node m runs evaluator type m mod E. */
  readonly evaluatorNodes: number;
  /** Fraction of evaluator nodes that are malicious (seeded choice). */
  readonly maliciousRatio: number;
  readonly attack: BehaviourName;
  readonly attackParams: AttackParams;
  readonly aggregator: AggregatorName;
  /** Trim fraction per side for trimmed-mean (τ). */
  readonly trim: number;
  /** With commit–reveal, nobody sees this round's scores before committing. */
  readonly commitReveal: boolean;
  readonly paperTrust: PaperTrustParams;
  readonly hardenedTrust: HardenedTrustParams & { readonly auditProbability: number };
  /** Yuma's κ: consensus is the stake-weighted κ-quantile (Bittensor default ≈ 0.5). */
  readonly yumaKappa: number;
  readonly rewards: RewardParams;
  readonly quality: QualitySignal;
  readonly compositeWeights: DimensionWeights;
  /** Smoothing of a node's quality prior (its history) for the composite. */
  readonly priorSmoothing: number;
  /**
   * Decimals of the bigint fixed-point ledger every round's rewards settle into (the protocol's
   * `fixedPointDecimals`); null skips settlement (sweeps, which report statistics only).
   */
  readonly settlementDecimals: number | null;
}

/** Our defaults (PAPERS.md marks all of these unknown in the papers). */
export const DEFAULT_SIM_CONFIG: PoqSimConfig = {
  rounds: 5000,
  k: 5,
  evaluatorNodes: 30,
  maliciousRatio: 0,
  attack: "honest",
  attackParams: { noiseSigma: 2, amount: 3, intermittentProbability: 0.3, lazyScore: 7 },
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
  settlementDecimals: preset("paper").fixedPointDecimals,
};

/** Checks a configuration against a pool size, reporting every problem at once. */
export function validateSimConfig(c: PoqSimConfig, evaluatorTypes: number): Verdict<PoqSimConfig> {
  const problems: string[] = [];
  const integer = (v: number, name: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (!(Number.isInteger(v) && v >= min && v <= max))
      problems.push(`${name} must be an integer in ${min}..${max}, got ${v}`);
  };
  integer(c.rounds, "rounds", 1, 100_000_000);
  integer(c.k, "k (evaluators per round)", 1, 1000);
  integer(c.evaluatorNodes, "evaluator nodes", 1, 100_000);
  if (c.settlementDecimals !== null) integer(c.settlementDecimals, "settlement decimals", 0, 36);
  if (Number.isInteger(c.k) && Number.isInteger(c.evaluatorNodes) && c.k > c.evaluatorNodes) {
    problems.push(`k = ${c.k} exceeds the ${c.evaluatorNodes} evaluator nodes`);
  }
  if (!(c.maliciousRatio >= 0 && c.maliciousRatio <= 1))
    problems.push(`malicious ratio must be in [0, 1], got ${c.maliciousRatio}`);
  if (!(BEHAVIOURS as readonly string[]).includes(c.attack))
    problems.push(`unknown attack "${c.attack}"; known: ${BEHAVIOURS.join(", ")}`);
  if (!(AGGREGATORS as readonly string[]).includes(c.aggregator)) {
    problems.push(`unknown aggregator "${c.aggregator}"; known: ${AGGREGATORS.join(", ")}`);
  }
  if (!(c.trim >= 0 && c.trim < 0.5)) problems.push(`trim fraction τ must be in [0, 0.5), got ${c.trim}`);
  const a = c.attackParams;
  if (!(a.noiseSigma >= 0)) problems.push(`noise σ must be ≥ 0, got ${a.noiseSigma}`);
  if (!(a.amount >= 0 && a.amount <= 10)) problems.push(`attack amount must be in [0, 10], got ${a.amount}`);
  if (!(a.intermittentProbability >= 0 && a.intermittentProbability <= 1))
    problems.push("intermittent probability must be in [0, 1]");
  if (!(a.lazyScore >= 0 && a.lazyScore <= 10)) problems.push("lazy score must be in [0, 10]");
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
  if (evaluatorTypes < 1) problems.push("the pool has no evaluator types");
  return problems.length
    ? fail("PARAMS_INVALID", `invalid simulation parameters: ${problems.join("; ")}`, { problems })
    : ok(c);
}
