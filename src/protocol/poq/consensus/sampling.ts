/**
 * How many evaluators to sample per round, given an attacker budget. If an attacker controls m of the M
 * evaluator nodes and each round samples k without replacement, the number of attackers in a round is
 * hypergeometric; a round is *captured* when attackers hold a majority (≥ ⌊k/2⌋ + 1), which defeats
 * the median and the κ = ½ Yuma quantile outright. Exact, pure arithmetic.
 */

/** ln C(n, r). */
function logChoose(n: number, r: number): number {
  if (r < 0 || r > n) return Number.NEGATIVE_INFINITY;
  let s = 0;
  for (let i = 1; i <= r; i++) s += Math.log(n - r + i) - Math.log(i);
  return s;
}

/** P(at least `threshold` attackers among k sampled from M nodes of which m are attackers). */
export function probabilityAtLeast(M: number, m: number, k: number, threshold: number): number {
  let p = 0;
  const denominator = logChoose(M, k);
  for (let x = Math.max(threshold, 0); x <= Math.min(k, m); x++) {
    if (k - x > M - m) continue;
    p += Math.exp(logChoose(m, x) + logChoose(M - m, k - x) - denominator);
  }
  return Math.min(1, p);
}

/** Probability that attackers hold a strict majority of a round. */
export function captureProbability(M: number, m: number, k: number): number {
  return probabilityAtLeast(M, m, k, Math.floor(k / 2) + 1);
}

/** Smallest odd k ≤ kMax whose capture probability is at most `target`, or null if none. */
export function minimumK(M: number, m: number, target: number, kMax: number): number | null {
  for (let k = 1; k <= Math.min(kMax, M); k += 2) if (captureProbability(M, m, k) <= target) return k;
  return null;
}
