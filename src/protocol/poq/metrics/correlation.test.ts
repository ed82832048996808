import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRng } from "../../rng/prng.ts";
import { correlate } from "./bootstrap.ts";
import { averageRanks, correlationUndefinedReason, kendallTauB, pearson, spearman } from "./correlation.ts";
import {
  pairWeights,
  preparePairs,
  weightedKendall,
  weightedPearson,
  weightedSpearman,
} from "./weightedCorrelation.ts";

/** τ-b straight from its definition, O(n²): the reference the fast version must equal. */
function bruteKendall(x: number[], y: number[]): number | null {
  let concordant = 0;
  let discordant = 0;
  let tiesX = 0;
  let tiesY = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const dx = Math.sign((x[i] as number) - (x[j] as number));
      const dy = Math.sign((y[i] as number) - (y[j] as number));
      if (dx === 0 && dy === 0) continue;
      if (dx === 0) tiesX++;
      else if (dy === 0) tiesY++;
      else if (dx === dy) concordant++;
      else discordant++;
    }
  }
  const d = Math.sqrt((concordant + discordant + tiesX) * (concordant + discordant + tiesY));
  return d === 0 ? null : (concordant - discordant) / d;
}

describe("correlation coefficients", () => {
  it("match hand-computed values", () => {
    const x = [1, 2, 3, 4, 5];
    const y = [2, 1, 4, 3, 5];
    expect(pearson(x, y)).toBeCloseTo(0.8, 12);
    expect(spearman(x, y)).toBeCloseTo(0.8, 12);
    expect(kendallTauB(x, y)).toBeCloseTo(0.6, 12);
    expect(pearson(x, [5, 4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(Array.from(averageRanks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
  });

  it("are null, not NaN, when undefined", () => {
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNull();
    expect(spearman([1], [2])).toBeNull();
    expect(kendallTauB([3, 3], [1, 2])).toBeNull();
    // A constant whose mean does not round-trip (0.1 × 3 / 3 ≠ 0.1) once gave 1e-16, not undefined.
    expect(pearson([0.1, 0.1, 0.1], [1, 2, 3])).toBeNull();
    expect(pearson([1, 2, 3], [0.7, 0.7, 0.7])).toBeNull();
    expect(correlationUndefinedReason([0.1, 0.1, 0.1], [1, 2, 3])).toBe(
      "the scores are constant (every one is 0.1)",
    );
    expect(correlationUndefinedReason([1, 2], [3, 3])).toBe(
      "the reference values are constant (every one is 3)",
    );
    expect(correlationUndefinedReason([1], [2])).toBe("1 pair; a correlation needs 2");
    expect(correlationUndefinedReason([1, 2], [2, 1])).toBeNull();
  });

  it("fast Kendall τ-b equals the O(n²) definition, ties included", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 })), {
          minLength: 2,
          maxLength: 80,
        }),
        (pairs) => {
          const x = pairs.map((p) => p[0]);
          const y = pairs.map((p) => p[1]);
          const fast = kendallTauB(x, y);
          const slow = bruteKendall(x, y);
          if (slow === null) expect(fast).toBeNull();
          else expect(fast).toBeCloseTo(slow, 10);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("bootstrap intervals are seeded, contain the estimate and shrink with n", () => {
    const rng = createRng("data");
    const make = (n: number) => {
      const x: number[] = [];
      const y: number[] = [];
      for (let i = 0; i < n; i++) {
        const a = rng.normal();
        x.push(a);
        y.push(a + rng.normal());
      }
      return { x, y };
    };
    const small = make(60);
    const large = make(2000);
    const run = (d: { x: number[]; y: number[] }, seed: number) =>
      correlate(d.x, d.y, { rng: createRng(seed), resamples: 300, level: 0.95 });
    const a = run(small, 1);
    const b = run(small, 1);
    expect(a).toEqual(b);
    if (!a.ok) throw new Error("correlate failed");
    for (const k of ["pearson", "spearman", "kendall"] as const) {
      const e = a.value[k];
      expect(e.low! <= e.value! && e.value! <= e.high!).toBe(true);
    }
    const c = run(large, 1);
    if (!c.ok) throw new Error("correlate failed");
    const width = (e: { low: number | null; high: number | null }) => e.high! - e.low!;
    expect(width(c.value.pearson)).toBeLessThan(width(a.value.pearson));
    expect(c.value.pearson.value).toBeCloseTo(Math.SQRT1_2, 1);
  });

  it("rejects mismatched or non-finite samples with specific codes", () => {
    const opts = { rng: createRng(1), resamples: 10, level: 0.95 };
    expect(correlate([1, 2], [1], opts)).toMatchObject({
      ok: false,
      error: { code: "STATS_LENGTH_MISMATCH" },
    });
    expect(correlate([1, Number.NaN], [1, 2], opts)).toMatchObject({
      ok: false,
      error: { code: "STATS_NOT_FINITE", meta: { index: 1 } },
    });
    const constant = correlate([1, 1, 1], [1, 2, 3], opts);
    expect(constant).toMatchObject({ ok: true, value: { pearson: { value: null, low: null, high: null } } });
  });
});

describe("weighted correlations (the bootstrap's resample representation)", () => {
  it("equal the plain coefficients on the expanded sample", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 5 }),
            fc.integer({ min: 0, max: 8 }),
            fc.integer({ min: 0, max: 3 }),
          ),
          {
            minLength: 2,
            maxLength: 40,
          },
        ),
        (points) => {
          const x = points.map((p) => p[0]);
          const y = points.map((p) => p[1] / 2);
          const w = Uint32Array.from(points, (p) => p[2]);
          const ex: number[] = [];
          const ey: number[] = [];
          points.forEach((_, i) => {
            for (let k = 0; k < (w[i] as number); k++) {
              ex.push(x[i] as number);
              ey.push(y[i] as number);
            }
          });
          const s = preparePairs(x, y);
          const same = (a: number | null, b: number | null) =>
            b === null ? expect(a).toBeNull() : expect(a).toBeCloseTo(b, 9);
          const pw = pairWeights(s, w);
          expect(pw.reduce((a, b) => a + b, 0)).toBe(ex.length);
          same(weightedPearson(s.x, s.y, pw), pearson(ex, ey));
          same(weightedSpearman(s, pw), spearman(ex, ey));
          same(weightedKendall(s, pw), ex.length < 2 ? null : kendallTauB(ex, ey));
        },
      ),
      { numRuns: 300 },
    );
  });
});
