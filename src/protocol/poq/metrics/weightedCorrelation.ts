/**
 * Correlations of a weighted sample, where weight w_j means "pair j appears w_j times". A bootstrap
 * resample is exactly such a multiset, so the sample's order can be computed once and each resample
 * costs O(m log k) for Kendall τ-b (a Fenwick tree over the axis with fewer distinct values) and O(m + k)
 * for Pearson and Spearman, m being the number of distinct pairs. Results equal the unweighted formulas
 * on the expanded sample.
 */
import { denseRanks } from "./correlation.ts";

/**
 * Precomputed structure of a paired sample, collapsed to its distinct (x, y) pairs: statistics run over
 * pairs (fewer than points when there are ties) and a resample only has to add its point weights up
 * per pair.
 */
export interface PairedSample {
  /** Number of points. */
  readonly n: number;
  /** Pair index of each point. */
  readonly pairOf: Uint32Array;
  /** Distinct pairs: values, dense ranks and their (a, b) order, b being the axis with fewer distinct values. */
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly rx: Uint32Array;
  readonly kx: number;
  readonly ry: Uint32Array;
  readonly ky: number;
  readonly order: Uint32Array;
  readonly ra: Uint32Array;
  readonly rb: Uint32Array;
  readonly kb: number;
}

/** Precomputes ranks, distinct pairs and their order. */
export function preparePairs(x: ArrayLike<number>, y: ArrayLike<number>): PairedSample {
  const n = x.length;
  const dx = denseRanks(x);
  const dy = denseRanks(y);
  const pairIndex = new Map<number, number>();
  const pairOf = new Uint32Array(n);
  const px: number[] = [];
  const py: number[] = [];
  const prx: number[] = [];
  const pry: number[] = [];
  for (let i = 0; i < n; i++) {
    const key = dx.ranks[i]! * dy.distinct + dy.ranks[i]!;
    let p = pairIndex.get(key);
    if (p === undefined) {
      p = px.length;
      pairIndex.set(key, p);
      px.push(x[i]!);
      py.push(y[i]!);
      prx.push(dx.ranks[i]!);
      pry.push(dy.ranks[i]!);
    }
    pairOf[i] = p;
  }
  const rx = Uint32Array.from(prx);
  const ry = Uint32Array.from(pry);
  const swap = dx.distinct < dy.distinct;
  const ra = swap ? ry : rx;
  const rb = swap ? rx : ry;
  const order = new Uint32Array(px.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((i, j) => ra[i]! - ra[j]! || rb[i]! - rb[j]!);
  return {
    n,
    pairOf,
    x: Float64Array.from(px),
    y: Float64Array.from(py),
    rx,
    kx: dx.distinct,
    ry,
    ky: dy.distinct,
    order,
    ra,
    rb,
    kb: swap ? dx.distinct : dy.distinct,
  };
}

/** Adds point weights up per distinct pair. */
export function pairWeights(
  sample: PairedSample,
  pointWeights: Uint32Array,
  out = new Uint32Array(sample.x.length),
): Uint32Array {
  out.fill(0);
  const { pairOf } = sample;
  for (let i = 0; i < pointWeights.length; i++) out[pairOf[i]!]! += pointWeights[i]!;
  return out;
}

/** Weighted Pearson correlation (null when undefined). */
export function weightedPearson(x: ArrayLike<number>, y: ArrayLike<number>, w: Uint32Array): number | null {
  let sw = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < w.length; i++) {
    const wi = w[i] as number;
    sw += wi;
    sx += wi * (x[i] as number);
    sy += wi * (y[i] as number);
  }
  if (sw < 2) return null;
  const mx = sx / sw;
  const my = sy / sw;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < w.length; i++) {
    const wi = w[i] as number;
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    sxy += wi * dx * dy;
    sxx += wi * dx * dx;
    syy += wi * dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** Average rank, in the expanded weighted sample, of each dense rank value. */
function weightedAverageRanks(ranks: Uint32Array, distinct: number, w: Uint32Array): Float64Array {
  const totals = new Float64Array(distinct);
  for (let i = 0; i < w.length; i++) totals[ranks[i]!]! += w[i]!;
  let below = 0;
  for (let k = 0; k < distinct; k++) {
    const c = totals[k]!;
    totals[k] = below + (c + 1) / 2;
    below += c;
  }
  return totals;
}

/** Weighted Spearman correlation: Pearson of average ranks, whose mean is (N + 1) / 2 on both axes. */
export function weightedSpearman(s: PairedSample, w: Uint32Array): number | null {
  const ax = weightedAverageRanks(s.rx, s.kx, w);
  const ay = weightedAverageRanks(s.ry, s.ky, w);
  let total = 0;
  for (let i = 0; i < w.length; i++) total += w[i]!;
  if (total < 2) return null;
  const mean = (total + 1) / 2;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < w.length; i++) {
    const wi = w[i]!;
    const dx = ax[s.rx[i]!]! - mean;
    const dy = ay[s.ry[i]!]! - mean;
    sxy += wi * dx * dy;
    sxx += wi * dx * dx;
    syy += wi * dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** Weighted Kendall τ-b; duplicates of one point count as pairs tied on both axes. */
export function weightedKendall(
  s: PairedSample,
  w: Uint32Array,
  tree: Float64Array = new Float64Array(s.kb + 1),
): number | null {
  tree.fill(0);
  const totalB = new Float64Array(s.kb);
  let total = 0;
  let tiesA = 0;
  let tiesAB = 0;
  let discordant = 0;
  let inserted = 0;
  const { order, ra, rb } = s;
  let i = 0;
  while (i < order.length) {
    // One group of equal a: first count discordance against earlier groups, then insert it.
    let j = i;
    let groupWeight = 0;
    let runWeight = 0;
    let previousB = -1;
    while (j < order.length && ra[order[j] as number] === ra[order[i] as number]) {
      const p = order[j] as number;
      const wp = w[p] as number;
      if (wp > 0) {
        const b = rb[p] as number;
        // Earlier groups' weight with b' > b: inserted minus prefix sum up to b.
        let prefix = 0;
        for (let k = b + 1; k > 0; k -= k & -k) prefix += tree[k] as number;
        discordant += wp * (inserted - prefix);
        groupWeight += wp;
        if (b !== previousB) {
          tiesAB += (runWeight * (runWeight - 1)) / 2;
          runWeight = 0;
          previousB = b;
        }
        runWeight += wp;
      }
      j++;
    }
    tiesAB += (runWeight * (runWeight - 1)) / 2;
    tiesA += (groupWeight * (groupWeight - 1)) / 2;
    for (let q = i; q < j; q++) {
      const p = order[q] as number;
      const wp = w[p] as number;
      if (wp === 0) continue;
      const b = rb[p] as number;
      totalB[b] = (totalB[b] as number) + wp;
      for (let k = b + 1; k <= s.kb; k += k & -k) tree[k] = (tree[k] as number) + wp;
    }
    inserted += groupWeight;
    total += groupWeight;
    i = j;
  }
  let tiesB = 0;
  for (const c of totalB) tiesB += (c * (c - 1)) / 2;
  const n0 = (total * (total - 1)) / 2;
  const denominator = Math.sqrt((n0 - tiesA) * (n0 - tiesB));
  if (denominator === 0) return null;
  // Pairs not tied on either axis are concordant or discordant.
  const concordant = n0 - tiesA - tiesB + tiesAB - discordant;
  return Math.max(-1, Math.min(1, (concordant - discordant) / denominator));
}
