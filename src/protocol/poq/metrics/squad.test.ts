import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadSquadDataset, loadSquadPredictions } from "../../../data/squad.ts";
import { itWithData } from "../../../testing/sharedData.ts";
import { evaluateSquad, normalizeAnswer, normalizeAnswerUnicode, squadExactMatch, squadF1 } from "./squad.ts";

describe("SQuAD v1.1 metric", () => {
  it("normalizes like the official script", () => {
    expect(normalizeAnswer("The  Denver Broncos!")).toBe("denver broncos");
    expect(normalizeAnswer("an apple, a pear")).toBe("apple pear");
    expect(normalizeAnswer("theater")).toBe("theater");
    // Python's \b is Unicode-aware: "a" inside "théa" is not a separate word.
    expect(normalizeAnswer("théa a")).toBe("théa");
    // Only ASCII punctuation is removed; the en dash stays.
    expect(normalizeAnswer("24–10")).toBe("24–10");
    expect(normalizeAnswer("\u3000x\u00a0y\u001c")).toBe("x y");
  });

  it("computes EM and F1 on pairs", () => {
    expect(squadExactMatch("the Broncos", "Broncos")).toBe(1);
    expect(squadF1("Denver Broncos team", "Denver Broncos")).toBeCloseTo(0.8, 12);
    expect(squadF1("", "Denver")).toBe(0);
    expect(squadF1("a", "the")).toBe(0);
    expect(squadExactMatch("", "the")).toBe(1);
  });

  itWithData(
    "reproduces expected_scores.json for all five leaderboard prediction files to 4 decimals",
    ["squad-v1.1/dev-v1.1.reconstructed.json", "squad-v1.1/expected_scores.json"],
    (datasetPath, expectedPath) => {
      const dataset = loadSquadDataset(datasetPath as string);
      expect(dataset.length).toBe(10570);
      const expected = JSON.parse(readFileSync(expectedPath as string, "utf8")).scores as Record<
        string,
        { exact_match: number; f1: number; missing: number; n_predictions: number }
      >;
      expect(Object.keys(expected)).toHaveLength(5);
      for (const [file, want] of Object.entries(expected)) {
        const got = evaluateSquad(
          dataset,
          loadSquadPredictions(join(dirname(datasetPath as string), "predictions", file)),
        );
        expect(got.exact_match.toFixed(4), file).toBe(want.exact_match.toFixed(4));
        expect(got.f1.toFixed(4), file).toBe(want.f1.toFixed(4));
        expect(got.missing, file).toBe(want.missing);
        expect(got.n_predictions, file).toBe(want.n_predictions);
      }
    },
  );
});

describe("normalizeAnswer fast path", () => {
  it("equals the Unicode path on arbitrary ASCII and mixed text", () => {
    const ascii = fc.string({
      unit: fc.constantFrom(..." \t\n\x1c\x1fabthenAT,.;'\"-_!0123456789xyz".split("")),
      maxLength: 40,
    });
    fc.assert(
      fc.property(ascii, (t) => normalizeAnswer(t) === normalizeAnswerUnicode(t)),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (t) => normalizeAnswer(t) === normalizeAnswerUnicode(t)),
      { numRuns: 500 },
    );
  });
});
