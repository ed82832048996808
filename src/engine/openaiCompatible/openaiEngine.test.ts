import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createOpenAiServer } from "../../node/http/openaiServer.ts";
import { type ChatServer, startChatServer } from "../../testing/chatServer.ts";
import { type Engine, type GenerateRequest, generate } from "../engine.ts";
import { PRESETS } from "../llama2c/generateModel.ts";
import { writeGeneratedModel } from "../llama2c/modelFiles.ts";
import { createEngine } from "../registry.ts";
import { chatCompletion, listModels, streamChatCompletion } from "./chatClient.ts";
import { createOpenAiEngine } from "./openaiEngine.ts";

const FAST = { timeoutMs: 2_000, maxRetries: 2, retryBaseMs: 5 };
const request: GenerateRequest = { prompt: "Once upon a time", params: { maxTokens: 24 }, seed: 3 };

/** The TS engine on a generated model, served by verinfer's own OpenAI-compatible server on loopback. */
let local: Engine;
let baseUrl: string;
let close: () => Promise<void>;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "verinfer-openai-"));
  const { model } = writeGeneratedModel(join(dir, "tiny.bin"), PRESETS.tiny as never, 1);
  local = await createEngine({ engine: "ts", model });
  const served = await createEngine({ engine: "ts", model });
  const app = createOpenAiServer({ engine: served, servedModel: "tiny", apiKey: "sekret" });
  baseUrl = `${await app.listen({ host: "127.0.0.1", port: 0 })}/v1`;
  close = () => app.close().then(() => undefined);
});
afterAll(() => close());

let scripted: ChatServer | null = null;
afterEach(async () => {
  await scripted?.close();
  scripted = null;
});

const sse = (events: unknown[], done = true) =>
  `${events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join("")}${done ? "data: [DONE]\n\n" : ""}`;
const SSE = { "content-type": "text/event-stream" };

describe("openai engine against verinfer serve on loopback", () => {
  it("streams the same text as the engine it serves, with usage and finish reason", async () => {
    const direct = await generate(local, {
      messages: [{ role: "user", content: "Once upon a time" }],
      params: { maxTokens: 24 },
      seed: 3,
    });
    const engine = await createOpenAiEngine({ baseUrl, apiKey: "sekret", ...FAST });
    expect(engine.info).toMatchObject({ name: "openai", model: "tiny", traces: false });
    const chunks: string[] = [];
    const it = engine.stream(request);
    let next = await it.next();
    while (!next.done) {
      chunks.push(next.value.text);
      next = await it.next();
    }
    const result = next.value;
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join("")).toBe(result.text);
    expect(result.text).toBe(direct.text);
    expect(result.usage).toEqual(direct.usage);
    expect(result.finishReason).toBe(direct.finishReason === "length" ? "length" : "stop");
    expect(result.tokenIds).toBeNull();
    expect(result.timings.tokensPerSecond).toBeGreaterThan(0);
  });

  it("passes temperature, top-p, seed and stop strings through, and non-streaming agrees", async () => {
    const endpoint = { baseUrl, model: "tiny", apiKey: "sekret", ...FAST };
    const messages = [{ role: "user" as const, content: "hello" }];
    const sampled = { messages, temperature: 1, topP: 0.9, maxTokens: 20, seed: 11 };
    const whole = await chatCompletion(endpoint, sampled);
    const streamed = streamChatCompletion(endpoint, sampled);
    let next = await streamed.next();
    while (!next.done) next = await streamed.next();
    expect(next.value.content).toBe(whole.content);
    expect(whole.usage?.completionTokens).toBe(20);
    expect(whole.finishReason).toBe("length");
    const direct = await generate(local, {
      messages,
      params: { temperature: 1, topP: 0.9, maxTokens: 20 },
      seed: 11,
    });
    expect(whole.content).toBe(direct.text);
    // Stop before the second character of the greedy output: the reply is cut there, finish "stop".
    const greedy = await chatCompletion(endpoint, { messages, maxTokens: 20 });
    const stop = greedy.content.slice(1, 3);
    const cut = await chatCompletion(endpoint, { messages, maxTokens: 20, stop: [stop] });
    expect(cut.content).toBe(greedy.content.slice(0, greedy.content.indexOf(stop)));
    expect(cut.finishReason).toBe("stop");
  });

  it("lists the served model, and reports wrong keys, unknown models and bad parameters without retrying", async () => {
    expect(await listModels({ baseUrl, apiKey: "sekret", ...FAST })).toEqual(["tiny"]);
    await expect(createOpenAiEngine({ baseUrl, apiKey: "wrong", ...FAST })).rejects.toMatchObject({
      code: "UPSTREAM_HTTP_ERROR",
      details: { status: 401 },
    });
    const other = await createOpenAiEngine({ baseUrl, apiKey: "sekret", model: "llama-70b", ...FAST });
    await expect(generate(other, request)).rejects.toMatchObject({
      code: "UPSTREAM_HTTP_ERROR",
      message: expect.stringContaining("MODEL_NOT_SERVED"),
      details: { status: 404 },
    });
    const engine = await createOpenAiEngine({ baseUrl, apiKey: "sekret", ...FAST });
    await expect(generate(engine, { prompt: "x", params: { maxTokens: 10_000 } })).rejects.toMatchObject({
      code: "UPSTREAM_HTTP_ERROR",
      message: expect.stringContaining("exceeds the model's context"),
      details: { status: 400 },
    });
    await expect(generate(engine, { prompt: "x", trace: true })).rejects.toMatchObject({
      code: "GENERATION_INVALID",
    });
  });
});

