/**
 * Parameter sweeps of the robust-PoQ experiments: malicious ratio × evaluators per round (k) ×
 * aggregator × attack (× replicates). Each point's seed depends on everything but the aggregator, so
 * aggregators are compared on identical rounds (common random numbers), and the malicious nodes depend
 * only on the ratio and replicate, so k and attacks are compared on the same attackers.
 */

import { fail, ok, type Verdict } from "../protocol/errors.ts";
import { AGGREGATORS, type AggregatorName } from "../protocol/poq/consensus/aggregators.ts";
import { BEHAVIOURS, type BehaviourName } from "../protocol/poq/consensus/behaviours.ts";
import { deriveSeed, type Seed } from "../protocol/rng/deriveSeed.ts";
import type { PoqPool } from "./poqPool.ts";
import { type PoqSimConfig, validateSimConfig } from "./simConfig.ts";
import { simulatePoq } from "./simulatePoq.ts";

/** The grid. */
export interface SweepGrid {
  readonly maliciousRatios: readonly number[];
  readonly ks: readonly number[];
  readonly aggregators: readonly AggregatorName[];
  readonly attacks: readonly BehaviourName[];
  readonly replicates: number;
}

/** The grid: ratio 0–0.5 × k ∈ {3, 5, 7, 9, 11} × every aggregator × every attack (1,260 points). */
export const DEFAULT_SWEEP_GRID: SweepGrid = {
  maliciousRatios: [0, 0.1, 0.2, 0.3, 0.4, 0.5],
  ks: [3, 5, 7, 9, 11],
  aggregators: [...AGGREGATORS],
  attacks: BEHAVIOURS.filter((b) => b !== "honest"),
  replicates: 1,
};

/** One point of the grid. */
export interface SweepPoint {
  readonly aggregator: AggregatorName;
  readonly attack: BehaviourName;
  readonly maliciousRatio: number;
  readonly k: number;
  readonly replicate: number;
}

/** What a point measured. */
export interface SweepRow extends SweepPoint {
  readonly pearson: number | null;
  readonly mae: number;
  readonly rewardInflation: number;
  readonly honestEvaluatorMean: number;
  readonly honestEvaluatorVariance: number;
  readonly maliciousEvaluatorMean: number | null;
  readonly inferenceRewardStd: number;
  readonly honestWeight: number;
  readonly maliciousWeight: number | null;
}

/** All points, in a fixed order. */
export function sweepPoints(grid: SweepGrid): SweepPoint[] {
  const points: SweepPoint[] = [];
  for (const attack of grid.attacks) {
    for (const maliciousRatio of grid.maliciousRatios) {
      for (const k of grid.ks) {
        for (const aggregator of grid.aggregators) {
          for (let replicate = 0; replicate < grid.replicates; replicate++)
            points.push({ aggregator, attack, maliciousRatio, k, replicate });
        }
      }
    }
  }
  return points;
}

/** The seed of a point's rounds: independent of the aggregator. */
export function pointSeed(master: Seed, p: SweepPoint): Seed {
  return deriveSeed(master, "sweep", p.attack, Math.round(p.maliciousRatio * 1e6), p.k, p.replicate);
}

/** The seed choosing a point's malicious nodes: independent of the aggregator, the attack and k. */
export function maliciousSeed(master: Seed, p: SweepPoint): Seed {
  return deriveSeed(master, "sweep-malicious", Math.round(p.maliciousRatio * 1e6), p.replicate);
}

/** The configuration of a point. */
export function pointConfig(base: PoqSimConfig, p: SweepPoint): PoqSimConfig {
  // Sweeps report statistics only, so they skip the bigint settlement.
  return {
    ...base,
    aggregator: p.aggregator,
    attack: p.attack,
    maliciousRatio: p.maliciousRatio,
    k: p.k,
    settlementDecimals: null,
  };
}

/** Checks a grid and every configuration it implies, before any work starts. */
export function validateSweep(
  grid: SweepGrid,
  base: PoqSimConfig,
  evaluatorTypes: number,
): Verdict<SweepGrid> {
  const problems: string[] = [];
  if (!(Number.isInteger(grid.replicates) && grid.replicates >= 1))
    problems.push("replicates must be a positive integer");
  for (const [name, values] of Object.entries({
    ratios: grid.maliciousRatios,
    ks: grid.ks,
    aggregators: grid.aggregators,
    attacks: grid.attacks,
  })) {
    if (values.length === 0) problems.push(`the grid needs at least one value for ${name}`);
  }
  for (const attack of grid.attacks)
    if (!(BEHAVIOURS as readonly string[]).includes(attack)) problems.push(`unknown attack "${attack}"`);
  for (const a of grid.aggregators)
    if (!(AGGREGATORS as readonly string[]).includes(a)) problems.push(`unknown aggregator "${a}"`);
  const seen = new Set<string>();
  for (const ratio of grid.maliciousRatios) {
    for (const k of grid.ks) {
      const v = validateSimConfig(
        {
          ...base,
          maliciousRatio: ratio,
          k,
          attack: grid.attacks[0] ?? "honest",
          aggregator: grid.aggregators[0] ?? "median",
        },
        evaluatorTypes,
      );
      if (!v.ok) for (const p of v.error.meta.problems as string[]) if (!seen.has(p)) seen.add(p);
    }
  }
  problems.push(...seen);
  return problems.length
    ? fail("PARAMS_INVALID", `invalid sweep: ${problems.join("; ")}`, { problems })
    : ok(grid);
}

/** Runs one point. */
export function runSweepPoint(pool: PoqPool, base: PoqSimConfig, point: SweepPoint, master: Seed): SweepRow {
  const r = simulatePoq(
    pool,
    pointConfig(base, point),
    pointSeed(master, point),
    maliciousSeed(master, point),
  );
  return {
    ...point,
    pearson: r.consensus.pearson,
    mae: r.consensus.mae,
    rewardInflation: r.rewardInflation,
    honestEvaluatorMean: r.honestEvaluatorReward.mean,
    honestEvaluatorVariance: r.honestEvaluatorReward.variance,
    maliciousEvaluatorMean: r.maliciousEvaluatorReward?.mean ?? null,
    inferenceRewardStd: r.inferenceRewardStd,
    honestWeight: r.finalWeights.honest,
    maliciousWeight: r.finalWeights.malicious,
  };
}
