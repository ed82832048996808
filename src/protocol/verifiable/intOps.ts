/**
 * The verifiable engine's operations (docs/spec/verifiable-engine.md §3–4). Integers only: values are
 * integer-valued doubles kept below 2^53 (every bound is stated), so results are exact in JavaScript
 * and expressible in a circuit; rounding is half-up (`roundShift`) unless stated; non-linear functions
 * are the tables of fixedMath.ts. Activations are Q16 (value · 2^16).
 */
import {
  exp2FractionTable,
  floorDiv,
  INV_LN2_Q16,
  isqrt,
  roundShift,
  SIGMOID_TABLE_SIZE,
  saturate,
  sigmoidTable,
} from "./fixedMath.ts";
import type { QuantMatrix } from "./intModel.ts";

/** Activations saturate at ±(2^24 − 1) (value ±256); the residual stream at ±(2^30 − 1). */
export const ACT_BITS = 24;
export const RESIDUAL_BITS = 30;
/** Gains saturate at ±2^28 so gain × normalized value stays below 2^53. */
export const GAIN_BITS = 28;

/**
 * Dynamic int16 quantization of a matmul input: the smallest shift k with max|a| / 2^k ≤ 32767, then
 * a16 = clamp(round(a / 2^k), ±32767). Returns k.
 */
export function quantizeActivation(a: Int32Array, out: Int16Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i] as number;
    if (v > m) m = v;
    else if (-v > m) m = -v;
  }
  let k = 0;
  while (m / 2 ** k > 32767) k++;
  for (let i = 0; i < a.length; i++) {
    const v = roundShift(a[i] as number, k);
    out[i] = v > 32767 ? 32767 : Math.max(v, -32767);
  }
  return k;
}

/**
 * Rows [r0, r1) of y = W·a for an int16-quantized input (a16, shift k): acc = Σ q·a16 (|acc| < 2^37 for
 * inputs up to 2^15 long), p = round(acc / 2^8) · scale (< 2^51), y = round(p · 2^k / 2^16), saturated
 * to ±(2^24 − 1). Writes y[r − r0].
 */
export function matmulRows(
  out: Int32Array,
  a8: Int16Array,
  k: number,
  w: QuantMatrix,
  r0: number,
  r1: number,
): void {
  const n = w.cols;
  const q = w.q;
  for (let r = r0; r < r1; r++) {
    const row = r * n;
    let acc = 0;
    for (let j = 0; j < n; j++) acc += (q[row + j] as number) * (a8[j] as number);
    const p = roundShift(acc, 8) * (w.scale[r] as number);
    const y = k <= 16 ? roundShift(p, 16 - k) : p * 2 ** (k - 16);
    out[r - r0] = saturate(y, ACT_BITS);
  }
}

/**
 * RMSNorm with eps = 2^−17: x is pre-shifted by the smallest u with max|x| / 2^u < 2^15 (floor), the
 * mean square d = floor(Σ xs² / n) + floor(2^(15−2u)) (at least 1), R = floor(√(floor(2^60 / d))),
 * n_j = round(xs_j · R / 2^14) (Q16), y_j = round(n_j · g_j / 2^16), saturated.
 */
export function rmsnorm(out: Int32Array, x: Int32Array, gains: Int32Array, offset: number): void {
  const n = x.length;
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(x[i] as number));
  let u = 0;
  while (m / 2 ** u >= 2 ** 15) u++;
  const d = 2 ** u;
  let ss = 0;
  const xs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = Math.floor((x[i] as number) / d);
    xs[i] = v;
    ss += v * v;
  }
  let mean = floorDiv(ss, n) + (15 - 2 * u >= 0 ? 2 ** (15 - 2 * u) : 0);
  if (mean === 0) mean = 1;
  const R = Number(isqrt((1n << 60n) / BigInt(mean)));
  for (let i = 0; i < n; i++) {
    const normalized = roundShift((xs[i] as number) * R, 14);
    out[i] = saturate(roundShift(normalized * (gains[offset + i] as number), 16), ACT_BITS);
  }
}

/** RoPE on adjacent pairs with Q14 tables: (v0, v1) ← round((v0·c − v1·s, v0·s + v1·c) / 2^14). */
export function rope(v: Int32Array, pos: number, headSize: number, cos: Int32Array, sin: Int32Array): void {
  const half = headSize / 2;
  for (let i = 0; i < v.length; i += 2) {
    const t = pos * half + ((i % headSize) >> 1);
    const c = cos[t] as number;
    const s = sin[t] as number;
    const v0 = v[i] as number;
    const v1 = v[i + 1] as number;
    v[i] = saturate(roundShift(v0 * c - v1 * s, 14), ACT_BITS);
    v[i + 1] = saturate(roundShift(v0 * s + v1 * c, 14), ACT_BITS);
  }
}

