/** The vector and matrix operations of subtensor's epoch (epoch/math.rs), on exact I32F32 bits. */
import { add, type Fixed, max, min, mul, safeDiv, sub, ZERO } from "./i32f32.ts";

/** A row-major matrix (rows are validators). */
export type Matrix = Fixed[][];

/** Σ x. */
export function sum(x: readonly Fixed[]): Fixed {
  let s = ZERO;
  for (const v of x) s = add(s, v);
  return s;
}

/** x / Σx (unchanged when the sum is 0). */
export function normalize(x: readonly Fixed[]): Fixed[] {
  const s = sum(x);
  return s === ZERO ? [...x] : x.map((v) => safeDiv(v, s));
}

/** Each row divided by its sum (rows summing to 0 stay 0). */
export function rowNormalize(m: Matrix): Matrix {
  return m.map((row) => {
    const s = sum(row);
    return s > ZERO ? row.map((v) => safeDiv(v, s)) : [...row];
  });
}

/** Each column divided by its sum (columns summing to 0 stay 0). */
export function colNormalize(m: Matrix): Matrix {
  const cols = m[0]?.length ?? 0;
  const sums = Array.from({ length: cols }, (_, j) => sum(m.map((row) => row[j] as Fixed)));
  return m.map((row) => row.map((v, j) => (sums[j] === ZERO ? v : safeDiv(v, sums[j] as Fixed))));
}

/** Each column divided by its largest entry (columns whose max is 0 unchanged). */
export function colMaxUpscale(m: Matrix): Matrix {
  const cols = m[0]?.length ?? 0;
  const maxes = Array.from({ length: cols }, (_, j) =>
    m.reduce((acc, row) => ((row[j] as Fixed) > acc ? (row[j] as Fixed) : acc), ZERO),
  );
  return m.map((row) => row.map((v, j) => (maxes[j] === ZERO ? v : safeDiv(v, maxes[j] as Fixed))));
}

/** r_j = Σ_i s_i · m_ij. */
export function matmul(m: Matrix, s: readonly Fixed[]): Fixed[] {
  const cols = m[0]?.length ?? 0;
  const out = new Array<Fixed>(cols).fill(ZERO);
  m.forEach((row, i) => {
    const si = s[i] as Fixed;
    if (si === ZERO) return;
    row.forEach((v, j) => {
      if (v !== ZERO) out[j] = add(out[j] as Fixed, mul(si, v));
    });
  });
  return out;
}

/** d_i = Σ_j m_ij · x_j. */
export function matmulTranspose(m: Matrix, x: readonly Fixed[]): Fixed[] {
  return m.map((row) =>
    row.reduce((acc, v, j) => (v === ZERO ? acc : add(acc, mul(v, x[j] as Fixed))), ZERO),
  );
}

/** Σ_j m_ij per row. */
export function rowSum(m: Matrix): Fixed[] {
  return m.map(sum);
}

/** m_ij = min(m_ij, t_j). */
export function colClip(m: Matrix, t: readonly Fixed[]): Matrix {
  return m.map((row) => row.map((v, j) => min(v, t[j] as Fixed)));
}

/** A + r · (B − A); r = 0 gives A, r = 1 gives B exactly. */
export function interpolate(a: Matrix, b: Matrix, r: Fixed, one: Fixed): Matrix {
  if (r === ZERO) return a.map((row) => [...row]);
  if (r === one) return b.map((row) => [...row]);
  return a.map((row, i) => row.map((v, j) => add(v, mul(r, sub((b[i] as Fixed[])[j] as Fixed, v)))));
}

/** m_ij · s_i. */
export function rowHadamard(m: Matrix, s: readonly Fixed[]): Matrix {
  return m.map((row, i) => row.map((v) => mul(v, s[i] as Fixed)));
}

/** α·new + (1 − α)·old. */
export function matEma(next: Matrix, old: Matrix, alpha: Fixed, one: Fixed): Matrix {
  const oneMinus = sub(one, alpha);
  return next.map((row, i) =>
    row.map((v, j) => add(mul(alpha, v), mul(oneMinus, (old[i] as Fixed[])[j] as Fixed))),
  );
}

