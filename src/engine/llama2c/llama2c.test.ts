import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRng } from "../../protocol/rng/prng.ts";
import { itWithData } from "../../testing/sharedData.ts";
import { generate, StopMatcher } from "../engine.ts";
import { sampleToken } from "../sampler.ts";
import { byteTokenizerFile } from "./byteTokenizer.ts";
import { parseCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import { FloatTransformer } from "./floatTransformer.ts";
import { generateCheckpoint, PRESETS, randomWeights } from "./generateModel.ts";
import { createLlama2cEngine } from "./llama2cEngine.ts";
import { decode, encode, minTokens, parseTokenizer, type Tokenizer } from "./tokenizer.ts";

/** run.c's own merge loop, verbatim in spirit: rescan every pair, merge the leftmost best, repeat. */
function encodeLikeRunC(t: Tokenizer, text: string): number[] {
  const ids: number[] = [];
  const bytes = new TextEncoder().encode(text);
  const space = t.lookup.get(" ");
  if (bytes.length > 0 && space !== undefined) ids.push(space);
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i] as number;
    const n = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    const cp = String.fromCharCode(...bytes.subarray(i, Math.min(i + n, bytes.length)));
    const id = t.lookup.get(cp);
    if (id !== undefined) ids.push(id);
    else for (let k = 0; k < cp.length; k++) ids.push(cp.charCodeAt(k) + 3);
    i += n;
  }
  for (;;) {
    let best = -1e10;
    let at = -1;
    let bestId = -1;
    for (let i = 0; i + 1 < ids.length; i++) {
      const m = t.lookup.get(
        (t.pieces[ids[i] as number] as string) + (t.pieces[ids[i + 1] as number] as string),
      );
      if (m !== undefined && (t.scores[m] as number) > best) {
        best = t.scores[m] as number;
        at = i;
        bestId = m;
      }
    }
    if (at < 0) return [1, ...ids];
    ids.splice(at, 2, bestId);
  }
}

const MODEL = "llama2c/stories260K-plctlab-variant.bin";
const GOLDEN = "llama2c/stories260K-plctlab-variant.golden.json";

