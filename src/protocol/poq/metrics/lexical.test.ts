import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadAlpacaJudged, loadAlpacaLeaderboard } from "../../../data/alpacaEval.ts";
import { itWithData } from "../../../testing/sharedData.ts";
import { chrf, chrfWithStringKeys } from "./chrf.ts";
import { bm25, fitDocumentFrequencies, normalizedBm25, smoothIdf, tfidfCosine } from "./tfidf.ts";
import { alpacaWinRate } from "./winRate.ts";
import { wordTokens } from "./words.ts";

describe("chrF", () => {
  it("is 100 for identical text, 0 for disjoint text, and ignores whitespace", () => {
    expect(chrf("the cat", "the cat")).toBeCloseTo(100, 10);
    expect(chrf("thecat", "the cat")).toBeCloseTo(100, 10);
    expect(chrf("xyz", "abc")).toBe(0);
    expect(chrf("", "abc")).toBe(0);
  });

  it("matches a hand computation with recall weighted by beta = 2", () => {
    // hyp "ab", ref "abc": order 1 P=1 R=2/3; order 2 P=1 R=1/2; orders 3-6 have no hyp n-grams.
    const p = 1;
    const r = (2 / 3 + 1 / 2) / 2;
    expect(chrf("ab", "abc")).toBeCloseTo((100 * 5 * p * r) / (4 * p + r), 10);
  });
});

describe("TF-IDF and BM25", () => {
  const docs = ["the cat sat", "the dog sat", "the bird flew"].map(wordTokens);
  const corpus = fitDocumentFrequencies(docs);

  it("fits smoothed IDF like scikit-learn", () => {
    expect(corpus.documents).toBe(3);
    expect(smoothIdf(corpus, "the")).toBeCloseTo(Math.log(4 / 4) + 1, 12);
    expect(smoothIdf(corpus, "cat")).toBeCloseTo(Math.log(4 / 2) + 1, 12);
    expect(smoothIdf(corpus, "unseen")).toBeCloseTo(Math.log(4) + 1, 12);
  });

  it("scores identical texts 1, disjoint 0, and weights rare words more", () => {
    expect(tfidfCosine(wordTokens("the cat"), wordTokens("the cat"), corpus)).toBeCloseTo(1, 12);
    expect(tfidfCosine(wordTokens("cat"), wordTokens("dog"), corpus)).toBe(0);
    const sharesRare = tfidfCosine(wordTokens("the cat"), wordTokens("a cat"), corpus);
    const sharesCommon = tfidfCosine(wordTokens("the cat"), wordTokens("the dog"), corpus);
    expect(sharesRare).toBeGreaterThan(sharesCommon);
    expect(bm25(wordTokens("cat"), wordTokens("the cat sat"), corpus)).toBeGreaterThan(
      bm25(wordTokens("the"), wordTokens("the cat sat"), corpus),
    );
    expect(normalizedBm25(wordTokens("the cat"), wordTokens("the cat"), corpus)).toBeCloseTo(1, 12);
    expect(normalizedBm25(wordTokens("cat"), [], corpus)).toBe(0);
  });
});

describe("AlpacaEval win rate", () => {
  it("is 100 x mean(preference - 1)", () => {
    const w = alpacaWinRate([1, 2, 1.5, 1.25]);
    expect(w.winRate).toBeCloseTo(43.75, 12);
    expect([w.wins, w.draws, w.losses]).toEqual([1, 1, 2]);
  });

  itWithData(
    "reproduces the leaderboard win rates of the three judged models",
    [
      "alpaca-eval/leaderboard_weighted_alpaca_eval_gpt4_turbo.csv",
      "alpaca-eval/judged_gemma-2b-it.jsonl",
      "alpaca-eval/judged_FuseChat-Llama-3.2-1B-Instruct.jsonl",
      "alpaca-eval/judged_FuseChat-Llama-3.2-3B-Instruct.jsonl",
    ],
    (board, gemma, l1b, l3b) => {
      const rows = new Map(loadAlpacaLeaderboard(board as string).map((r) => [r.name, r]));
      const cases: [string, string][] = [
        ["Gemma Instruct (2B)", gemma as string],
        ["FuseChat-Llama-3.2-1B-Instruct", l1b as string],
        ["FuseChat-Llama-3.2-3B-Instruct", l3b as string],
      ];
      for (const [name, file] of cases) {
        const judged = loadAlpacaJudged(file);
        expect(judged).toHaveLength(805);
        const ours = alpacaWinRate(judged.map((j) => j.preference));
        expect(ours.winRate, name).toBeCloseTo(rows.get(name)!.winRate, 8);
      }
    },
  );
});

describe("chrF with astral characters", () => {
  it("counts code points, not UTF-16 units", () => {
    expect(chrf("😀a", "😀a")).toBeCloseTo(100, 10);
    // hyp "😀" vs ref "😀b": order 1 P=1 R=1/2; order 2: hyp has none.
    const p = 1;
    const r = 0.5;
    expect(chrf("😀", "😀b")).toBeCloseTo((100 * 5 * p * r) / (4 * p + r), 10);
  });
});

describe("chrF numeric fast path", () => {
  it("equals the string-keyed computation, including texts beyond the 255-character alphabet", () => {
    const text = fc.string({ unit: fc.constantFrom(..."abcde fgh😀é中".split("")), maxLength: 30 });
    fc.assert(
      fc.property(text, text, (a, b) => Math.abs(chrf(a, b) - chrfWithStringKeys(a, b)) < 1e-9),
      { numRuns: 1000 },
    );
    // Exhaust the alphabet, then check mixed forms (one side numeric, the other string-keyed).
    const wide = Array.from({ length: 400 }, (_, i) => String.fromCodePoint(0x4e00 + i)).join("");
    expect(chrf(wide, wide)).toBeCloseTo(100, 9);
    expect(chrf("abc", `abc${wide.slice(0, 5)}`)).toBeCloseTo(
      chrfWithStringKeys("abc", `abc${wide.slice(0, 5)}`),
      9,
    );
  });
});
