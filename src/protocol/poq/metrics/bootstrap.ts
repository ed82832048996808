/**
 * Seeded percentile-bootstrap confidence intervals for Pearson, Spearman and Kendall τ-b.
 * Resamples pairs with replacement; each coefficient is recomputed on the resample (Spearman re-ranks
 * the resample, ties included). Dense ranks are computed once so a resample costs O(n log n).
 */

import { ok, type Verdict } from "../../errors.ts";
import type { Rng } from "../../rng/prng.ts";
import {
  checkPaired,
  denseRanks,
  kendallTauB,
  kendallTauBRanks,
  pearson,
  type Sample,
  spearman,
} from "./correlation.ts";
import { averageRanksFromDense } from "./denseRankStats.ts";

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

/** Pearson, Spearman and Kendall τ-b of paired samples with seeded bootstrap intervals. */
export function correlate(x: Sample, y: Sample, options: BootstrapOptions): Verdict<CorrelationReport> {
  const checked = checkPaired(x, y);
  if (!checked.ok) return checked;
  const n = checked.value;
  const { rng, resamples, level } = options;
  const dx = denseRanks(x);
  const dy = denseRanks(y);
  const samples = { pearson: [] as number[], spearman: [] as number[], kendall: [] as number[] };
  if (n >= 2) {
    const idx = new Uint32Array(n);
    const bx = new Float64Array(n);
    const by = new Float64Array(n);
    for (let b = 0; b < resamples; b++) {
      for (let i = 0; i < n; i++) idx[i] = rng.int(n);
      for (let i = 0; i < n; i++) {
        bx[i] = x[idx[i] as number] as number;
        by[i] = y[idx[i] as number] as number;
      }
      const p = pearson(bx, by);
      if (p !== null) samples.pearson.push(p);
      const s = pearson(averageRanksFromDense(dx, idx), averageRanksFromDense(dy, idx));
      if (s !== null) samples.spearman.push(s);
      const k = kendallTauBRanks(dx.ranks, dx.distinct, dy.ranks, dy.distinct, idx);
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
