/**
 * Score aggregators of Proof of Quality (robust-PoQ paper, PAPERS.md §3): the consensus c_t of one
 * round's evaluator scores. Mean (baseline), median, trimmed mean and the weighted mean used with
 * adaptive trust. All take the scores of one round; weights, where used, are evaluator trust.
 */
import { fail, ok, type Verdict } from "../../errors.ts";

/** Aggregator names. */
export const AGGREGATORS = ["mean", "median", "trimmed-mean", "trust", "hardened-trust", "yuma"] as const;
/** An aggregator name. */
export type AggregatorName = (typeof AGGREGATORS)[number];

/** Arithmetic mean (NaN-free: callers never pass an empty round). */
export function mean(scores: ArrayLike<number>, count = scores.length): number {
  let sum = 0;
  for (let i = 0; i < count; i++) sum += scores[i] as number;
  return sum / count;
}

/** Sorts the first `count` entries of `values` in place (insertion sort: rounds have ≤ a few dozen scores). */
export function sortPrefix(values: Float64Array, count: number): Float64Array {
  for (let i = 1; i < count; i++) {
    const v = values[i] as number;
    let j = i - 1;
    while (j >= 0 && (values[j] as number) > v) {
      values[j + 1] = values[j] as number;
      j--;
    }
    values[j + 1] = v;
  }
  return values;
}

/** Median; the mean of the two middle values for an even count. `scratch` is overwritten. */
export function median(
  scores: ArrayLike<number>,
  count = scores.length,
  scratch: Float64Array = new Float64Array(count),
): number {
  for (let i = 0; i < count; i++) scratch[i] = scores[i] as number;
  sortPrefix(scratch, count);
  const mid = count >> 1;
  return count % 2 === 1
    ? (scratch[mid] as number)
    : ((scratch[mid - 1] as number) + (scratch[mid] as number)) / 2;
}

/**
 * Trimmed mean: drop ⌊τ·n⌋ scores from each end, average the rest (τ ∈ [0, 0.5); the trim fraction per
 * side is unknown in the paper, so it is a parameter swept over 0.1–0.25).
 */
export function trimmedMean(
  scores: ArrayLike<number>,
  tau: number,
  count = scores.length,
  scratch: Float64Array = new Float64Array(count),
): number {
  for (let i = 0; i < count; i++) scratch[i] = scores[i] as number;
  sortPrefix(scratch, count);
  const cut = Math.floor(tau * count);
  let sum = 0;
  for (let i = cut; i < count - cut; i++) sum += scratch[i] as number;
  return sum / (count - 2 * cut);
}

/** Weighted mean Σ w·s / Σ w; falls back to the plain mean when all weights are 0. */
export function weightedMean(
  scores: ArrayLike<number>,
  weights: ArrayLike<number>,
  count = scores.length,
): number {
  let sw = 0;
  let s = 0;
  for (let i = 0; i < count; i++) {
    sw += weights[i] as number;
    s += (weights[i] as number) * (scores[i] as number);
  }
  return sw > 0 ? s / sw : mean(scores, count);
}

/**
 * Weighted median: the smallest score v whose cumulative weight reaches half the total; when the
 * cumulative weight equals exactly half, the midpoint with the next score (so equal weights give the
 * ordinary median). Used by the hardened trust rule for consensus and leave-one-out references.
 */
export function weightedMedian(
  scores: ArrayLike<number>,
  weights: ArrayLike<number>,
  count = scores.length,
  order: Uint32Array = new Uint32Array(count),
): number {
  let total = 0;
  for (let i = 0; i < count; i++) {
    order[i] = i;
    total += weights[i] as number;
  }
  if (total <= 0) return median(scores, count);
  for (let i = 1; i < count; i++) {
    const o = order[i] as number;
    const v = scores[o] as number;
    let j = i - 1;
    while (j >= 0 && (scores[order[j] as number] as number) > v) {
      order[j + 1] = order[j] as number;
      j--;
    }
    order[j + 1] = o;
  }
  const half = total / 2;
  let below = 0;
  for (let k = 0; k < count; k++) {
    below += weights[order[k] as number] as number;
    if (Math.abs(below - half) <= 1e-12 * total && k + 1 < count) {
      return ((scores[order[k] as number] as number) + (scores[order[k + 1] as number] as number)) / 2;
    }
    if (below > half) return scores[order[k] as number] as number;
  }
  return scores[order[count - 1] as number] as number;
}

/**
 * Yuma's consensus over one round's float scores: the smallest score whose cumulative stake exceeds
 * (1 − κ) of the total (the stake-weighted κ-quantile; yuma/yumaMath.ts has the exact I32F32 epoch
 * version). Insertion sort into `order` (rounds have ≤ a few dozen scores).
 */
export function stakeQuantile(
  scores: ArrayLike<number>,
  stakes: ArrayLike<number>,
  count: number,
  kappa: number,
  order: Uint32Array,
): number {
  let total = 0;
  for (let i = 0; i < count; i++) {
    order[i] = i;
    total += stakes[i] as number;
  }
  for (let i = 1; i < count; i++) {
    const o = order[i] as number;
    let j = i - 1;
    while (j >= 0 && (scores[order[j] as number] as number) > (scores[o] as number)) {
      order[j + 1] = order[j] as number;
      j--;
    }
    order[j + 1] = o;
  }
  const minority = (1 - kappa) * total;
  let below = 0;
  for (let i = 0; i < count; i++) {
    below += stakes[order[i] as number] as number;
    if (below > minority) return scores[order[i] as number] as number;
  }
  return scores[order[count - 1] as number] as number;
}

/** Checks an aggregator's parameters before any work starts. */
export function validateTrim(tau: number): Verdict<number> {
  if (!(Number.isFinite(tau) && tau >= 0 && tau < 0.5)) {
    return fail("PARAMS_INVALID", `trim fraction τ must be in [0, 0.5), got ${tau}`, { tau });
  }
  return ok(tau);
}
