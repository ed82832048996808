/**
 * Configuration of a PoQ Monte Carlo run, validated before any work starts (every problem reported).
 * Parameters the papers leave unknown have defaults of ours (PAPERS.md), each named here.
 */

import { fail, ok, type Verdict } from "../protocol/errors.ts";
import { preset } from "../protocol/params/params.ts";
import {
  DEFAULT_POQ_ROUND_PARAMS,
  type PoqRoundParams,
  poqRoundProblems,
  type QualitySignal,
} from "../protocol/params/poq.ts";
import { type AttackParams, BEHAVIOURS, type BehaviourName } from "../protocol/poq/consensus/behaviours.ts";

export type { QualitySignal };

/** A simulation configuration: the protocol's round parameters, and the simulated network and attack. */
export interface PoqSimConfig extends PoqRoundParams {
  readonly rounds: number;
  /** Evaluator nodes in the network (M); node m runs evaluator type m mod E. */
  readonly evaluatorNodes: number;
  /** Fraction of evaluator nodes that are malicious (seeded choice). */
  readonly maliciousRatio: number;
  readonly attack: BehaviourName;
  readonly attackParams: AttackParams;
  /**
   * Decimals of the bigint fixed-point ledger every round's rewards settle into (the protocol's
   * `fixedPointDecimals`); null skips settlement (sweeps, which report statistics only).
   */
  readonly settlementDecimals: number | null;
}

/** Our defaults (PAPERS.md marks all of these unknown in the papers). */
export const DEFAULT_SIM_CONFIG: PoqSimConfig = {
  rounds: 5000,
  k: DEFAULT_POQ_ROUND_PARAMS.k,
  evaluatorNodes: 30,
  maliciousRatio: 0,
  attack: "honest",
  attackParams: { noiseSigma: 2, amount: 3, intermittentProbability: 0.3, lazyScore: 7 },
  aggregator: DEFAULT_POQ_ROUND_PARAMS.aggregator,
  trim: DEFAULT_POQ_ROUND_PARAMS.trim,
  commitReveal: DEFAULT_POQ_ROUND_PARAMS.commitReveal,
  paperTrust: DEFAULT_POQ_ROUND_PARAMS.paperTrust,
  hardenedTrust: DEFAULT_POQ_ROUND_PARAMS.hardenedTrust,
  yumaKappa: DEFAULT_POQ_ROUND_PARAMS.yumaKappa,
  rewards: DEFAULT_POQ_ROUND_PARAMS.rewards,
  quality: DEFAULT_POQ_ROUND_PARAMS.quality,
  compositeWeights: DEFAULT_POQ_ROUND_PARAMS.compositeWeights,
  priorSmoothing: DEFAULT_POQ_ROUND_PARAMS.priorSmoothing,
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
  integer(c.evaluatorNodes, "evaluator nodes", 1, 100_000);
  if (c.settlementDecimals !== null) integer(c.settlementDecimals, "settlement decimals", 0, 36);
  if (Number.isInteger(c.k) && Number.isInteger(c.evaluatorNodes) && c.k > c.evaluatorNodes) {
    problems.push(`k = ${c.k} exceeds the ${c.evaluatorNodes} evaluator nodes`);
  }
  if (!(c.maliciousRatio >= 0 && c.maliciousRatio <= 1))
    problems.push(`malicious ratio must be in [0, 1], got ${c.maliciousRatio}`);
  if (!(BEHAVIOURS as readonly string[]).includes(c.attack))
    problems.push(`unknown attack "${c.attack}"; known: ${BEHAVIOURS.join(", ")}`);
  const a = c.attackParams;
  if (!(a.noiseSigma >= 0)) problems.push(`noise σ must be ≥ 0, got ${a.noiseSigma}`);
  if (!(a.amount >= 0 && a.amount <= 10)) problems.push(`attack amount must be in [0, 10], got ${a.amount}`);
  if (!(a.intermittentProbability >= 0 && a.intermittentProbability <= 1))
    problems.push("intermittent probability must be in [0, 1]");
  if (!(a.lazyScore >= 0 && a.lazyScore <= 10)) problems.push("lazy score must be in [0, 10]");
  problems.push(...poqRoundProblems(c));
  if (evaluatorTypes < 1) problems.push("the pool has no evaluator types");
  return problems.length
    ? fail("PARAMS_INVALID", `invalid simulation parameters: ${problems.join("; ")}`, { problems })
    : ok(c);
}