describe("openai client failures", () => {
  it("reports a refused connection after its retries", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const engine = await createOpenAiEngine({ baseUrl: `http://127.0.0.1:${port}/v1`, model: "m", ...FAST });
    await expect(generate(engine, request)).rejects.toMatchObject({
      code: "UPSTREAM_CONNECTION_FAILED",
      message: expect.stringMatching(/ECONNREFUSED.*after 3 attempts/),
    });
  });

  it("retries 503 and 429 before the stream starts, then streams", async () => {
    scripted = await startChatServer([
      { status: 503, raw: "busy" },
      { status: 429, raw: "slow down", headers: { "retry-after": "0" } },
      {
        headers: SSE,
        raw: sse([
          { model: "m", choices: [{ delta: { role: "assistant", content: "" } }] },
          { choices: [{ delta: { content: "Hel" } }] },
          { choices: [{ delta: { content: "lo" }, finish_reason: "stop" }] },
          { choices: [], usage: { prompt_tokens: 3, completion_tokens: 2 } },
        ]),
      },
    ]);
    const engine = await createOpenAiEngine({ baseUrl: scripted.baseUrl, model: "m", ...FAST });
    const result = await generate(engine, request);
    expect(result).toMatchObject({
      text: "Hello",
      finishReason: "stop",
      usage: { promptTokens: 3, completionTokens: 2 },
    });
    expect(scripted.requests).toHaveLength(3);
    expect(scripted.requests[2]?.body).toMatchObject({
      model: "m",
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 24,
      seed: 3,
      temperature: 0,
      top_p: 1,
      messages: [{ role: "user", content: "Once upon a time" }],
    });
  });

  it("accepts a server that ignores stream and answers JSON, and one that sends no usage", async () => {
    scripted = await startChatServer([
      { content: "plain" },
      { headers: SSE, raw: sse([{ choices: [{ delta: { content: "x" }, finish_reason: "length" }] }]) },
    ]);
    const engine = await createOpenAiEngine({ baseUrl: scripted.baseUrl, model: "m", ...FAST });
    expect(await generate(engine, request)).toMatchObject({ text: "plain", usage: { completionTokens: 5 } });
    const bare = await generate(engine, request);
    expect(bare).toMatchObject({ text: "x", finishReason: "length", usage: null });
    expect(bare.timings.tokensPerSecond).toBeNull();
  });

  it("rejects malformed replies with UPSTREAM_REPLY_INVALID, and error events with UPSTREAM_STREAM_ERROR", async () => {
    const cases: [string, object][] = [
      [
        "data: {not json\n\n",
        { code: "UPSTREAM_REPLY_INVALID", message: expect.stringContaining("not JSON") },
      ],
      [
        "data: [1,2]\n\n",
        { code: "UPSTREAM_REPLY_INVALID", message: expect.stringContaining("not a JSON object") },
      ],
      [
        sse([{ choices: [{ delta: { content: "a" } }] }], false),
        { code: "UPSTREAM_REPLY_INVALID", message: expect.stringContaining("before a finish reason") },
      ],
      ["", { code: "UPSTREAM_REPLY_INVALID", message: expect.stringContaining("without any event") }],
      [
        sse([{ error: { message: "out of memory" } }]),
        { code: "UPSTREAM_STREAM_ERROR", message: expect.stringContaining("out of memory") },
      ],
    ];
    scripted = await startChatServer(cases.map(([raw]) => ({ headers: SSE, raw })));
    const engine = await createOpenAiEngine({ baseUrl: scripted.baseUrl, model: "m", ...FAST });
    for (const [, expected] of cases) await expect(generate(engine, request)).rejects.toMatchObject(expected);
    // A JSON reply without choices[0].message.content is rejected too.
    await scripted.close();
    scripted = await startChatServer([{ raw: '{"choices": []}' }]);
    const json = await createOpenAiEngine({ baseUrl: scripted.baseUrl, model: "m", ...FAST });
    await expect(generate(json, request)).rejects.toMatchObject({ code: "UPSTREAM_REPLY_INVALID" });
  });

  it("reports a stream cut mid-reply without retrying, and a stalled server as a timeout", async () => {
    scripted = await startChatServer([
      { headers: SSE, raw: sse([{ choices: [{ delta: { content: "par" } }] }], false), hangUp: true },
      { delayMs: 1_000, content: "late" },
    ]);
    const engine = await createOpenAiEngine({ baseUrl: scripted.baseUrl, model: "m", ...FAST });
    await expect(generate(engine, request)).rejects.toMatchObject({
      code: "UPSTREAM_CONNECTION_FAILED",
      message: expect.stringContaining("mid-stream"),
    });
    expect(scripted.requests).toHaveLength(1);
    const slow = await createOpenAiEngine({
      baseUrl: scripted.baseUrl,
      model: "m",
      timeoutMs: 200,
      maxRetries: 1,
      retryBaseMs: 5,
    });
    await expect(generate(slow, request)).rejects.toMatchObject({
      code: "UPSTREAM_TIMEOUT",
      message: expect.stringContaining("after 2 attempts"),
    });
  });

  it("needs a served model name when the server serves several, and checks the base URL", async () => {
    scripted = await startChatServer([{ raw: JSON.stringify({ data: [{ id: "a" }, { id: "b" }] }) }]);
    await expect(createOpenAiEngine({ baseUrl: scripted.baseUrl, ...FAST })).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringContaining("several models (a, b)"),
    });
    await expect(createOpenAiEngine({ baseUrl: "ftp://x", ...FAST })).rejects.toMatchObject({
      code: "CONFIG_INVALID",
    });
    await expect(
      createEngine({ engine: "openai", model: "not a url", servedModel: "m" }),
    ).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringContaining("is not a URL"),
    });
    await expect(
      createEngine({ engine: "openai", model: "http://127.0.0.1:1/v1", timeoutMs: 5 } as never),
    ).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringContaining("timeoutMs"),
    });
  });
});