describe("llama2.c float engine", () => {
  itWithData(
    "reproduces run.c's 64 greedy tokens and position-0 logits",
    [MODEL, GOLDEN],
    (modelPath, goldenPath) => {
      const ck = parseCheckpoint(new Uint8Array(readFileSync(modelPath)));
      if (!ck.ok) throw new Error(ck.error.message);
      const golden = JSON.parse(readFileSync(goldenPath, "utf8"));
      expect(ck.value.config).toMatchObject({
        dim: 64,
        hiddenDim: 172,
        nLayers: 5,
        nHeads: 8,
        nKvHeads: 4,
        vocabSize: 512,
        seqLen: 512,
        sharedClassifier: true,
      });
      const m = new FloatTransformer(ck.value);
      let token = 1;
      const ids: number[] = [];
      for (let pos = 0; pos < 64; pos++) {
        const logits = m.forward(token, pos);
        if (pos === 0)
          for (let i = 0; i < 512; i++)
            expect(Math.abs((logits[i] as number) - golden.logits_pos0[i])).toBeLessThan(1e-4);
        let best = 0;
        for (let i = 1; i < logits.length; i++)
          if ((logits[i] as number) > (logits[best] as number)) best = i;
        ids.push(best);
        token = best;
      }
      expect(ids).toEqual(golden.greedy_ids);
    },
  );

  itWithData(
    "encodes the Llama 2 tokenizer cases exactly and decodes them back",
    ["llama2c/tokenizer.bin", "llama2c/tokenizer.encode-cases.json"],
    (tokPath, casesPath) => {
      const tk = parseTokenizer(new Uint8Array(readFileSync(tokPath)), 32000);
      if (!tk.ok) throw new Error(tk.error.message);
      for (const c of JSON.parse(readFileSync(casesPath, "utf8")).cases) {
        const ids = encode(tk.value, c.text);
        expect(ids).toEqual(c.ids);
        expect(decode(tk.value, ids.slice(1))).toBe(c.text === "" ? "" : c.text);
      }
      expect(parseTokenizer(new Uint8Array(readFileSync(tokPath)), 31999)).toMatchObject({
        ok: false,
        error: { code: "MODEL_MALFORMED", message: /after 31999 tokens/ },
      });
    },
  );

  itWithData(
    "the heap encoder equals run.c's quadratic merge loop on random text (Llama 2 and tok512 vocabularies)",
    ["llama2c/tokenizer.bin", "llama2c/tok512.bin"],
    (big, small) => {
      const tokenizers = [
        parseTokenizer(new Uint8Array(readFileSync(big)), 32000),
        parseTokenizer(new Uint8Array(readFileSync(small)), 512),
      ].map((v) => {
        if (!v.ok) throw new Error(v.error.message);
        return v.value;
      });
      // Words, repeats (many equal-score ties), spaces, multi-byte and unknown code points.
      const pieces = fc.constantFrom(
        "the",
        " ",
        "  ",
        "aaaa",
        "ab",
        "ba",
        "ing",
        "é",
        "日本",
        "🦙",
        "\n",
        "\t",
        "x",
        "Once upon",
      );
      const text = fc.oneof(
        fc.array(pieces, { maxLength: 40 }).map((a) => a.join("")),
        fc.string({ maxLength: 60 }),
      );
      fc.assert(
        fc.property(text, fc.integer({ min: 0, max: 1 }), (s, which) => {
          const t = tokenizers[which] as Tokenizer;
          expect(encode(t, s)).toEqual(encodeLikeRunC(t, s));
          expect(encode(t, s).length).toBeGreaterThanOrEqual(minTokens(t, s));
        }),
        { numRuns: 400, seed: 7 },
      );
    },
  );

  it("rejects truncated, padded and malformed checkpoints with the reason", () => {
    const bytes = generateCheckpoint(PRESETS.tiny!, 1);
    expect(parseCheckpoint(bytes).ok).toBe(true);
    expect(parseCheckpoint(bytes.subarray(0, bytes.length - 4))).toMatchObject({
      ok: false,
      error: { code: "MODEL_MALFORMED", message: /truncated/ },
    });
    expect(parseCheckpoint(new Uint8Array([...bytes, 0, 0, 0, 0]))).toMatchObject({
      ok: false,
      error: { message: /trailing bytes/ },
    });
    expect(parseCheckpoint(bytes.subarray(0, 10))).toMatchObject({
      ok: false,
      error: { message: /28-byte header/ },
    });
    const badShape = Uint8Array.from(bytes);
    new DataView(badShape.buffer).setInt32(12, 5, true); // 5 heads do not divide dim 64
    expect(parseCheckpoint(badShape)).toMatchObject({
      ok: false,
      error: { message: /not a multiple of n_heads/ },
    });
    const v2 = new Uint8Array(256);
    new DataView(v2.buffer).setUint32(0, 0x616b3432, true);
    new DataView(v2.buffer).setInt32(4, 2, true);
    expect(parseCheckpoint(v2)).toMatchObject({ ok: false, error: { code: "MODEL_UNSUPPORTED" } });
    const nan = Uint8Array.from(bytes);
    new DataView(nan.buffer).setFloat32(28, Number.NaN, true);
    expect(parseCheckpoint(nan)).toMatchObject({ ok: false, error: { message: /non-finite/ } });
  });

  it("writes what it reads, and seeded models are reproducible", () => {
    const config = PRESETS.tiny!;
    const a = generateCheckpoint(config, 3);
    expect(generateCheckpoint(config, 3)).toEqual(a);
    expect(generateCheckpoint(config, 4)).not.toEqual(a);
    const ck = parseCheckpoint(a);
    if (!ck.ok) throw new Error(ck.error.message);
    expect(writeCheckpoint(ck.value.config, ck.value.weights)).toEqual(a);
    expect(ck.value.weights.wq).toEqual(randomWeights(config, 3).wq);
  });
});

