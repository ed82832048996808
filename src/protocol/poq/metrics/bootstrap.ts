/**
 * Seeded percentile-bootstrap confidence intervals for Pearson, Spearman and Kendall τ-b.
 * Resamples pairs with replacement (as multinomial weights over the points); each coefficient is
 * recomputed exactly on the resample, Spearman re-ranking it with its ties (weightedCorrelation.ts).
 */

import { ok, type Verdict } from "../../errors.ts";
import type { Rng } from "../../rng/prng.ts";
import { checkPaired, kendallTauB, pearson, type Sample, spearman } from "./correlation.ts";
import {
  pairWeights,
  preparePairs,
  weightedKendall,
  weightedPearson,
  weightedSpearman,
} from "./weightedCorrelation.ts";

/** A point estimate with its bootstrap interval; any part may be null when undefined. */
export interface Estimate {
  readonly value: number | null;
  readonly low: number | null;
  readonly high: number | null;
}

/** The three coefficients with intervals. */
export interface CorrelationReport {
  readonly n: number;
  readonly pearson: Estimate;
  readonly spearman: Estimate;
  readonly kendall: Estimate;
  readonly resamples: number;
  readonly level: number;
}

/** Options for {@link correlate}. */
export interface BootstrapOptions {
  readonly rng: Rng;
  readonly resamples: number;
  readonly level: number;
}

/** Percentile of a sorted array by linear interpolation (numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

function interval(values: number[], level: number): [number | null, number | null] {
  if (values.length === 0) return [null, null];
  const sorted = Float64Array.from(values).sort();
  const alpha = (1 - level) / 2;
  return [quantileSorted(sorted, alpha), quantileSorted(sorted, 1 - alpha)];
}

/** Fills `weights` with one bootstrap resample: how often each of the n points is drawn in n draws. */
export function drawBootstrapWeights(rng: Rng, weights: Uint32Array): Uint32Array {
  const n = weights.length;
  weights.fill(0);
  for (let i = 0; i < n; i++) weights[rng.int(n)]! += 1;
  return weights;
}

/** Pearson, Spearman and Kendall τ-b of paired samples with seeded bootstrap intervals. */
export function correlate(x: Sample, y: Sample, options: BootstrapOptions): Verdict<CorrelationReport> {
  const checked = checkPaired(x, y);
  if (!checked.ok) return checked;
  const n = checked.value;
  const { rng, resamples, level } = options;
  const samples = { pearson: [] as number[], spearman: [] as number[], kendall: [] as number[] };
  if (n >= 2) {
    const paired = preparePairs(x, y);
    const points = new Uint32Array(n);
    const weights = new Uint32Array(paired.x.length);
    const tree = new Float64Array(paired.kb + 1);
    for (let b = 0; b < resamples; b++) {
      drawBootstrapWeights(rng, points);
      pairWeights(paired, points, weights);
      const p = weightedPearson(paired.x, paired.y, weights);
      if (p !== null) samples.pearson.push(p);
      const s = weightedSpearman(paired, weights);
      if (s !== null) samples.spearman.push(s);
      const k = weightedKendall(paired, weights, tree);
      if (k !== null) samples.kendall.push(k);
    }
  }
  const estimate = (value: number | null, boot: number[]): Estimate => {
    const [low, high] = value === null ? [null, null] : interval(boot, level);
    return { value, low, high };
  };
  return ok({
    n,
    pearson: estimate(pearson(x, y), samples.pearson),
    spearman: estimate(spearman(x, y), samples.spearman),
    kendall: estimate(kendallTauB(x, y), samples.kendall),
    resamples,
    level,
  });
}
