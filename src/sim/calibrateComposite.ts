/**
 * Multi-dimensional PoQ calibration (PAPERS.md §4) on a pool, with every choice made on one half of the
 * prompts and every comparison on the other. Prompts are split by a seeded coin. On the calibration
 * half: the semantic evaluator (the best-correlated one, unless the user names it), the audit of each
 * dimension, the paper's drop-and-renormalize weights, weights fitted by non-negative least squares,
 * and the best single evaluator. On the held-out half — never used for any choice — every signal's
 * Pearson with the truth, and the composites' differences from the best single evaluator with a
 * paired bootstrap over held-out prompts.
 */

import {
  type Calibration,
  calibrateWeights,
  compositeScore,
  DIMENSIONS,
  type Dimension,
  type DimensionWeights,
  fitWeights,
} from "../protocol/poq/composite.ts";
import { median } from "../protocol/poq/consensus/aggregators.ts";
import { correlationUndefinedReason, pearson } from "../protocol/poq/metrics/correlation.ts";
import { deriveSeed, type Seed } from "../protocol/rng/deriveSeed.ts";
import { createRng } from "../protocol/rng/prng.ts";
import { POOL_DIMENSIONS, type PoqPool } from "./poqPool.ts";

/** Options of a calibration. */
export interface CalibrationOptions {
  /** Evaluator used as the semantic dimension; null: the best on the calibration half. */
  readonly semantic: string | null;
  readonly weights: DimensionWeights;
  /** Dimensions correlating below this on the calibration split are dropped (the paper's rule). */
  readonly minCorrelation: number;
  readonly seed: Seed;
  /** Paired bootstrap resamples of held-out prompts for the differences (0: none). */
  readonly resamples: number;
  readonly confidence: number;
}

/** A held-out difference with its paired-bootstrap interval. */
export interface Difference {
  readonly delta: number | null;
  readonly low: number | null;
  readonly high: number | null;
}