/** int16 quantization of one head's vector: smallest shift with max / 2^k ≤ 32767. Returns k. */
export function quantize16(a: Int32Array, offset: number, n: number, out: Int32Array): number {
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(a[offset + i] as number));
  let k = 0;
  while (m / 2 ** k > 32767) k++;
  for (let i = 0; i < n; i++)
    out[i] = Math.max(-32767, Math.min(32767, roundShift(a[offset + i] as number, k)));
  return k;
}

/**
 * exp(−d) in Q16 for d ≥ 0 in Q16 natural-log units: y = round(d · 2^16/ln2 / 2^16), i = floor(y / 2^16),
 * f = y mod 2^16, e = floor(T[f >> 6] / 2^i) (0 when i ≥ 31), with T[j] = 2^(−j/1024) in Q16.
 */
export function expNeg(d: number): number {
  const y = roundShift(d * INV_LN2_Q16, 16);
  const i = Math.floor(y / 65536);
  if (i >= 31) return 0;
  const f = y - i * 65536;
  return Math.floor((exp2FractionTable()[f >> 6] as number) / 2 ** i);
}

/**
 * Attention of one head at position `pos`: scores s_t = round(round(q16·k16_t / 2^8) · scale / 2^(24−kq−kk))
 * (Q16, scale = round(2^16/√headSize)), weights e_t = expNeg(max s − s_t) (Q16, Σ ≥ 2^16), output
 * o_i = round(Σ_t e_t · v_t,i / Σ_t e_t) by exact floor division. k16/kShift hold the quantized keys of
 * positions 0..pos; v holds values in Q16 (|v| < 2^24, positions ≤ 8192 keep Σ e·v < 2^53).
 */
export function attentionHead(
  out: Int32Array,
  outOffset: number,
  q16: Int32Array,
  qShift: number,
  keys16: readonly Int32Array[],
  keyShifts: readonly number[],
  values: readonly Int32Array[],
  valueOffset: number,
  headSize: number,
  scaleQ16: number,
): void {
  const T = keys16.length;
  const scores = new Float64Array(T);
  let max = Number.NEGATIVE_INFINITY;
  for (let t = 0; t < T; t++) {
    const k = keys16[t] as Int32Array;
    let dot = 0;
    for (let i = 0; i < headSize; i++) dot += (q16[i] as number) * (k[i] as number);
    const shift = 24 - qShift - (keyShifts[t] as number);
    const p = roundShift(dot, 8) * scaleQ16;
    const s = shift >= 0 ? roundShift(p, shift) : p * 2 ** -shift;
    scores[t] = s;
    if (s > max) max = s;
  }
  let sum = 0;
  const weights = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    const e = expNeg(max - (scores[t] as number));
    weights[t] = e;
    sum += e;
  }
  for (let i = 0; i < headSize; i++) {
    let acc = 0;
    for (let t = 0; t < T; t++)
      acc += (weights[t] as number) * ((values[t] as Int32Array)[valueOffset + i] as number);
    out[outOffset + i] = floorDiv(acc + Math.floor(sum / 2), sum);
  }
}

/** SwiGLU: g = round(h1 · σ(h1) / 2^16) with σ from the table at floor(h1 / 2^8) (clamped), y = round(g · h3 / 2^16). */
export function swiglu(out: Int32Array, h1: Int32Array, h3: Int32Array): void {
  const sig = sigmoidTable();
  const center = SIGMOID_TABLE_SIZE / 2;
  for (let i = 0; i < h1.length; i++) {
    const a = h1[i] as number;
    const idx = Math.max(0, Math.min(SIGMOID_TABLE_SIZE - 1, Math.floor(a / 256) + center));
    const g = roundShift(a * (sig[idx] as number), 16);
    out[i] = saturate(roundShift(g * (h3[i] as number), 16), ACT_BITS);
  }
}

/** Residual: x ← saturate(x + y, 30 bits). */
export function residual(x: Int32Array, y: Int32Array): void {
  for (let i = 0; i < x.length; i++) x[i] = saturate((x[i] as number) + (y[i] as number), RESIDUAL_BITS);
}

/** Embedding row to the Q16 residual stream: x = round(q · scale / 2^8). */
export function embed(out: Int32Array, m: QuantMatrix, token: number): void {
  const n = m.cols;
  const s = m.scale[token] as number;
  for (let i = 0; i < n; i++)
    out[i] = saturate(roundShift((m.q[token * n + i] as number) * s, 8), RESIDUAL_BITS);
}
