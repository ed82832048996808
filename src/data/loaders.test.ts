import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { itWithData, tempFile } from "../testing/sharedData.ts";
import { loadAlpacaJudged, loadAlpacaLeaderboard, loadAlpacaReferences } from "./alpacaEval.ts";
import { dataFile, resolveDataDir } from "./dataDir.ts";
import { firstInvalidUtf8, parseJsonText, readTextFile } from "./files.ts";
import { locateJsonError } from "./jsonErrorLocation.ts";
import { loadJudgePrompts, loadMtBenchQuestions, loadMtBenchReferenceAnswers } from "./mtBench.ts";
import { loadSquadDataset, loadSquadPredictions } from "./squad.ts";
import { loadStsB, parseStsB } from "./stsb.ts";
import { loadSummEval } from "./summeval.ts";

const code = (c: string) => expect.objectContaining({ code: c });

describe("reading files", () => {
  it("rejects missing files, directories, oversized and non-UTF-8 files with specific codes", () => {
    expect(() => readTextFile("/nonexistent/x.json")).toThrow(code("FILE_NOT_FOUND"));
    expect(() => readTextFile("/tmp")).toThrow(code("FILE_NOT_FOUND"));
    expect(() => readTextFile(tempFile("big.txt", "x".repeat(100)), 10)).toThrow(code("FILE_TOO_LARGE"));
    const latin1 = tempFile("latin1.txt", Uint8Array.from([0x61, 0x0a, 0x62, 0xe9, 0x0a]));
    expect(() => readTextFile(latin1)).toThrow(/not valid UTF-8 \(byte 3, line 2\)/);
    expect(readTextFile(tempFile("bom.txt", "\ufeffhello"))).toBe("hello");
  });

  it("locates the first invalid UTF-8 byte", () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(firstInvalidUtf8(enc("héllo 😀"))).toBeNull();
    expect(firstInvalidUtf8(Uint8Array.from([0x41, 0xc0, 0x80]))).toBe(1); // overlong
    expect(firstInvalidUtf8(Uint8Array.from([0xed, 0xa0, 0x80]))).toBe(0); // surrogate
    expect(firstInvalidUtf8(Uint8Array.from([0x41, 0xe2, 0x82]))).toBe(1); // truncated
    expect(firstInvalidUtf8(Uint8Array.from([0xff]))).toBe(0);
  });

  it("names the line and column of a JSON syntax error", () => {
    expect(() => parseJsonText('{\n  "a": 1,\n  "b": }', "x.json")).toThrow(
      /x\.json: invalid JSON at line 3 column 8: unexpected "}"/,
    );
    expect(() => parseJsonText('{"a": [1, 2', "y.json")).toThrow(/line 1 column 12: unexpected end of input/);
    expect(() => parseJsonText('{"a": "x\u0001"}', "z.json")).toThrow(/column 9/);
    fc.assert(
      fc.property(fc.json(), fc.nat(), (json, cut) => {
        const text = json.slice(0, cut % (json.length + 1));
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        // Every invalid prefix is located within the text; valid texts are never reported.
        return valid ? locateJsonError(text) === text.length : locateJsonError(text) <= text.length;
      }),
      { numRuns: 300 },
    );
  });

  it("resolves the data directory from flag, env or default, and names missing dataset files", () => {
    expect(() => resolveDataDir("/nonexistent-dir")).toThrow(code("DATA_DIR_NOT_FOUND"));
    expect(resolveDataDir(undefined, { VERINFER_DATA_DIR: "/tmp" })).toBe("/tmp");
    expect(() => dataFile("/tmp", "no/such/file.json")).toThrow(
      /dataset file missing: \/tmp\/no\/such\/file\.json/,
    );
  });
});