describe("generation", () => {
  const config = PRESETS.tiny!;
  const ck = parseCheckpoint(generateCheckpoint(config, 1));
  const tk = parseTokenizer(byteTokenizerFile(config.vocabSize), config.vocabSize);
  if (!ck.ok || !tk.ok) throw new Error("fixture");
  const engine = createLlama2cEngine(new FloatTransformer(ck.value), tk.value, {
    name: "ts",
    model: "tiny",
    deterministic: false,
    traces: false,
  });

  it("streams chunks that add up to the result, deterministically per seed", async () => {
    const request = { prompt: "hi", params: { temperature: 1, maxTokens: 30 }, seed: 7 };
    const chunks: string[] = [];
    const it = engine.stream(request);
    let result = await it.next();
    while (!result.done) {
      chunks.push(result.value.text);
      result = await it.next();
    }
    expect(chunks.join("")).toBe(result.value.text);
    expect(result.value).toMatchObject({ usage: { promptTokens: 4 }, seed: 7 });
    expect(result.value.usage?.completionTokens).toBe(result.value.tokenIds?.length);
    expect(["length", "eos"]).toContain(result.value.finishReason);
    expect((await generate(engine, request)).tokenIds).toEqual(result.value.tokenIds);
    expect((await generate(engine, { ...request, seed: 8 })).tokenIds).not.toEqual(result.value.tokenIds);
  });

  it("stops at stop strings and at the context, and rejects bad requests", async () => {
    const greedy = await generate(engine, { prompt: "x", params: { maxTokens: 20 } });
    const stop = greedy.text.slice(3, 5);
    const stopped = await generate(engine, { prompt: "x", params: { maxTokens: 20, stop: [stop] } });
    expect(stopped.finishReason).toBe("stop");
    expect(stopped.text).toBe(greedy.text.slice(0, greedy.text.indexOf(stop)));
    // Like run.c, the token sampled at the last position is returned though it cannot be fed.
    const full = await generate(engine, { prompt: "x", params: { maxTokens: 128 } });
    expect(full).toMatchObject({ finishReason: "length", usage: { promptTokens: 3, completionTokens: 126 } });
    await expect(generate(engine, { prompt: "x", params: { temperature: -1 } })).rejects.toThrow(
      /temperature must be in/,
    );
    await expect(generate(engine, { prompt: "x", params: { maxTokens: 1000 } })).rejects.toThrow(
      /exceeds the model's context/,
    );
    await expect(generate(engine, { prompt: "x".repeat(200) })).rejects.toThrow(/the prompt is 202 tokens/);
    await expect(generate(engine, {})).rejects.toThrow(/exactly one of prompt and messages/);
    await expect(generate(engine, { prompt: "x", trace: true })).rejects.toThrow(
      /does not record execution traces/,
    );
  });

  it("checks for cancellation before every forward pass, prompt included, and rejects a huge prompt before encoding it", async () => {
    let polls = 0;
    let forwards = 0;
    const transformer = new FloatTransformer(ck.value);
    const counting = {
      config: transformer.config,
      forward: (token: number, pos: number) => {
        forwards++;
        return transformer.forward(token, pos);
      },
    };
    for (const stopAt of [2, 9]) {
      polls = 0;
      forwards = 0;
      const interruptible = createLlama2cEngine(
        counting,
        tk.value,
        { name: "ts", model: "tiny", deterministic: false, traces: false },
        { interrupted: () => ++polls > stopAt },
      );
      // "hello" is 7 prompt positions: the first stop lands in the prompt, the second in generation.
      await expect(
        generate(interruptible, { prompt: "hello", params: { maxTokens: 50 } }),
      ).rejects.toMatchObject({
        code: "GENERATION_CANCELLED",
      });
      expect(forwards).toBe(stopAt);
    }
    const aborted = new AbortController();
    aborted.abort();
    await expect(generate(engine, { prompt: "x", signal: aborted.signal })).rejects.toMatchObject({
      code: "GENERATION_CANCELLED",
    });
    await expect(generate(engine, { prompt: "x".repeat(1_000_000) })).rejects.toThrow(
      /the prompt is at least \d+ tokens; the model's context is 128/,
    );
  });

  it("stop matching holds back partial matches", () => {
    const m = new StopMatcher(["END"]);
    expect(m.push("abcE")).toEqual({ emit: "abc", stopped: false });
    expect(m.push("N")).toEqual({ emit: "", stopped: false });
    expect(m.push("Dx")).toEqual({ emit: "", stopped: true });
    const n = new StopMatcher(["END"]);
    expect(n.push("aE")).toEqual({ emit: "a", stopped: false });
    expect(n.push("x")).toEqual({ emit: "Ex", stopped: false });
  });

  it("samples like run.c: greedy takes the first maximum, top-p keeps the nucleus", () => {
    expect(sampleToken([1, 3, 3, 2], 0, 1, createRng(1))).toBe(1);
    const logits = [10, 9, -10, -10];
    const counts = [0, 0, 0, 0];
    const rng = createRng(2);
    for (let i = 0; i < 2000; i++) counts[sampleToken(logits, 1, 0.5, rng)]! += 1;
    expect(counts).toEqual([2000, 0, 0, 0]);
    const all = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) all[sampleToken(logits, 1, 1, rng)]! += 1;
    expect(all[1]! / 4000).toBeGreaterThan(0.2);
    expect(all[2]).toBe(0);
  });
});
