/**
 * Sampling from the verifiable engine's Q16 logits in integer arithmetic, so that sampled (not only
 * greedy) generations replay bit for bit: temperature in thousandths, weights from the spec's exp
 * table, nucleus mass in 2^-16 units, and an integer draw from the seeded PRNG (spec §7).
 */
import { deriveSeed } from "../rng/deriveSeed.ts";
import { createRng, type Rng } from "../rng/prng.ts";
import { floorDiv } from "./fixedMath.ts";
import { expNeg } from "./intOps.ts";

/**
 * The generator that samples the token after position `pos` of a request with seed `seed`: one per
 * position, derived by keccak (rng/deriveSeed.ts), so a dispute's one-step check can rebuild it from the
 * seed and the position alone, with no history of earlier draws (spec v2 §7).
 */
export function samplingRng(seed: number, pos: number): Rng {
  return createRng(deriveSeed(seed, "verinfer/ts-int/sample", pos));
}

/** Index of the first maximum. */
export function argmaxInt(logits: Int32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if ((logits[i] as number) > (logits[best] as number)) best = i;
  return best;
}

/** Sampling weights e_i = expNeg(⌊(max − l_i) · 1000 / T_milli⌋) (T_milli > 0) and their sum. */
export function samplingWeights(
  logits: Int32Array,
  tMilli: number,
): { weights: Float64Array; total: number } {
  const max = logits[argmaxInt(logits)] as number;
  const weights = new Float64Array(logits.length);
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = expNeg(floorDiv((max - (logits[i] as number)) * 1000, tMilli));
    weights[i] = e;
    total += e;
  }
  return { weights, total };
}

/**
 * The tokens top-p sampling keeps, strongest first (weight descending, ties by id), and their mass:
 * the shortest prefix whose mass · 2^16 exceeds p16 · total, or every token with weight when none does.
 */
export function nucleus(
  weights: Float64Array,
  total: number,
  p16: number,
): { order: number[]; mass: number } {
  const order: number[] = [];
  for (let i = 0; i < weights.length; i++) if ((weights[i] as number) > 0) order.push(i);
  order.sort((a, b) => (weights[b] as number) - (weights[a] as number) || a - b);
  let mass = 0;
  for (let i = 0; i < order.length; i++) {
    mass += weights[order[i] as number] as number;
    if (mass * 65536 > p16 * total) return { order: order.slice(0, i + 1), mass };
  }
  return { order, mass };
}

/** Samples a token. `temperature` and `topP` are the request's; they are rounded to the spec's units. */
export function sampleInt(logits: Int32Array, temperature: number, topP: number, rng: Rng): number {
  const tMilli = Math.round(temperature * 1000);
  if (tMilli === 0) return argmaxInt(logits);
  const { weights, total } = samplingWeights(logits, tMilli);
  const p16 = Math.round(topP * 65536);
  const { order, mass } =
    p16 >= 65536
      ? { order: Array.from({ length: logits.length }, (_, i) => i), mass: total }
      : nucleus(weights, total, p16);
  const r = rng.int(mass);
  let cdf = 0;
  for (const i of order) {
    cdf += weights[i] as number;
    if (r < cdf) return i;
  }
  return order[order.length - 1] as number;
}