/** Per-entry α: min(1, (1 − α)·old + max(0, α·new)). */
export function matEmaAlpha(next: Matrix, old: Matrix, alpha: Matrix, one: Fixed): Matrix {
  return next.map((row, i) =>
    row.map((v, j) => {
      const a = (alpha[i] as Fixed[])[j] as Fixed;
      const decayed = mul(sub(one, a), (old[i] as Fixed[])[j] as Fixed);
      const inc = mul(a, v);
      return min(add(decayed, max(inc, ZERO)), one);
    }),
  );
}

/**
 * subtensor `weighted_median`: quickselect with the middle element as pivot, ties excluded from both
 * sides; descend left if minority < lo + stake(<pivot), right if hi − stake(>pivot) ≤ minority, else the
 * pivot is the answer.
 */
export function weightedMedian(
  stake: readonly Fixed[],
  score: readonly Fixed[],
  minority: Fixed,
  lo: Fixed,
  hi: Fixed,
): Fixed {
  let partition = stake.map((_, i) => i);
  let partitionLo = lo;
  let partitionHi = hi;
  for (let iteration = 0; iteration <= stake.length; iteration++) {
    if (partition.length === 0) return ZERO;
    if (partition.length === 1) return score[partition[0] as number] as Fixed;
    const pivot = score[partition[partition.length >> 1] as number] as Fixed;
    const lower: number[] = [];
    const upper: number[] = [];
    let loStake = ZERO;
    let hiStake = ZERO;
    for (const idx of partition) {
      const v = score[idx] as Fixed;
      if (v === pivot) continue;
      if (v < pivot) {
        loStake = add(loStake, stake[idx] as Fixed);
        lower.push(idx);
      } else {
        hiStake = add(hiStake, stake[idx] as Fixed);
        upper.push(idx);
      }
    }
    if (minority < add(partitionLo, loStake) && lower.length > 0) {
      partition = lower;
      partitionHi = add(partitionLo, loStake);
    } else if (sub(partitionHi, hiStake) <= minority && upper.length > 0) {
      partition = upper;
      partitionLo = sub(partitionHi, hiStake);
    } else {
      return pivot;
    }
  }
  return ZERO;
}

/** Stake-weighted κ-median of each column over validators with positive stake (renormalized). */
export function weightedMedianCol(stake: readonly Fixed[], score: Matrix, majority: Fixed): Fixed[] {
  const cols = score[0]?.length ?? 0;
  const rows = stake.map((s, i) => ({ s, i })).filter((r) => r.s > ZERO);
  if (rows.length === 0) return new Array<Fixed>(cols).fill(ZERO);
  const useStake = normalize(rows.map((r) => r.s));
  const stakeSum = sum(useStake);
  const minority = sub(stakeSum, majority);
  return Array.from({ length: cols }, (_, j) =>
    weightedMedian(
      useStake,
      rows.map((r) => (score[r.i] as Fixed[])[j] as Fixed),
      minority,
      ZERO,
      stakeSum,
    ),
  );
}

/** Top-k by value among nonzero entries (stable ascending sort; the n − k smallest are cleared). */
export function isTopkNonzero(x: readonly Fixed[], k: number): boolean[] {
  return clearSmallest(
    x,
    k,
    x.map((v) => v !== ZERO),
  );
}

/** `is_topk` (zeros may be selected). */
export function isTopk(x: readonly Fixed[], k: number): boolean[] {
  return clearSmallest(
    x,
    k,
    x.map(() => true),
  );
}

/** Clears `selected` at the n − k smallest values of `x` (stable ascending order), unless n < k. */
function clearSmallest(x: readonly Fixed[], k: number, selected: boolean[]): boolean[] {
  if (x.length < k) return selected;
  const order = x
    .map((_, i) => i)
    .sort((a, b) => ((x[a] as Fixed) < (x[b] as Fixed) ? -1 : (x[a] as Fixed) > (x[b] as Fixed) ? 1 : a - b));
  for (const idx of order.slice(0, Math.max(0, x.length - k))) selected[idx] = false;
  return selected;
}
