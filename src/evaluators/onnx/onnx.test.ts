import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sharedFile } from "../../testing/sharedData.ts";
import {
  createBiEncoderEvaluator,
  createCrossEncoderEvaluator,
  crossEncoderHead,
  locateOnnxModel,
} from "./onnxEvaluators.ts";
import {
  toyBiEncoderOnnx,
  toyCrossEncoderOnnx,
  toyHidden,
  toyWeights,
  writeModelFolder,
} from "./testModels.ts";
import { loadWordPieceTokenizer, parseWordPieceTokenizer } from "./wordPiece.ts";

const TOKENIZER = "minilm-tokenizer/tokenizer.json";
const tokenizerPath = sharedFile(TOKENIZER);
const params = { maxTextChars: 10_000 };

describe.skipIf(tokenizerPath === null)(
  `WordPiece tokenizer from tokenizer.json [needs shared ${TOKENIZER}]`,
  () => {
    const tok = () => loadWordPieceTokenizer(tokenizerPath as string);

    it("encodes known bert-base-uncased examples", () => {
      const t = tok();
      expect(t.vocabSize).toBe(30522);
      expect(t.encode("Hello, world!").ids).toEqual([101, 7592, 1010, 2088, 999, 102]);
      // Greedy longest-match-first: "una" is in the uncased vocab and "##aff" is not (ids per vocab.txt lines).
      expect(t.tokenize("unaffable")).toEqual(["una", "##ffa", "##ble"]);
      expect(t.encode("unaffable").ids).toEqual([101, 14477, 20961, 3468, 102]);
      expect(t.tokenize("Héllo WORLD")).toEqual(["hello", "world"]);
      expect(t.tokenize("I'm")).toEqual(["i", "'", "m"]);
      expect(t.tokenize("中国")).toHaveLength(2);
      expect(t.tokenize("\u0000x\ufffd\u200b")).toEqual(["x"]);
      expect(t.tokenize("a".repeat(101))).toEqual(["[UNK]"]);
    });

    it("builds pairs with type ids and truncates longest first to 128", () => {
      const t = tok();
      const pair = t.encode("hello", "world");
      expect(pair.ids).toEqual([101, 7592, 102, 2088, 102]);
      expect(pair.typeIds).toEqual([0, 0, 0, 1, 1]);
      const long = t.encode("word ".repeat(300), "short text");
      expect(long.ids).toHaveLength(128);
      expect(long.ids.filter((id) => id === 102)).toHaveLength(2);
      expect(long.typeIds.filter((x) => x === 1)).toHaveLength(3);
    });

    it("rejects unsupported or malformed tokenizer files with TOKENIZER_INVALID", () => {
      expect(() => parseWordPieceTokenizer("{", "t.json")).toThrow(
        expect.objectContaining({ code: "TOKENIZER_INVALID" }),
      );
      expect(() => parseWordPieceTokenizer('{"model":{"type":"BPE","vocab":{}}}', "t.json")).toThrow(
        /unsupported tokenizer model BPE/,
      );
      expect(() =>
        parseWordPieceTokenizer('{"model":{"type":"WordPiece","vocab":{"a":1}}}', "t.json"),
      ).toThrow(/no \[UNK\]/);
    });
  },
);