describe("dataset loaders reject malformed records, naming file, record and field", () => {
  it("SQuAD dataset and predictions", () => {
    const bad = tempFile(
      "dev.json",
      JSON.stringify({
        data: [
          {
            title: "T",
            paragraphs: [{ context: "c", qas: [{ id: "q1", question: "?", answers: [{ text: 5 }] }] }],
          },
        ],
      }),
    );
    expect(() => loadSquadDataset(bad)).toThrow(
      /dev\.json record data\[0\]\.paragraphs\[0\]\.qas\[0\]: field answers\.0\.text/,
    );
    const dup = tempFile(
      "dup.json",
      JSON.stringify({
        data: [
          {
            title: "T",
            paragraphs: [
              {
                context: "c",
                qas: [
                  { id: "q", question: "?", answers: [] },
                  { id: "q", question: "?", answers: [] },
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(() => loadSquadDataset(dup)).toThrow(/duplicate question id q/);
    expect(() => loadSquadPredictions(tempFile("p.json", "[1,2]"))).toThrow(/must be one JSON object/);
    expect(() => loadSquadPredictions(tempFile("p.json", '{"q1": null}'))).toThrow(
      /prediction for question q1 must be a string, got null/,
    );
    expect(loadSquadPredictions(tempFile("p.json", '{"q1": "x"}')).get("q1")).toBe("x");
  });

  it("SummEval", () => {
    const good = {
      doc_id: "d",
      source: "s",
      reference: "r",
      references: ["r"],
      summaries: [
        {
          system: "M1",
          summary: "x",
          expert_scores: { coherence: 1, consistency: 2, fluency: 3, relevance: 4 },
        },
      ],
    };
    const badScore = structuredClone(good);
    badScore.summaries[0]!.expert_scores.coherence = 9;
    const path = tempFile("summeval.jsonl", `${JSON.stringify(good)}\n${JSON.stringify(badScore)}\n`);
    expect(() => loadSummEval(path)).toThrow(
      /summeval\.jsonl line 2: field summaries\.0\.expert_scores\.coherence/,
    );
    expect(() => loadSummEval(tempFile("s.jsonl", "{not json}\n"))).toThrow(/line 1 column 2: invalid JSON/);
  });

  it("STS-B", () => {
    expect(parseStsB("g\tf\ty\t1\t4.5\ta b\tc d\textra\tcols\r\n\n", "t.csv")).toEqual([
      { genre: "g", source: "f", years: "y", id: "1", score: 4.5, sentence1: "a b", sentence2: "c d" },
    ]);
    expect(() => parseStsB("g\tf\ty\t1\t4.5\tonly six", "t.csv")).toThrow(
      /t\.csv line 1: expected at least 7 tab-separated columns, got 6/,
    );
    expect(() => parseStsB('g\tf\ty\t1\t"5"\ta\tb', "t.csv")).toThrow(/line 1: field score/);
    expect(() => parseStsB("g\tf\ty\t1\t7\ta\tb", "t.csv")).toThrow(/expected a number in 0\.\.5, got "7"/);
  });

  it("AlpacaEval", () => {
    const judged = tempFile(
      "judged.jsonl",
      '{"idx": 0, "generator": "m", "output": "o", "preference": 2.5, "annotator": "a"}\n',
    );
    expect(() => loadAlpacaJudged(judged)).toThrow(/judged\.jsonl line 1: field preference/);
    const board = tempFile("board.csv", "name,win_rate\nx,1\n");
    expect(() => loadAlpacaLeaderboard(board)).toThrow(/missing column length_controlled_winrate/);
  });

  itWithData(
    "reads every shared dataset with the documented record counts",
    [
      "squad-v1.1/dev-v1.1.reconstructed.json",
      "summeval/summeval_expert.jsonl",
      "stsbenchmark/sts-test.csv",
      "alpaca-eval/reference_outputs_gpt4_1106_preview.jsonl",
      "mt-bench/question.jsonl",
    ],
    () => {
      const dir = resolveDataDir();
      const counts = {
        squad: loadSquadDataset(dataFile(dir, "squad-v1.1/dev-v1.1.reconstructed.json")).length,
        summeval: loadSummEval(dataFile(dir, "summeval/summeval_expert.jsonl")).length,
        stsTrain: loadStsB(dataFile(dir, "stsbenchmark/sts-train.csv")).length,
        stsDev: loadStsB(dataFile(dir, "stsbenchmark/sts-dev.csv")).length,
        stsTest: loadStsB(dataFile(dir, "stsbenchmark/sts-test.csv")).length,
        alpacaRefs: loadAlpacaReferences(
          dataFile(dir, "alpaca-eval/reference_outputs_gpt4_1106_preview.jsonl"),
        ).length,
        mtBench: loadMtBenchQuestions(dataFile(dir, "mt-bench/question.jsonl")).length,
        mtBenchRefs: loadMtBenchReferenceAnswers(dataFile(dir, "mt-bench/reference_answer_gpt-4.jsonl"))
          .length,
        judgePrompts: loadJudgePrompts(dataFile(dir, "mt-bench/judge_prompts.jsonl")).length,
      };
      expect(counts).toEqual({
        squad: 10570,
        summeval: 100,
        stsTrain: 5749,
        stsDev: 1500,
        stsTest: 1379,
        alpacaRefs: 805,
        mtBench: 80,
        mtBenchRefs: 30,
        judgePrompts: 8,
      });
    },
  );
});
