import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAiServer } from "../../node/http/openaiServer.ts";
import { itWithData } from "../../testing/sharedData.ts";
import { type Engine, generate } from "../engine.ts";
import { toGguf } from "../gguf/ggufWriter.ts";
import { PRESETS } from "../llama2c/generateModel.ts";
import { loadLlama2c, writeGeneratedModel } from "../llama2c/modelFiles.ts";
import { decode, encode } from "../llama2c/tokenizer.ts";
import { createOpenAiEngine } from "../openaiCompatible/openaiEngine.ts";
import { createEngine } from "../registry.ts";
import { createLlamaCppEngine } from "./llamaCppEngine.ts";

const dir = mkdtempSync(join(tmpdir(), "verinfer-llamacpp-"));
const TEMPLATE =
  "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}";

/** A generated model as llama2.c files and as GGUF (with a chat template). */
let tiny: { model: string; gguf: string };
let llamaCpp: Engine;
beforeAll(async () => {
  const { model } = writeGeneratedModel(join(dir, "tiny.bin"), PRESETS.small as never, 5);
  const m = loadLlama2c(model);
  const gguf = join(dir, "tiny.gguf");
  writeFileSync(gguf, toGguf(m.checkpoint, m.tokenizer, "tiny", { chatTemplate: TEMPLATE }));
  tiny = { model, gguf };
  llamaCpp = await createLlamaCppEngine(gguf);
});
afterAll(() => llamaCpp.close());

describe("llama.cpp engine", () => {
  itWithData(
    "reproduces run.c's 64 greedy tokens from the shared checkpoint converted to GGUF",
    [
      "llama2c/stories260K-plctlab-variant.bin",
      "llama2c/tok512.bin",
      "llama2c/stories260K-plctlab-variant.golden.json",
    ],
    async (modelPath, tokenizerPath, goldenPath) => {
      const golden = JSON.parse(readFileSync(goldenPath, "utf8")) as { greedy_ids: number[] };
      const m = loadLlama2c(modelPath, tokenizerPath);
      const gguf = join(dir, "stories260K.gguf");
      writeFileSync(gguf, toGguf(m.checkpoint, m.tokenizer, "stories260K"));
      const engine = await createLlamaCppEngine(gguf);
      try {
        const result = await generate(engine, { prompt: "", params: { maxTokens: 64 } });
        expect(result.promptTokenIds).toEqual([1]);
        expect(result.tokenIds).toEqual(golden.greedy_ids);
        expect(result.text).toBe(decode(m.tokenizer, golden.greedy_ids));
      } finally {
        await engine.close();
      }
    },
  );

  it("gives the same greedy tokens and text as the TS engine on a generated model", async () => {
    const ts = await createEngine({ engine: "ts", model: tiny.model });
    const request = { prompt: "Once upon a time", params: { maxTokens: 40 } };
    const [a, b] = [await generate(ts, request), await generate(llamaCpp, request)];
    expect(b.promptTokenIds).toEqual(a.promptTokenIds);
    expect(b.tokenIds).toEqual(a.tokenIds);
    expect(b.text).toBe(a.text);
    expect(b).toMatchObject({ engine: "llama-cpp", finishReason: a.finishReason, usage: a.usage });
    // Up to a full context: both return the token sampled at the last position (context − prompt + 1).
    const context = PRESETS.small?.seqLen as number;
    const full = { prompt: "Once upon a time, far away", params: { maxTokens: context } };
    const [c, d] = [await generate(ts, full), await generate(llamaCpp, full)];
    expect(c.usage?.completionTokens).toBe(context - (c.usage?.promptTokens as number) + 1);
    expect(d.tokenIds).toEqual(c.tokenIds);
    await ts.close();
  });

  it("renders chat messages with the GGUF's chat template, and samples reproducibly by seed", async () => {
    const m = loadLlama2c(tiny.model);
    const messages = [
      { role: "system" as const, content: "Be brief." },
      { role: "user" as const, content: "hi" },
    ];
    const chat = await generate(llamaCpp, { messages, params: { maxTokens: 4 } });
    // node-llama-cpp tokenizes the template's text segments one by one, so SentencePiece may add spaces.
    const rendered = decode(m.tokenizer, (chat.promptTokenIds ?? []).slice(1));
    expect(rendered).toMatch(/^ *\[system\] Be brief\. *\n *\[user\] hi *\n *\[assistant\] *$/);
    const plain = await generate(llamaCpp, { prompt: "user: hi\nassistant:", params: { maxTokens: 4 } });
    expect(plain.promptTokenIds).toEqual(encode(m.tokenizer, "user: hi\nassistant:", true));
    const sampled = { prompt: "x", params: { temperature: 1, topP: 0.95, maxTokens: 30 }, seed: 9 };
    const first = await generate(llamaCpp, sampled);
    expect((await generate(llamaCpp, sampled)).tokenIds).toEqual(first.tokenIds);
    expect((await generate(llamaCpp, { ...sampled, seed: 10 })).tokenIds).not.toEqual(first.tokenIds);
  });

  it("stops before stop strings and rejects traces, long prompts and unloadable files", async () => {
    const full = await generate(llamaCpp, { prompt: "a", params: { maxTokens: 30 } });
    const stop = full.text.slice(2, 4);
    const cut = await generate(llamaCpp, { prompt: "a", params: { maxTokens: 30, stop: [stop] } });
    expect(cut).toMatchObject({ text: full.text.slice(0, full.text.indexOf(stop)), finishReason: "stop" });
    await expect(generate(llamaCpp, { prompt: "a", trace: true })).rejects.toMatchObject({
      code: "GENERATION_INVALID",
    });
    await expect(generate(llamaCpp, { prompt: "a".repeat(600) })).rejects.toMatchObject({
      code: "GENERATION_INVALID",
      message: expect.stringContaining("the context is 256"),
    });
    await expect(createLlamaCppEngine(join(dir, "absent.gguf"))).rejects.toMatchObject({
      code: "FILE_NOT_FOUND",
    });
    const junk = join(dir, "junk.gguf");
    for (const [bytes, why] of [
      ["GGUF this is not a model", "version"],
      ["GGML", "shorter than a GGUF header"],
      [
        Buffer.concat([Buffer.from("GGUF"), Buffer.from([3, 0, 0, 0]), Buffer.alloc(16)]),
        "implausible counts",
      ],
      [readFileSync(tiny.gguf).subarray(0, 4096), "cannot load"],
    ] as const) {
      writeFileSync(junk, bytes);
      await expect(createLlamaCppEngine(junk)).rejects.toMatchObject({
        code: "MODEL_MALFORMED",
        message: expect.stringContaining(why),
      });
    }
  });

  it("serves over verinfer's OpenAI-compatible HTTP API, and the openai engine gets the same text", async () => {
    const app = createOpenAiServer({ engine: llamaCpp, servedModel: "tiny-gguf" });
    const baseUrl = `${await app.listen({ host: "127.0.0.1", port: 0 })}/v1`;
    try {
      const remote = await createOpenAiEngine({ baseUrl, timeoutMs: 10_000, maxRetries: 0, retryBaseMs: 0 });
      const messages = [{ role: "user" as const, content: "Tell me a story." }];
      for (const params of [{ maxTokens: 24 }, { maxTokens: 24, temperature: 0.8, topP: 0.9 }]) {
        const direct = await generate(llamaCpp, { messages, params, seed: 4 });
        const served = await generate(remote, { messages, params, seed: 4 });
        expect(served.text).toBe(direct.text);
        expect(served.usage).toEqual(direct.usage);
      }
    } finally {
      await app.close();
    }
  });
});
