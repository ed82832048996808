import { describe, expect, it } from "vitest";
import { assessStructure, TASK_LENGTHS } from "./structure.ts";
import { createLexicalDimension } from "./testHelpers.ts";

const chat = TASK_LENGTHS.chat!;
const qa = TASK_LENGTHS.qa!;

describe("structure dimension", () => {
  it("gives a clean answer full marks", () => {
    expect(assessStructure("Paris is the capital of France.", chat)).toEqual({ score: 10, issues: [] });
    expect(assessStructure("Denver Broncos", qa).score).toBe(10);
  });

  it("scores empty output 0 and penalizes each problem with a named rule", () => {
    expect(assessStructure("  \n", chat)).toMatchObject({ score: 0, issues: [{ rule: "empty" }] });
    const rules = (text: string, range = chat) => assessStructure(text, range).issues.map((i) => i.rule);
    expect(rules("yes", TASK_LENGTHS.summarization!)).toEqual(["too-short"]);
    expect(rules("word ".repeat(60), qa)).toContain("too-long");
    expect(rules("the cat sat on the mat. ".repeat(20))).toContain("repetition");
    expect(
      rules(`${"This answer keeps going without ever reaching its end and it just ".repeat(2)}stops`),
    ).toContain("truncated");
    expect(rules("```python\nprint(1)\n")).toContain("format");
    expect(rules("</h4> Here is the list.")).toContain("format");
    expect(rules("bad \u0007 bytes \ufffd here.")).toContain("format");
    expect(assessStructure("the cat sat on the mat. ".repeat(20), chat).score).toBeLessThan(5);
  });

  it("never goes below 0 or above 10", () => {
    for (const text of ["", "a", "x ".repeat(5000), "((((((( [[[[ ```", "ok."]) {
      const { score } = assessStructure(text, qa);
      expect(score >= 0 && score <= 10).toBe(true);
    }
  });

  it("builds similarity dimensions from a scorer: alignment uses the query, agreement the peers", () => {
    const overlap = createLexicalDimension();
    expect(
      overlap.alignment.scoreSync({ query: "capital of France", output: "the capital of France is Paris" }),
    ).toBeGreaterThan(0);
    expect(overlap.agreement.scoreSync({ query: "q", output: "Paris", peers: ["Paris", "Lyon"] })).toBe(5);
    expect(overlap.agreement.scoreSync({ query: "q", output: "Paris" })).toBe(0);
    expect(overlap.agreement.info).toMatchObject({
      name: "agreement:token-f1",
      needsPeers: true,
      needsReference: false,
    });
  });
});
