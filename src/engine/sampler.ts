/**
 * Token sampling as llama2.c's run.c does it — greedy argmax (first maximum) at temperature 0, else
 * softmax(logits / temperature) with optional nucleus (top-p) truncation — drawing from the project's
 * seeded PRNG, so the same seed gives the same tokens.
 */
import type { Rng } from "../protocol/rng/prng.ts";

/** Index of the first maximum. */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if ((logits[i] as number) > (logits[best] as number)) best = i;
  return best;
}

/** Samples a token id from logits. */
export function sampleToken(logits: ArrayLike<number>, temperature: number, topP: number, rng: Rng): number {
  if (temperature === 0) return argmax(logits);
  const n = logits.length;
  const probs = new Float64Array(n);
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) max = Math.max(max, (logits[i] as number) / temperature);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp((logits[i] as number) / temperature - max);
    probs[i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) probs[i] = (probs[i] as number) / sum;
  const coin = rng.float();
  if (topP >= 1) {
    let cdf = 0;
    for (let i = 0; i < n; i++) {
      cdf += probs[i] as number;
      if (coin < cdf) return i;
    }
    return n - 1;
  }
  // run.c's sample_topp: candidates above (1 - p) / (n - 1), sorted by probability (ties by id),
  // truncated where the cumulative mass first exceeds p, then sampled within that mass.
  const cutoff = (1 - topP) / (n - 1);
  const candidates: number[] = [];
  for (let i = 0; i < n; i++) if ((probs[i] as number) >= cutoff) candidates.push(i);
  candidates.sort((a, b) => (probs[b] as number) - (probs[a] as number) || a - b);
  let mass = 0;
  let last = candidates.length - 1;
  for (let i = 0; i < candidates.length; i++) {
    mass += probs[candidates[i] as number] as number;
    if (mass > topP) {
      last = i;
      break;
    }
  }
  const r = coin * mass;
  let cdf = 0;
  for (let i = 0; i <= last; i++) {
    cdf += probs[candidates[i] as number] as number;
    if (r < cdf) return candidates[i] as number;
  }
  return candidates[last] as number;
}
