/**
 * Correlation coefficients with scipy's conventions: Pearson r; Spearman ρ as Pearson on average
 * ranks; Kendall τ-b with tie corrections (scipy.stats.kendalltau's default), computed in O(n log n)
 * by Knight's algorithm so that it runs on 50,000-point samples. A coefficient that is undefined
 * (fewer than 2 points, or a constant sample) is `null`, never NaN.
 */
import { fail, ok, type Verdict } from "../../errors.ts";

/** Numeric sample accepted by the statistics functions. */
export type Sample = ArrayLike<number>;

/** Checks two paired samples: same length, all finite. */
export function checkPaired(x: Sample, y: Sample): Verdict<number> {
  if (x.length !== y.length) {
    return fail("STATS_LENGTH_MISMATCH", `paired samples differ in length: ${x.length} vs ${y.length}`, {
      x: x.length,
      y: y.length,
    });
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) {
      return fail("STATS_NOT_FINITE", `sample value at index ${i} is not a finite number`, { index: i });
    }
  }
  return ok(x.length);
}

/** Whether every value of a sample is the same (exactly: a rounding residue is no variance). */
function isConstant(x: Sample): boolean {
  for (let i = 1; i < x.length; i++) if (x[i] !== x[0]) return false;
  return true;
}

/**
 * Why a correlation of `x` with `y` is undefined — fewer than two pairs, different lengths, or a
 * constant sample — or null when it is defined.
 */
export function correlationUndefinedReason(x: Sample, y: Sample): string | null {
  if (x.length !== y.length) return `the samples differ in length (${x.length} vs ${y.length})`;
  if (x.length < 2) return `${x.length} pair${x.length === 1 ? "" : "s"}; a correlation needs 2`;
  if (isConstant(x)) return `the scores are constant (every one is ${x[0]})`;
  if (isConstant(y)) return `the reference values are constant (every one is ${y[0]})`;
  return null;
}

/** Pearson correlation; `null` when undefined (see {@link correlationUndefinedReason}). */
export function pearson(x: Sample, y: Sample): number | null {
  const n = x.length;
  if (n < 2 || y.length !== n || isConstant(x) || isConstant(y)) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i] as number;
    my += y[i] as number;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  const r = sxy / Math.sqrt(sxx * syy);
  return Math.max(-1, Math.min(1, r));
}

/** Average ranks (1-based, ties get the mean of their positions), as scipy.stats.rankdata. */
export function averageRanks(values: Sample): Float64Array {
  const n = values.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (values[a] as number) - (values[b] as number));
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    const v = values[order[i] as number];
    while (j + 1 < n && values[order[j + 1] as number] === v) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k] as number] = rank;
    i = j + 1;
  }
  return ranks;
}

/** Spearman rank correlation; `null` when undefined. */
export function spearman(x: Sample, y: Sample): number | null {
  if (x.length < 2 || y.length !== x.length) return null;
  return pearson(averageRanks(x), averageRanks(y));
}

/** Dense integer ranks 0..k−1 (equal values share a rank). */
export function denseRanks(values: Sample): { ranks: Uint32Array; distinct: number } {
  const n = values.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (values[a] as number) - (values[b] as number));
  const ranks = new Uint32Array(n);
  let rank = -1;
  let previous = Number.NaN;
  for (let k = 0; k < n; k++) {
    const idx = order[k] as number;
    const v = values[idx] as number;
    if (k === 0 || v !== previous) rank++;
    ranks[idx] = rank;
    previous = v;
  }
  return { ranks, distinct: rank + 1 };
}

/** Sorts positions 0..n−1 by integer key with a counting sort (stable). */
function countingOrder(keys: Uint32Array, distinct: number, input: Uint32Array): Uint32Array {
  const counts = new Uint32Array(distinct + 1);
  for (let i = 0; i < input.length; i++) (counts[(keys[input[i] as number] as number) + 1] as number)++;
  for (let k = 1; k <= distinct; k++) counts[k] = (counts[k] as number) + (counts[k - 1] as number);
  const out = new Uint32Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const idx = input[i] as number;
    const key = keys[idx] as number;
    out[counts[key] as number] = idx;
    counts[key] = (counts[key] as number) + 1;
  }
  return out;
}

function tiePairs(sortedKeys: ArrayLike<number>): number {
  let pairs = 0;
  let run = 1;
  for (let i = 1; i <= sortedKeys.length; i++) {
    if (i < sortedKeys.length && sortedKeys[i] === sortedKeys[i - 1]) run++;
    else {
      pairs += (run * (run - 1)) / 2;
      run = 1;
    }
  }
  return pairs;
}

/**
 * Kendall τ-b on dense integer ranks (Knight 1966): sort by (x, y), count x-ties and joint ties,
 * then count discordant pairs as the inversions a merge sort on y performs.
 */
function kendallTauBRanks(
  rx: Uint32Array,
  distinctX: number,
  ry: Uint32Array,
  distinctY: number,
): number | null {
  const n = rx.length;
  if (n < 2) return null;
  const positions = new Uint32Array(n);
  for (let i = 0; i < n; i++) positions[i] = i;
  // Lexicographic (x, y) order via two stable counting sorts.
  const byXY = countingOrder(rx, distinctX, countingOrder(ry, distinctY, positions));
  const xs = new Uint32Array(n);
  const ys = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = rx[byXY[i] as number] as number;
    ys[i] = ry[byXY[i] as number] as number;
  }
  const n1 = tiePairs(xs);
  let n3 = 0;
  let run = 1;
  for (let i = 1; i <= n; i++) {
    if (i < n && xs[i] === xs[i - 1] && ys[i] === ys[i - 1]) run++;
    else {
      n3 += (run * (run - 1)) / 2;
      run = 1;
    }
  }
  // Bottom-up merge sort on y counting strict inversions (equal y are not discordant).
  let src = ys;
  let dst = new Uint32Array(n);
  let swaps = 0;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if ((src[i] as number) <= (src[j] as number)) dst[k++] = src[i++] as number;
        else {
          swaps += mid - i;
          dst[k++] = src[j++] as number;
        }
      }
      while (i < mid) dst[k++] = src[i++] as number;
      while (j < hi) dst[k++] = src[j++] as number;
    }
    [src, dst] = [dst, src];
  }
  const n2 = tiePairs(src);
  const n0 = (n * (n - 1)) / 2;
  const denominator = Math.sqrt((n0 - n1) * (n0 - n2));
  if (denominator === 0) return null;
  const tau = (n0 - n1 - n2 + n3 - 2 * swaps) / denominator;
  return Math.max(-1, Math.min(1, tau));
}

/** Kendall τ-b; `null` when undefined. */
export function kendallTauB(x: Sample, y: Sample): number | null {
  if (x.length < 2 || y.length !== x.length) return null;
  const dx = denseRanks(x);
  const dy = denseRanks(y);
  return kendallTauBRanks(dx.ranks, dx.distinct, dy.ranks, dy.distinct);
}
