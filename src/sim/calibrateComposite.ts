/**
 * Multi-dimensional PoQ calibration (PAPERS.md §4) on a pool: prompts are split by a seeded coin into a
 * calibration half and a held-out half. On the calibration half each dimension's Pearson correlation
 * with the ground-truth proxy is audited and weak or negatively correlated dimensions are dropped
 * (weights renormalized). On the held-out half — never used for any choice — the default composite, the
 * calibrated composite, the best single evaluator (chosen on the calibration half) and the median
 * consensus of all evaluators are compared.
 */

import {
  type Calibration,
  calibrateWeights,
  compositeScore,
  DIMENSIONS,
  type Dimension,
  type DimensionWeights,
} from "../protocol/poq/composite.ts";
import { median } from "../protocol/poq/consensus/aggregators.ts";
import { pearson } from "../protocol/poq/metrics/correlation.ts";
import { deriveSeed, type Seed } from "../protocol/rng/deriveSeed.ts";
import { createRng } from "../protocol/rng/prng.ts";
import { POOL_DIMENSIONS, type PoqPool } from "./poqPool.ts";

/** Options of a calibration. */
export interface CalibrationOptions {
  /** Evaluator type used as the semantic dimension. */
  readonly semantic: string;
  readonly weights: DimensionWeights;
  /** Dimensions correlating below this on the calibration split are dropped. */
  readonly minCorrelation: number;
  readonly seed: Seed;
}

/** Outcome. */
export interface CalibrationReport {
  readonly calibrationItems: number;
  readonly heldOutItems: number;
  /** Pearson of each dimension with the truth on the calibration split. */
  readonly dimensionCorrelations: Readonly<Record<Dimension, number | null>>;
  readonly calibration: Calibration;
  /** Pearson with the truth on the held-out split. */
  readonly heldOut: {
    readonly defaultComposite: number | null;
    readonly calibratedComposite: number | null;
    readonly bestSingle: { readonly evaluator: string; readonly pearson: number | null };
    readonly medianConsensus: number | null;
    readonly perEvaluator: Readonly<Record<string, number | null>>;
  };
}

/** Per-item dimension values; the prior is the node's mean semantic score on the calibration split. */
function dimensionMatrix(pool: PoqPool, semantic: number, priorOf: Float64Array): Float64Array {
  const n = pool.truth.length;
  const E = pool.evaluators.length;
  const D = POOL_DIMENSIONS.length;
  const out = new Float64Array(n * DIMENSIONS.length);
  for (let i = 0; i < n; i++) {
    // DIMENSIONS order: prior, structure, semantic, alignment, agreement.
    out[i * 5] = priorOf[pool.systemOf[i] as number] as number;
    out[i * 5 + 1] = pool.dimensions[i * D] as number;
    out[i * 5 + 2] = pool.scores[i * E + semantic] as number;
    out[i * 5 + 3] = pool.dimensions[i * D + 1] as number;
    out[i * 5 + 4] = pool.dimensions[i * D + 2] as number;
  }
  return out;
}

/** Runs the calibration. */
export function calibrateComposite(pool: PoqPool, options: CalibrationOptions): CalibrationReport {
  const semantic = pool.evaluators.indexOf(options.semantic);
  if (semantic < 0)
    throw new RangeError(
      `semantic evaluator ${options.semantic} is not in the pool (${pool.evaluators.join(", ")})`,
    );
  const rng = createRng(deriveSeed(options.seed, "calibration-split"));
  const S = pool.systems.length;
  const E = pool.evaluators.length;
  const inCalibration = new Uint8Array(pool.truth.length);
  for (let p = 0; p < pool.prompts; p++) {
    const calibrate = rng.float() < 0.5;
    for (let s = 0; s < S; s++) {
      const item = pool.itemOf[p * S + s] as number;
      if (item >= 0 && calibrate) inCalibration[item] = 1;
    }
  }
  const split = (cal: boolean) => [...pool.truth.keys()].filter((i) => (inCalibration[i] === 1) === cal);
  const calibrationItems = split(true);
  const heldOutItems = split(false);

  // Node history: mean semantic score over its calibration outputs.
  const sum = new Float64Array(S);
  const count = new Float64Array(S);
  for (const i of calibrationItems) {
    const s = pool.systemOf[i] as number;
    sum[s] = (sum[s] as number) + (pool.scores[i * E + semantic] as number);
    count[s] = (count[s] as number) + 1;
  }
  const priorOf = Float64Array.from(sum, (v, s) => ((count[s] as number) > 0 ? v / (count[s] as number) : 5));
  const dims = dimensionMatrix(pool, semantic, priorOf);
  const truthOf = (items: number[]) => items.map((i) => pool.truth[i] as number);

  const dimensionCorrelations = Object.fromEntries(
    DIMENSIONS.map((d, j) => [
      d,
      pearson(
        calibrationItems.map((i) => dims[i * 5 + j] as number),
        truthOf(calibrationItems),
      ),
    ]),
  ) as Record<Dimension, number | null>;
  const calibration = calibrateWeights(dimensionCorrelations, options.weights, options.minCorrelation);

  const compositeOn = (items: number[], weights: DimensionWeights) =>
    items.map((i) => compositeScore(dims.subarray(i * 5, i * 5 + 5), weights));
  const evaluatorOn = (items: number[], e: number) => items.map((i) => pool.scores[i * E + e] as number);
  const perEvaluatorCalibration = pool.evaluators.map(
    (_, e) => pearson(evaluatorOn(calibrationItems, e), truthOf(calibrationItems)) ?? -2,
  );
  const best = perEvaluatorCalibration.indexOf(Math.max(...perEvaluatorCalibration));
  const heldTruth = truthOf(heldOutItems);
  const scratch = new Float64Array(E);
  return {
    calibrationItems: calibrationItems.length,
    heldOutItems: heldOutItems.length,
    dimensionCorrelations,
    calibration,
    heldOut: {
      defaultComposite: pearson(compositeOn(heldOutItems, options.weights), heldTruth),
      calibratedComposite: pearson(compositeOn(heldOutItems, calibration.weights), heldTruth),
      bestSingle: {
        evaluator: pool.evaluators[best] as string,
        pearson: pearson(evaluatorOn(heldOutItems, best), heldTruth),
      },
      medianConsensus: pearson(
        heldOutItems.map((i) => median(pool.scores.subarray(i * E, i * E + E), E, scratch)),
        heldTruth,
      ),
      perEvaluator: Object.fromEntries(
        pool.evaluators.map((name, e) => [name, pearson(evaluatorOn(heldOutItems, e), heldTruth)]),
      ),
    },
  };
}
