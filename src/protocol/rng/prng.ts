/**
 * The project's seeded PRNG: xoshiro128** (Blackman & Vigna) on 32-bit words, seeded from a 32-byte
 * seed. Chosen because it is fast with plain 32-bit integer arithmetic in JavaScript, has a 2^128−1
 * period, and its reference outputs are easy to pin in tests. All simulation and sampling randomness
 * flows through it; the ambient JavaScript generator is never used.
 */
import { hexToBytes } from "../encoding/hex.ts";
import { type Seed, type SeedInput, seedFrom } from "./deriveSeed.ts";

/** A seeded random number generator. */
export interface Rng {
  /** The seed this generator started from (for reports). */
  readonly seed: Seed;
  /** Next uniformly distributed unsigned 32-bit integer. */
  nextU32(): number;
  /** Uniform float in [0, 1) with 53 random bits. */
  float(): number;
  /** Uniform integer in [0, n), unbiased; n must be a positive safe integer ≤ 2^32. */
  int(n: number): number;
  /** Standard normal deviate (Box–Muller). */
  normal(): number;
  /** True with probability p. */
  bernoulli(p: number): boolean;
  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[];
  /** k distinct indices from [0, n), in random order. */
  sampleIndices(n: number, k: number): number[];
  /** Uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Creates a generator from raw xoshiro128** state words (exported for reference-vector tests). */
export function xoshiro128ss(state: readonly [number, number, number, number], seed: Seed): Rng {
  // State in a typed array: uint32 values kept in closure variables would be boxed on every write.
  const st = Uint32Array.from(state);
  if ((st[0]! | st[1]! | st[2]! | st[3]!) === 0) st[0] = 1; // the all-zero state is a fixed point
  let spareNormal: number | null = null;

  const nextU32 = (): number => {
    const s1 = st[1]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    st[2]! ^= st[0]!;
    st[3]! ^= s1;
    st[1]! ^= st[2]!;
    st[0]! ^= st[3]!;
    st[2]! ^= t;
    st[3] = rotl(st[3]!, 11);
    return result;
  };
  const float = (): number => ((nextU32() >>> 5) * 67108864 + (nextU32() >>> 6)) / 9007199254740992;
  const int = (n: number): number => {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000)
      throw new RangeError(`int(n): n must be in 1..2^32, got ${n}`);
    // Lemire's nearly divisionless method: x = u32 · n is exact in a double (< 2^64 only when n is
    // large, so fall back to rejection on the remainder there); reject the low part below 2^32 mod n.
    if (n <= 0x200000) {
      let x = nextU32() * n;
      let low = x % 0x100000000;
      if (low < n) {
        const threshold = (0x100000000 - n) % n;
        while (low < threshold) {
          x = nextU32() * n;
          low = x % 0x100000000;
        }
      }
      return Math.floor(x / 0x100000000);
    }
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = nextU32();
      if (x < limit) return x % n;
    }
  };
  const rng: Rng = {
    seed,
    nextU32,
    float,
    int,
    normal() {
      if (spareNormal !== null) {
        const z = spareNormal;
        spareNormal = null;
        return z;
      }
      let u = 0;
      while (u === 0) u = float();
      const v = float();
      const r = Math.sqrt(-2 * Math.log(u));
      spareNormal = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    bernoulli(p) {
      return float() < p;
    },
    shuffle(items) {
      for (let i = items.length - 1; i > 0; i--) {
        const j = int(i + 1);
        const tmp = items[i] as (typeof items)[number];
        items[i] = items[j] as (typeof items)[number];
        items[j] = tmp;
      }
      return items;
    },
    sampleIndices(n, k) {
      if (!Number.isInteger(k) || k < 0 || k > n)
        throw new RangeError(`sampleIndices: need 0 ≤ k ≤ n, got k=${k}, n=${n}`);
      // Partial Fisher–Yates over a sparse map: O(k) time and memory even for huge n.
      const swapped = new Map<number, number>();
      const out: number[] = [];
      for (let i = 0; i < k; i++) {
        const j = i + int(n - i);
        const vj = swapped.get(j) ?? j;
        swapped.set(j, swapped.get(i) ?? i);
        out.push(vj);
      }
      return out;
    },
    pick(items) {
      if (items.length === 0) throw new RangeError("pick: empty array");
      return items[int(items.length)] as (typeof items)[number];
    },
  };
  return rng;
}

/** Creates the project PRNG from a seed (number, bigint, string label or 32-byte hex seed). */
export function createRng(seedInput: SeedInput): Rng {
  const seed = seedFrom(seedInput);
  const bytes = hexToBytes(seed, 32);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Fold the 256-bit seed into 128 bits of state so every seed byte matters.
  const word = (i: number) => (view.getUint32(i * 4, false) ^ view.getUint32(16 + i * 4, false)) >>> 0;
  return xoshiro128ss([word(0), word(1), word(2), word(3)], seed);
}