describe.skipIf(tokenizerPath === null)(
  `ONNX evaluators on onnxruntime-node [needs shared ${TOKENIZER}]`,
  () => {
    const weights = toyWeights(30522, 8, 7);
    const dir = () => mkdtempSync(join(tmpdir(), "verinfer-onnx-"));

    it("bi-encoder: mean pooling + L2 normalization equals the TypeScript reference", async () => {
      const folder = writeModelFolder(dir(), toyBiEncoderOnnx(weights), tokenizerPath as string, {
        _name_or_path: "toy-bi",
      });
      const evaluator = await createBiEncoderEvaluator(folder, params);
      const tok = loadWordPieceTokenizer(tokenizerPath as string);
      const embed = (text: string) => {
        const e = tok.encode(text);
        const hs = toyHidden(weights, e.ids, e.typeIds);
        const v = new Float64Array(8);
        for (const h of hs)
          for (let k = 0; k < 8; k++) v[k] = (v[k] as number) + (h[k] as number) / hs.length;
        const n = Math.hypot(...v);
        return v.map((x) => x / n);
      };
      const cos = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * (b[i] as number), 0);
      const inputs = [
        { query: "q", output: "the cat sat on the mat", reference: "a cat was sitting on a mat" },
        {
          query: "q",
          output: "stock markets fell sharply",
          reference: ["the cat sat", "markets dropped a lot today"],
        },
        { query: "q", output: "identical text", reference: "identical text" },
      ];
      // Batched scoring pads to the longest sequence: the mask must keep pooling exact.
      const scores = await evaluator.scoreBatch(inputs);
      const expected = [
        10 * Math.max(0, cos(embed(inputs[0]!.output), embed("a cat was sitting on a mat"))),
        10 *
          Math.max(
            0,
            cos(embed(inputs[1]!.output), embed("the cat sat")),
            cos(embed(inputs[1]!.output), embed("markets dropped a lot today")),
          ),
        10,
      ];
      scores.forEach((s, i) => {
        expect(s.score).toBeCloseTo(expected[i] as number, 4);
        expect(s.costMs).toBeGreaterThan(0);
      });
      expect((await evaluator.score(inputs[0]!)).score).toBeCloseTo(expected[0] as number, 4);
      await expect(evaluator.score({ query: "q", output: "x" })).rejects.toMatchObject({
        code: "EVALUATOR_REFERENCE_REQUIRED",
      });
      await evaluator.close();
    });

    it("cross-encoder: sigmoid of the [CLS] logit of (reference, output)", async () => {
      const folder = writeModelFolder(dir(), toyCrossEncoderOnnx(weights), tokenizerPath as string, {
        num_labels: 1,
      });
      const evaluator = await createCrossEncoderEvaluator(folder, params);
      const tok = loadWordPieceTokenizer(tokenizerPath as string);
      const logit = (a: string, b: string) => {
        const e = tok.encode(a, b);
        const cls = toyHidden(weights, e.ids, e.typeIds)[0] as Float32Array;
        return cls.reduce((s, x, k) => s + x * (weights.head[k] as number), 0);
      };
      const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
      const inputs = [
        { query: "q", output: "paris is the capital", reference: "what is the capital of france" },
        {
          query: "q",
          output: "bananas",
          reference: "a much longer reference sentence about something else entirely",
        },
      ];
      const scores = await evaluator.scoreBatch(inputs);
      for (const [i, s] of scores.entries()) {
        expect(s.score).toBeCloseTo(10 * sigmoid(logit(inputs[i]!.reference, inputs[i]!.output)), 4);
      }
      await evaluator.close();
    });

    it("reads the cross-encoder head from config.json", () => {
      expect(crossEncoderHead({})).toEqual({ kind: "sigmoid" });
      expect(
        crossEncoderHead({ sbert_ce_default_activation_function: "torch.nn.modules.linear.Identity" }),
      ).toEqual({ kind: "identity" });
      expect(
        crossEncoderHead({ id2label: { "0": "contradiction", "1": "entailment", "2": "neutral" } }),
      ).toEqual({ kind: "entailment", index: 1 });
    });

    it("rejects incomplete folders, corrupt graphs and wrong outputs with EVALUATOR_MODEL_INVALID", async () => {
      const empty = dir();
      expect(() => locateOnnxModel(empty)).toThrow(/lacks onnx\/model.onnx, tokenizer.json, config.json/);
      expect(() => locateOnnxModel(join(empty, "nope"))).toThrow(
        expect.objectContaining({ code: "EVALUATOR_MODEL_INVALID" }),
      );
      const corrupt = writeModelFolder(dir(), new Uint8Array([1, 2, 3, 4]), tokenizerPath as string, {});
      await expect(createBiEncoderEvaluator(corrupt, params)).rejects.toMatchObject({
        code: "EVALUATOR_MODEL_INVALID",
      });
      const bi = writeModelFolder(dir(), toyBiEncoderOnnx(weights), tokenizerPath as string, {});
      await expect(createCrossEncoderEvaluator(bi, params)).rejects.toThrow(/must output one of logits/);
      const badConfig = writeModelFolder(dir(), toyBiEncoderOnnx(weights), tokenizerPath as string, {});
      writeFileSync(join(badConfig, "config.json"), "[1]");
      expect(() => locateOnnxModel(badConfig)).toThrow(/must be a JSON object/);
      expect(readFileSync(join(bi, "tokenizer.json")).length).toBeGreaterThan(1000);
    });
  },
);
