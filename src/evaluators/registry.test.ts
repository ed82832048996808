import { describe, expect, it } from "vitest";
import { createEvaluator, dimensionOf, parseEvaluatorList, REGISTERED } from "./registry.ts";

const context = { params: { maxTextChars: 1000 } };

describe("evaluator registry", () => {
  it("builds every reference-free and lexical evaluator and composes dimensions", async () => {
    for (const name of [
      "token-f1",
      "rouge-l",
      "chrf",
      "tfidf",
      "bm25",
      "structure",
      "alignment:token-f1",
      "agreement:chrf",
      "semantic:tfidf",
    ]) {
      const e = await createEvaluator(name, context);
      expect(e.info.name).toBe(name);
      const { score, costMs } = await e.score({
        query: "who won?",
        output: "the Broncos",
        reference: "Denver Broncos",
        peers: ["Broncos"],
      });
      expect(score >= 0 && score <= 10).toBe(true);
      expect(costMs).toBeGreaterThanOrEqual(0);
    }
    expect(REGISTERED.length).toBeGreaterThan(10);
  });

  it("gives defined scores for degenerate input and rejects invalid input with codes", async () => {
    const f1 = await createEvaluator("token-f1", context);
    expect((await f1.score({ query: "", output: "", reference: "x" })).score).toBe(0);
    expect((await f1.score({ query: "", output: "\u0000\ufffd", reference: "\u0000" })).score).toBe(0);
    await expect(f1.score({ query: "", output: "x".repeat(1001), reference: "x" })).rejects.toMatchObject({
      code: "INPUT_TOO_LARGE",
    });
    await expect(
      f1.score({ query: "", output: 5 as unknown as string, reference: "x" }),
    ).rejects.toMatchObject({ code: "EVALUATOR_INPUT_INVALID" });
    await expect(
      f1.score({ query: "", output: "x", reference: [1] as unknown as string[] }),
    ).rejects.toMatchObject({ code: "EVALUATOR_INPUT_INVALID" });
    await expect(f1.score({ query: "", output: "x" })).rejects.toMatchObject({
      code: "EVALUATOR_REFERENCE_REQUIRED",
    });
    await expect(createEvaluator("sts", context)).rejects.toMatchObject({ code: "EVALUATOR_MODEL_INVALID" });
    await expect(createEvaluator("alignment:nope", context)).rejects.toMatchObject({
      code: "EVALUATOR_UNKNOWN",
    });
  });

  it("scores a+b+c as one composite, each dimension's mean under the protocol's dimension weights", async () => {
    const input = { query: "who won?", output: "the Broncos won", reference: "Denver Broncos" };
    const one = async (name: string) => (await (await createEvaluator(name, context)).score(input)).score;
    const composite = await createEvaluator("structure+alignment:chrf+semantic:token-f1", context);
    expect(composite.info).toMatchObject({
      name: "structure+alignment:chrf+semantic:token-f1",
      kind: "composite",
      needsReference: true,
    });
    // Default weights: structure 0.15, alignment 0.15, semantic 0.4, renormalized over those three.
    const expected =
      (0.15 * (await one("structure")) +
        0.15 * (await one("alignment:chrf")) +
        0.4 * (await one("semantic:token-f1"))) /
      0.7;
    expect((await composite.score(input)).score).toBeCloseTo(expected, 12);
    expect(dimensionOf("llm-judge")).toBe("alignment");
    expect(dimensionOf("chrf")).toBe("semantic");
    await expect(createEvaluator("structure+", context)).rejects.toMatchObject({ code: "CLI_USAGE" });
    await expect(createEvaluator("structure+bleurt", context)).rejects.toMatchObject({
      code: "EVALUATOR_UNKNOWN",
    });
  });

  it("parses evaluator lists strictly", () => {
    expect(parseEvaluatorList(" token-f1, sts ")).toEqual(["token-f1", "sts"]);
    expect(() => parseEvaluatorList("a,,b")).toThrow(/empty name/);
    expect(() => parseEvaluatorList("a,a")).toThrow(/listed twice/);
  });
});
