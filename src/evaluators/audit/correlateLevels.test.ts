import { describe, expect, it } from "vitest";
import { kendallTauB, pearson } from "../../protocol/poq/metrics/correlation.ts";
import { createRng } from "../../protocol/rng/prng.ts";
import { correlateAtLevel } from "./correlateLevels.ts";

// Three prompts × three systems.
const groups = ["p1", "p1", "p1", "p2", "p2", "p2", "p3", "p3", "p3"];
const systems = ["A", "B", "C", "A", "B", "C", "A", "B", "C"];
const truth = Float64Array.from([1, 2, 3, 1, 3, 2, 1, 2, 3]);
const good = Float64Array.from([1.1, 2.2, 2.9, 2.0, 3.1, 0.9, 3.2, 1.0, 2.1]);
const reversed = Float64Array.from(truth, (t) => -t);

describe("audit correlation levels", () => {
  it("pooled: the point estimate is the plain coefficient, failed items are left out", () => {
    const withFailure = Float64Array.from(good);
    withFailure[4] = Number.NaN;
    const inputs = { scores: [good, withFailure], truths: [truth], groups, systems };
    const results = correlateAtLevel("pooled", inputs, createRng(1), 100, 0.9);
    const a = results[0]![0]!;
    const b = results[1]![0]!;
    expect(a.n).toBe(9);
    expect(a.pearson.value).toBeCloseTo(pearson(good, truth)!, 12);
    expect(b.n).toBe(8);
    const keep = [0, 1, 2, 3, 5, 6, 7, 8];
    expect(b.pearson.value).toBeCloseTo(
      pearson(
        keep.map((i) => good[i]!),
        keep.map((i) => truth[i]!),
      )!,
      12,
    );
  });

  it("summary: per-prompt coefficients averaged; system: coefficients of system means", () => {
    const summary = correlateAtLevel(
      "summary",
      { scores: [reversed], truths: [truth], groups, systems },
      createRng(1),
      50,
      0.9,
    )[0]![0];
    expect(summary).toMatchObject({ n: 3, kendall: { value: -1 }, pearson: { value: -1 } });
    const system = correlateAtLevel(
      "system",
      { scores: [good], truths: [truth], groups, systems },
      createRng(1),
      50,
      0.9,
    )[0]![0];
    const mean = (xs: Float64Array, s: string) =>
      [0, 1, 2].reduce((acc, g) => acc + xs[g * 3 + "ABC".indexOf(s)]!, 0) / 3;
    const x = ["A", "B", "C"].map((s) => mean(good, s));
    const y = ["A", "B", "C"].map((s) => mean(truth, s));
    expect(system!.n).toBe(3);
    expect(kendallTauB(x, y)).not.toBeNull();
    expect(system!.kendall.value).toBeCloseTo(kendallTauB(x, y)!, 12);
    expect(system!.pearson.value).toBeCloseTo(pearson(x, y)!, 12);
  });

  it("is a paired bootstrap: an evaluator's interval does not depend on the others in the run", () => {
    const alone = correlateAtLevel(
      "pooled",
      { scores: [good], truths: [truth], groups, systems },
      createRng(5),
      200,
      0.9,
    )[0]![0];
    const together = correlateAtLevel(
      "pooled",
      { scores: [reversed, good], truths: [truth], groups, systems },
      createRng(5),
      200,
      0.9,
    )[1]![0];
    expect(together).toEqual(alone);
  });
});