/** Outcome. */
export interface CalibrationReport {
  readonly calibrationItems: number;
  readonly heldOutItems: number;
  readonly calibrationPrompts: number;
  readonly heldOutPrompts: number;
  /** Every evaluator's Pearson on the calibration half (what the choices below are based on). */
  readonly calibrationPearson: Readonly<Record<string, number | null>>;
  readonly semantic: { readonly evaluator: string; readonly chosenBy: "calibration half" | "--semantic" };
  /** Pearson of each dimension with the truth on the calibration split, and why one is undefined. */
  readonly dimensionCorrelations: Readonly<Record<Dimension, number | null>>;
  readonly dimensionUndefined: Readonly<Record<Dimension, string | null>>;
  /** The paper's rule (weights null when no dimension passes). */
  readonly calibration: Calibration;
  /** Non-negative least squares on the calibration half (null when nothing predicts the truth). */
  readonly fitted: { readonly weights: DimensionWeights | null };
  /** The single evaluator with the best calibration-half Pearson. */
  readonly bestSingle: { readonly evaluator: string };
  /** The single dimension with the best calibration-half Pearson: what a composite must beat to add anything. */
  readonly bestDimension: { readonly dimension: Dimension | null };
  /** Pearson with the truth on the held-out split. */
  readonly heldOut: {
    readonly defaultComposite: number | null;
    readonly calibratedComposite: number | null;
    readonly fittedComposite: number | null;
    readonly bestSingle: number | null;
    readonly medianConsensus: number | null;
    readonly perEvaluator: Readonly<Record<string, number | null>>;
    readonly perDimension: Readonly<Record<Dimension, number | null>>;
    /** Composite minus best single evaluator, held out, paired bootstrap over prompts. */
    readonly calibratedMinusBestSingle: Difference;
    readonly fittedMinusBestSingle: Difference;
    /** Composite minus the best single dimension (chosen on the calibration half). */
    readonly calibratedMinusBestDimension: Difference;
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

/** Centered moments of the dimensions against the truth over `items` (the least-squares inputs). */
function moments(dims: Float64Array, truth: ArrayLike<number>, items: readonly number[]) {
  const d = DIMENSIONS.length;
  const mean = new Float64Array(d);
  let my = 0;
  for (const i of items) {
    for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (dims[i * d + j] as number);
    my += truth[i] as number;
  }
  for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) / items.length;
  my /= items.length;
  const gram = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const cross = new Array<number>(d).fill(0);
  for (const i of items) {
    const y = (truth[i] as number) - my;
    for (let j = 0; j < d; j++) {
      const xj = (dims[i * d + j] as number) - (mean[j] as number);
      cross[j] = (cross[j] as number) + xj * y;
      const row = gram[j] as number[];
      for (let k = 0; k < d; k++)
        row[k] = (row[k] as number) + xj * ((dims[i * d + k] as number) - (mean[k] as number));
    }
  }
  return { gram, cross };
}

/** Runs the calibration. */
export function calibrateComposite(pool: PoqPool, options: CalibrationOptions): CalibrationReport {
  const E = pool.evaluators.length;
  const S = pool.systems.length;
  if (options.semantic !== null && !pool.evaluators.includes(options.semantic))
    throw new RangeError(
      `semantic evaluator ${options.semantic} is not in the pool (${pool.evaluators.join(", ")})`,
    );
  // The split: a seeded coin per prompt.
  const rng = createRng(deriveSeed(options.seed, "calibration-split"));
  const promptItems: number[][] = [];
  const inCalibration: boolean[] = [];
  for (let p = 0; p < pool.prompts; p++) {
    inCalibration.push(rng.float() < 0.5);
    const items: number[] = [];
    for (let s = 0; s < S; s++) {
      const item = pool.itemOf[p * S + s] as number;
      if (item >= 0) items.push(item);
    }
    promptItems.push(items);
  }
  const prompts = (cal: boolean) => promptItems.filter((_, p) => inCalibration[p] === cal);
  const calibrationItems = prompts(true).flat();
  const heldOutPrompts = prompts(false);
  const heldOutItems = heldOutPrompts.flat();
  const truthOf = (items: readonly number[]) => items.map((i) => pool.truth[i] as number);
  const evaluatorOn = (items: readonly number[], e: number) =>
    items.map((i) => pool.scores[i * E + e] as number);

  // Choices, on the calibration half only.
  const calibrationTruth = truthOf(calibrationItems);
  const calibrationPearson = pool.evaluators.map((_, e) =>
    pearson(evaluatorOn(calibrationItems, e), calibrationTruth),
  );
  const ranked = calibrationPearson
    .map((r, e) => ({ r: r ?? Number.NEGATIVE_INFINITY, e }))
    .sort((a, b) => b.r - a.r);
  const best = (ranked[0] as { e: number }).e;
  const semantic = options.semantic === null ? best : pool.evaluators.indexOf(options.semantic);

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
  const dimensionOn = (items: readonly number[], j: number) => items.map((i) => dims[i * 5 + j] as number);
  const dimensionCorrelations = Object.fromEntries(
    DIMENSIONS.map((d, j) => [d, pearson(dimensionOn(calibrationItems, j), calibrationTruth)]),
  ) as Record<Dimension, number | null>;
  const dimensionUndefined = Object.fromEntries(
    DIMENSIONS.map((d, j) => [
      d,
      correlationUndefinedReason(dimensionOn(calibrationItems, j), calibrationTruth),
    ]),
  ) as Record<Dimension, string | null>;
  const calibration = calibrateWeights(dimensionCorrelations, options.weights, options.minCorrelation);
  const bestDimensionIndex = DIMENSIONS.map((d, j) => ({ r: dimensionCorrelations[d], j }))
    .filter((x): x is { r: number; j: number } => x.r !== null)
    .sort((a, b) => b.r - a.r)[0]?.j;
  const { gram, cross } = moments(dims, pool.truth, calibrationItems);
  const fitted = fitWeights(gram, cross);

  // Comparisons, on the held-out half only.
  const scratch = new Float64Array(E);
  const signals = {
    default: (i: number) => compositeScore(dims.subarray(i * 5, i * 5 + 5), options.weights),
    calibrated: calibration.weights
      ? (i: number) =>
          compositeScore(dims.subarray(i * 5, i * 5 + 5), calibration.weights as DimensionWeights)
      : null,
    fitted: fitted ? (i: number) => compositeScore(dims.subarray(i * 5, i * 5 + 5), fitted) : null,
    best: (i: number) => pool.scores[i * E + best] as number,
    median: (i: number) => median(pool.scores.subarray(i * E, i * E + E), E, scratch),
  };
  const values = (f: ((i: number) => number) | null) => (f ? Float64Array.from(heldOutItems, f) : null);
  const held = {
    default: values(signals.default),
    calibrated: values(signals.calibrated),
    fitted: values(signals.fitted),
    best: values(signals.best) as Float64Array,
    median: values(signals.median),
  };
  const heldTruth = truthOf(heldOutItems);
  const r = (v: Float64Array | null) => (v ? pearson(v, heldTruth) : null);
  const bestDimensionValues =
    bestDimensionIndex === undefined
      ? null
      : Float64Array.from(dimensionOn(heldOutItems, bestDimensionIndex));
  const difference = (
    composite: Float64Array | null,
    label: string,
    other: Float64Array | null = held.best,
  ): Difference =>
    pairedBootstrap(composite, other, heldTruth, heldOutPrompts, {
      seed: deriveSeed(options.seed, "held-out-bootstrap", label),
      resamples: options.resamples,
      confidence: options.confidence,
    });
  return {
    calibrationItems: calibrationItems.length,
    heldOutItems: heldOutItems.length,
    calibrationPrompts: prompts(true).length,
    heldOutPrompts: heldOutPrompts.length,
    calibrationPearson: Object.fromEntries(
      pool.evaluators.map((name, e) => [name, calibrationPearson[e] ?? null]),
    ),
    semantic: {
      evaluator: pool.evaluators[semantic] as string,
      chosenBy: options.semantic === null ? "calibration half" : "--semantic",
    },
    dimensionCorrelations,
    dimensionUndefined,
    calibration,
    fitted: { weights: fitted },
    bestSingle: { evaluator: pool.evaluators[best] as string },
    bestDimension: {
      dimension: bestDimensionIndex === undefined ? null : (DIMENSIONS[bestDimensionIndex] as Dimension),
    },
    heldOut: {
      defaultComposite: r(held.default),
      calibratedComposite: r(held.calibrated),
      fittedComposite: r(held.fitted),
      bestSingle: r(held.best),
      medianConsensus: r(held.median),
      perEvaluator: Object.fromEntries(
        pool.evaluators.map((name, e) => [name, pearson(evaluatorOn(heldOutItems, e), heldTruth)]),
      ),
      perDimension: Object.fromEntries(
        DIMENSIONS.map((d, j) => [d, pearson(dimensionOn(heldOutItems, j), heldTruth)]),
      ) as Record<Dimension, number | null>,
      calibratedMinusBestSingle: difference(held.calibrated, "calibrated"),
      fittedMinusBestSingle: difference(held.fitted, "fitted"),
      calibratedMinusBestDimension: difference(
        held.calibrated,
        "calibrated-vs-dimension",
        bestDimensionValues,
      ),
    },
  };
}

/**
 * Pearson(a) − Pearson(b) on the held-out items, with a percentile interval from resampling held-out
 * prompts (all outputs of a prompt together), the same resamples for both signals.
 */
function pairedBootstrap(
  a: Float64Array | null,
  b: Float64Array | null,
  truth: readonly number[],
  prompts: readonly (readonly number[])[],
  options: { seed: Seed; resamples: number; confidence: number },
): Difference {
  if (a === null || b === null) return { delta: null, low: null, high: null };
  const ra = pearson(a, truth);
  const rb = pearson(b, truth);
  if (ra === null || rb === null) return { delta: null, low: null, high: null };
  // Held-out positions of each prompt's items (the arrays are in prompt order).
  const positions: number[][] = [];
  let at = 0;
  for (const p of prompts) {
    positions.push(p.map(() => at++));
  }
  const rng = createRng(options.seed);
  const deltas: number[] = [];
  const xa: number[] = [];
  const xb: number[] = [];
  const y: number[] = [];
  for (let k = 0; k < options.resamples; k++) {
    xa.length = 0;
    xb.length = 0;
    y.length = 0;
    for (let p = 0; p < positions.length; p++) {
      for (const i of positions[rng.int(positions.length)] as number[]) {
        xa.push(a[i] as number);
        xb.push(b[i] as number);
        y.push(truth[i] as number);
      }
    }
    const pa = pearson(xa, y);
    const pb = pearson(xb, y);
    if (pa !== null && pb !== null) deltas.push(pa - pb);
  }
  if (deltas.length === 0) return { delta: ra - rb, low: null, high: null };
  deltas.sort((x, z) => x - z);
  const tail = (1 - options.confidence) / 2;
  const pick = (q: number) =>
    deltas[Math.min(deltas.length - 1, Math.max(0, Math.floor(q * deltas.length)))] as number;
  return { delta: ra - rb, low: pick(tail), high: pick(1 - tail) };
}
