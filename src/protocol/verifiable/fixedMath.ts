/**
 * Deterministic integer math for the verifiable engine (docs/spec/verifiable-engine.md).
 *
 * The engine's non-linear functions are lookup tables. They are generated here with integer-only
 * algorithms (BigInt Q64 Taylor series from decimal constants), never with Math.exp / Math.cos, whose
 * results JavaScript does not pin across engines and machines — so the tables, and every output, are
 * bit-identical everywhere. Their SHA-256 digests are pinned in the tests.
 */

/** Q64 one. */
const ONE = 1n << 64n;

/** A decimal constant as Q64 (floor). */
function q64(decimal: string): bigint {
  const [int, frac = ""] = decimal.split(".");
  return (
    ((BigInt(int as string) * 10n ** BigInt(frac.length) + BigInt(frac || "0")) * ONE) /
    10n ** BigInt(frac.length)
  );
}

/** ln 2, ln 10000 and π to 60 digits (computed with Python's decimal module). */
const LN2 = q64("0.693147180559945309417232121458176568075500134360255254120680");
const LN10000 = q64("9.21034037197618273607196581873745683040440595451509190413331");
const PI = q64("3.14159265358979323846264338327950288419716939937510582097494");

/** Floor division of BigInts (JavaScript's `/` truncates toward zero). */
function floorDivBig(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** e^x for x in Q64. */
export function expQ64(x: bigint): bigint {
  // x = k·ln2 + r with r in [0, ln2): e^x = 2^k · e^r.
  const k = floorDivBig(x, LN2);
  const r = x - k * LN2;
  let term = ONE;
  let sum = ONE;
  for (let n = 1n; term !== 0n; n++) {
    term = (term * r) / (n * ONE);
    sum += term;
  }
  return k >= 0n ? sum << k : sum >> -k;
}

/** (cos a, sin a) for a in Q64. */
export function cosSinQ64(a: bigint): [bigint, bigint] {
  const twoPi = 2n * PI;
  let r = a - floorDivBig(a, twoPi) * twoPi; // [0, 2π)
  if (r > PI) r -= twoPi; // (−π, π]
  let cos = ONE;
  let sin = r;
  let term = ONE;
  for (let n = 1n; term !== 0n; n++) {
    term = -(term * r) / ONE;
    term = (term * r) / ONE / ((2n * n - 1n) * (2n * n));
    cos += term;
  }
  term = r;
  for (let n = 1n; term !== 0n; n++) {
    term = -(term * r) / ONE;
    term = (term * r) / ONE / (2n * n * (2n * n + 1n));
    sin += term;
  }
  return [cos, sin];
}

/** Round-half-up of a Q64 value to Q`bits`. */
function toFixed(v: bigint, bits: number): number {
  const shift = BigInt(64 - bits);
  return Number((v + (1n << (shift - 1n))) >> shift);
}

/** Integer square root (floor) of a non-negative BigInt. */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError("isqrt of a negative number");
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  // Newton steps fix the float estimate's error in either direction.
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) break;
    x = y;
  }
  while (x * x > n) x--;
  while ((x + 1n) * (x + 1n) <= n) x++;
  return x;
}

/** Entries of the exp2 fraction table: 2^(−i/1024) for i in 0..1023, Q16. */
export const EXP2_TABLE_SIZE = 1024;
/** Sigmoid table: σ((i − 4096)/256) for i in 0..8191, Q16 (inputs from −16 to 16 − 1/256). */
export const SIGMOID_TABLE_SIZE = 8192;

let exp2Table: Int32Array | null = null;
let sigmoidCache: Int32Array | null = null;
const ropeCache = new Map<string, { cos: Int32Array; sin: Int32Array }>();

/** 2^(−i/1024) in Q16, i = 0..1023. */
export function exp2FractionTable(): Int32Array {
  if (!exp2Table) {
    exp2Table = Int32Array.from({ length: EXP2_TABLE_SIZE }, (_, i) =>
      toFixed(expQ64(-(LN2 * BigInt(i)) / 1024n), 16),
    );
  }
  return exp2Table;
}

/** σ(x) in Q16 for x = (i − 4096)/256. */
export function sigmoidTable(): Int32Array {
  if (!sigmoidCache) {
    sigmoidCache = Int32Array.from({ length: SIGMOID_TABLE_SIZE }, (_, i) => {
      const x = (BigInt(i - 4096) * ONE) / 256n;
      return toFixed((ONE * ONE) / (ONE + expQ64(-x)), 16);
    });
  }
  return sigmoidCache;
}

/**
 * RoPE tables in Q14: for position pos and pair p (0 ≤ p < headSize/2) the angle is
 * pos · 10000^(−2p/headSize), entry pos·(headSize/2) + p.
 */
export function ropeTables(headSize: number, seqLen: number): { cos: Int32Array; sin: Int32Array } {
  const key = `${headSize}:${seqLen}`;
  let t = ropeCache.get(key);
  if (!t) {
    const half = headSize / 2;
    const cos = new Int32Array(seqLen * half);
    const sin = new Int32Array(seqLen * half);
    const theta = Array.from({ length: half }, (_, p) =>
      expQ64(-(LN10000 * BigInt(2 * p)) / BigInt(headSize)),
    );
    for (let pos = 0; pos < seqLen; pos++) {
      for (let p = 0; p < half; p++) {
        const [c, s] = cosSinQ64(BigInt(pos) * (theta[p] as bigint));
        cos[pos * half + p] = toFixed(c, 14);
        sin[pos * half + p] = toFixed(s, 14);
      }
    }
    t = { cos, sin };
    ropeCache.set(key, t);
  }
  return t;
}

/** round(2^16 / ln 2): converts natural-log units to base-2 units in the exp approximation. */
export const INV_LN2_Q16 = toFixed((ONE * ONE) / LN2, 16);

/** round(2^16 / √n), the attention scale 1/√headSize in Q16. */
export function invSqrtQ16(n: number): number {
  // 2^16/√n = √(2^32/n); isqrt of 2^32·2^32/n gives it in Q32, then round to Q16.
  const q32 = isqrt((1n << 96n) / BigInt(n));
  return Number((q32 + (1n << 31n)) >> 32n);
}

/** floor(a / b) for integer doubles with |a| < 2^53 and b > 0, exact. */
export function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  // The double quotient can round across an integer; correct it with exact integer products.
  if (q * b > a) q--;
  else if ((q + 1) * b <= a) q++;
  return q;
}

/** round(v / 2^s) (half up) for integer doubles, s ≥ 0. */
export function roundShift(v: number, s: number): number {
  if (s === 0) return v;
  const d = 2 ** s;
  return Math.floor((v + d / 2) / d);
}

/** Saturates to a signed bound ±(2^bits − 1). */
export function saturate(v: number, bits: number): number {
  const m = 2 ** bits - 1;
  return v > m ? m : Math.max(v, -m);
}
