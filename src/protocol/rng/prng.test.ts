import { describe, expect, it } from "vitest";
import { deriveSeed, seedFrom } from "./deriveSeed.ts";
import { createRng, xoshiro128ss } from "./prng.ts";

describe("xoshiro128** PRNG", () => {
  it("matches the reference algorithm from state {1, 2, 3, 4}", () => {
    // Worked by hand from the reference C code (xoshiro128starstar.c): result = rotl(s1 * 5, 7) * 9.
    const rng = xoshiro128ss([1, 2, 3, 4], seedFrom(0));
    expect([rng.nextU32(), rng.nextU32(), rng.nextU32(), rng.nextU32()]).toEqual([
      11520, 0, 5927040, 70819200,
    ]);
  });

  it("produces the pinned stream for seed 42 (changing this breaks every recorded experiment)", () => {
    const rng = createRng(42);
    expect(rng.seed).toBe(PINNED.seed42);
    expect(Array.from({ length: 6 }, () => rng.nextU32())).toEqual(PINNED.u32);
    const f = createRng(42);
    expect(f.float()).toBe(PINNED.firstFloat);
  });

  it("derives distinct, replayable seeds from labelled paths", () => {
    expect(deriveSeed(42, "sweep", 3)).toBe(PINNED.derived);
    expect(deriveSeed(42, "sweep", 3)).not.toBe(deriveSeed(42, "sweep3"));
    expect(deriveSeed(42, "sweep", 3)).not.toBe(deriveSeed(42, "sweep", "3"));
    expect(deriveSeed(42, 1)).not.toBe(deriveSeed(43, 1));
    expect(createRng(deriveSeed(7, "a")).nextU32()).toBe(createRng(deriveSeed(7, "a")).nextU32());
  });

  it("draws unbiased integers, floats in [0, 1) and distinct samples", () => {
    const rng = createRng("distribution");
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[rng.int(6)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) {
      const x = rng.float();
      expect(x >= 0 && x < 1).toBe(true);
      sum += x;
    }
    expect(Math.abs(sum / 10_000 - 0.5)).toBeLessThan(0.02);
    const sample = rng.sampleIndices(1_000_000, 50);
    expect(new Set(sample).size).toBe(50);
    expect(sample.every((i) => i >= 0 && i < 1_000_000)).toBe(true);
    let m = 0;
    let v = 0;
    for (let i = 0; i < 20_000; i++) {
      const z = rng.normal();
      m += z;
      v += z * z;
    }
    expect(Math.abs(m / 20_000)).toBeLessThan(0.03);
    expect(Math.abs(v / 20_000 - 1)).toBeLessThan(0.05);
  });

  it("rejects invalid arguments instead of returning garbage", () => {
    const rng = createRng(1);
    expect(() => rng.int(0)).toThrow(RangeError);
    expect(() => rng.int(1.5)).toThrow(RangeError);
    expect(() => rng.sampleIndices(3, 4)).toThrow(RangeError);
    expect(() => rng.pick([])).toThrow(RangeError);
    expect(() => createRng(-1)).toThrow(RangeError);
    expect(() => createRng(Number.NaN)).toThrow(RangeError);
  });
});

const PINNED = {
  seed42: "0xb31f8d1da7a0c72f92e584488fbcfd844cb60bd891552263c772a01b4009ec9b",
  u32: [2628202065, 3721439551, 1348774477, 3252329043, 3876662958, 4078739867],
  firstFloat: 0.6119259809439268,
  derived: "0x51b6b7798515640ce532f141f0f2029b3336b6c0b7fb737e8c5fc9803a2b98be",
};
