/**
 * Exact emulation of substrate-fixed's I32F32 (i64 bits, 32 fractional bits) as BigInt bits, with the
 * semantics subtensor relies on: saturating add/sub; products computed wide and shifted right
 * (floor); quotients (a << 32) / b truncated toward zero; `safeDiv` returning 0 on a zero divisor or
 * overflow; substrate-fixed's 30-term Taylor `exp`. Yuma consensus reproduces the chain bit for bit only
 * with these rules (../shared/data/yuma/README.md §2).
 */

/** I32F32 bits. */
export type Fixed = bigint;

const FRAC = 32n;
const MAX = (1n << 63n) - 1n;
const MIN = -(1n << 63n);
/** 1.0 */
export const ONE: Fixed = 1n << FRAC;
/** 0.0 */
export const ZERO: Fixed = 0n;

function saturate(x: bigint): Fixed {
  return x > MAX ? MAX : x < MIN ? MIN : x;
}

/** Integer n as I32F32. */
export function fromInt(n: number | bigint): Fixed {
  return saturate(BigInt(n) << FRAC);
}

/** Saturating addition. */
export function add(a: Fixed, b: Fixed): Fixed {
  return saturate(a + b);
}

/** Saturating subtraction. */
export function sub(a: Fixed, b: Fixed): Fixed {
  return saturate(a - b);
}

/** Saturating multiplication: (a·b) >> 32, rounding toward −∞. */
export function mul(a: Fixed, b: Fixed): Fixed {
  return saturate((a * b) >> FRAC);
}

/** Checked multiplication: null on overflow. */
export function checkedMul(a: Fixed, b: Fixed): Fixed | null {
  const r = (a * b) >> FRAC;
  return r > MAX || r < MIN ? null : r;
}

/** Checked division (a << 32) / b truncated toward zero; null on a zero divisor or overflow. */
export function checkedDiv(a: Fixed, b: Fixed): Fixed | null {
  if (b === 0n) return null;
  const r = (a << FRAC) / b;
  return r > MAX || r < MIN ? null : r;
}

/** subtensor's `safe_div`: 0 when the division is impossible. */
export function safeDiv(a: Fixed, b: Fixed): Fixed {
  return checkedDiv(a, b) ?? 0n;
}

/** Saturating division (the divisor is never 0 where subtensor uses it). */
export function satDiv(a: Fixed, b: Fixed): Fixed {
  if (b === 0n) throw new RangeError("I32F32 division by zero");
  return saturate((a << FRAC) / b);
}

/** min / max / clamp. */
export function min(a: Fixed, b: Fixed): Fixed {
  return a < b ? a : b;
}
export function max(a: Fixed, b: Fixed): Fixed {
  return a > b ? a : b;
}
export function clamp(x: Fixed, lo: Fixed, hi: Fixed): Fixed {
  return max(min(x, hi), lo);
}

/** Round-half-to-even of an exactly representable double. */
function roundHalfEven(x: number): bigint {
  const floor = Math.floor(x);
  const diff = x - floor;
  let r = floor;
  if (diff > 0.5 || (diff === 0.5 && floor % 2 !== 0)) r = floor + 1;
  return BigInt(r);
}

/** `I32F32::from_num(f64)`: nearest multiple of 2^-32, ties to even. */
export function fromF64(x: number): Fixed {
  return saturate(roundHalfEven(x * 2 ** 32));
}

/** `I32F32::from_num(f32)`: the f32 value, then as from_num(f64). */
export function fromF32(x: number): Fixed {
  return fromF64(Math.fround(x));
}

/** Value as a double (for reports and float comparisons). */
export function toNumber(x: Fixed): number {
  return Number(x) / 2 ** 32;
}

/** `fixed_proportion_to_u16`: floor(x · 65535), saturating at 0..65535. */
export function toU16Proportion(x: Fixed): number {
  const v = (x * 65535n) >> FRAC;
  return Number(v < 0n ? 0n : v > 65535n ? 65535n : v);
}

/** `u16_proportion_to_fixed`: I32F32(u16) / I32F32(65535). */
export function fromU16Proportion(u: number): Fixed {
  return satDiv(fromInt(u), fromInt(65535));
}

/** substrate-fixed `exp`: 1 + x + Σ_{i=2..31} term_i with term_i = trunc(term_{i−1}·x)/i; 1/exp(|x|) for x < 0. */
export function exp(x: Fixed): Fixed | null {
  if (x === 0n) return ONE;
  // I9F23 constant e, widened: exp(1) returns exactly this value.
  if (x === ONE) return 22802601n << 9n;
  const negative = x < 0n;
  const operand = negative ? -x : x;
  let result: Fixed | null = operand + ONE;
  let term: Fixed = operand;
  for (let i = 2n; i < FRAC; i++) {
    const product = checkedMul(term, operand);
    if (product === null) return null;
    const quotient = checkedDiv(product, i << FRAC);
    if (quotient === null) return null;
    term = quotient;
    result = result + term;
    if (result > MAX) return null;
  }
  return negative ? checkedDiv(ONE, result) : result;
}

/** subtensor `exp_safe`: input clamped to [−20, 20]; an overflow maps to 0 or I32F32::MAX. */
export function expSafe(x: Fixed): Fixed {
  const safe = clamp(x, fromInt(-20), fromInt(20));
  return exp(safe) ?? (safe <= 0n ? 0n : MAX);
}

/** subtensor `safe_exp`: exp, or 0 when it fails (no clamping). */
export function safeExp(x: Fixed): Fixed {
  return exp(x) ?? 0n;
}

/** subtensor `sigmoid_safe`: 1 / (1 + exp_safe(−ρ · (x − κ))). */
export function sigmoidSafe(x: Fixed, rho: Fixed, kappa: Fixed): Fixed {
  const offset = sub(x, kappa);
  const negRho = mul(rho, -ONE);
  const e = expSafe(mul(negRho, offset));
  return safeDiv(ONE, add(e, ONE));
}

/** Largest and smallest representable values. */
export const I32F32_MAX: Fixed = MAX;
export const I32F32_MIN: Fixed = MIN;
