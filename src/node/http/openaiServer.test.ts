import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine, GenerateRequest } from "../../engine/engine.ts";
import { PRESETS } from "../../engine/llama2c/generateModel.ts";
import { writeGeneratedModel } from "../../engine/llama2c/modelFiles.ts";
import { createEngine } from "../../engine/registry.ts";
import { createOpenAiServer } from "./openaiServer.ts";

let engine: Engine;
beforeAll(async () => {
  const { model } = writeGeneratedModel(
    join(mkdtempSync(join(tmpdir(), "verinfer-serve-")), "tiny.bin"),
    PRESETS.tiny as never,
    2,
  );
  engine = await createEngine({ engine: "ts", model });
});
afterAll(() => engine.close());

const chat = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST" as const,
  url: "/v1/chat/completions",
  headers: { "content-type": "application/json", ...headers },
  payload: typeof body === "string" ? body : JSON.stringify(body),
});
const hello = { model: "tiny", messages: [{ role: "user", content: "hello" }], max_tokens: 8 };

/** The engine, but each request's stream waits for `open()` before it starts, and chunks are counted. */
function gated(inner: Engine) {
  let open: () => void = () => {};
  let gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const counts = { started: 0, chunks: 0 };
  const wrapped: Engine = {
    info: inner.info,
    async *stream(request: GenerateRequest) {
      counts.started++;
      await gate;
      const it = inner.stream(request);
      let next = await it.next();
      while (!next.done) {
        counts.chunks++;
        yield next.value;
        await new Promise((r) => setTimeout(r, 5));
        next = await it.next();
      }
      return next.value;
    },
    close: () => inner.close(),
  };
  return {
    engine: wrapped,
    counts,
    open: () => open(),
    close: () => {
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
    },
  };
}

describe("OpenAI-compatible server", () => {
  it("answers health, models and completions in OpenAI's shapes", async () => {
    const app = createOpenAiServer({ engine, servedModel: "tiny" });
    expect((await app.inject({ url: "/health" })).json()).toEqual({ ok: true, engine: "ts", model: "tiny" });
    expect((await app.inject({ url: "/v1/models" })).json()).toMatchObject({
      object: "list",
      data: [{ id: "tiny", object: "model" }],
    });
    const reply = await app.inject(chat(hello));
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toMatchObject({
      object: "chat.completion",
      model: "tiny",
      choices: [
        { index: 0, message: { role: "assistant", content: expect.any(String) }, finish_reason: "length" },
      ],
      usage: { completion_tokens: 8, total_tokens: expect.any(Number) },
    });
    // Content parts, the "developer" role, nulls for unset fields and unknown fields are accepted.
    const lenient = await app.inject(
      chat({
        messages: [
          { role: "developer", content: [{ type: "text", text: "be brief" }] },
          { role: "user", content: "hi" },
        ],
        max_tokens: 4,
        temperature: null,
        stop: null,
        user: "someone",
        logit_bias: {},
      }),
    );
    expect(lenient.statusCode).toBe(200);
  });

  it("streams server-sent events: role, content deltas, finish reason, usage, [DONE]", async () => {
    const app = createOpenAiServer({ engine, servedModel: "tiny" });
    const reply = await app.inject(chat({ ...hello, stream: true, stream_options: { include_usage: true } }));
    expect(reply.headers["content-type"]).toMatch(/^text\/event-stream/);
    const events = reply.body.split("\n\n").filter(Boolean);
    expect(events.at(-1)).toBe("data: [DONE]");
    const json = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, "")));
    expect(json[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
    const text = json.map((e) => e.choices[0]?.delta?.content ?? "").join("");
    expect(text).toBe((await app.inject(chat(hello))).json().choices[0].message.content);
    expect(json.at(-2).choices[0].finish_reason).toBe("length");
    expect(json.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 8 } });
  });

  it("rejects malformed requests with a code, a message and OpenAI's error shape", async () => {
    const app = createOpenAiServer({ engine, servedModel: "tiny", bodyLimit: 10_000 });
    const cases: [ReturnType<typeof chat> | { url: string }, number, string, RegExp][] = [
      [chat("{bad json"), 400, "API_REQUEST_INVALID", /not valid JSON/],
      [
        { ...chat(hello), headers: { "content-type": "application/xml" } },
        415,
        "API_REQUEST_INVALID",
        /application\/json/,
      ],
      [chat({ messages: [] }), 400, "API_REQUEST_INVALID", /messages: .*>=1/],
      [chat({ ...hello, temperature: 3, n: 2 }), 400, "API_REQUEST_INVALID", /temperature.*n: only n = 1/],
      [chat({ messages: [{ role: "tool", content: "x" }] }), 400, "API_REQUEST_INVALID", /messages\.0\.role/],
      [chat({ ...hello, seed: -1 }), 400, "API_REQUEST_INVALID", /seed/],
      [chat({ ...hello, stop: Array(17).fill("x") }), 400, "API_REQUEST_INVALID", /stop/],
      [chat({ ...hello, max_tokens: 5000 }), 400, "GENERATION_INVALID", /context of 128/],
      [chat({ ...hello, model: "gpt-4" }), 404, "MODEL_NOT_SERVED", /serves "tiny", not "gpt-4"/],
      [
        chat({ messages: [{ role: "user", content: "x".repeat(20_000) }] }),
        413,
        "INPUT_TOO_LARGE",
        /too large/i,
      ],
      [{ url: "/v1/completions" }, 404, "API_ROUTE_UNKNOWN", /no route GET \/v1\/completions/],
    ];
    for (const [request, status, code, message] of cases) {
      const reply = await app.inject(request);
      expect(reply.statusCode, code).toBe(status);
      expect(reply.json().error, code).toMatchObject({ code, message: expect.stringMatching(message) });
    }
    // Nothing was lost: the server still answers.
    expect((await app.inject(chat(hello))).statusCode).toBe(200);
  });

  it("requires the API key on /v1 when one is set, not on /health", async () => {
    const app = createOpenAiServer({ engine, servedModel: "tiny", apiKey: "k1" });
    expect((await app.inject(chat(hello))).json().error).toMatchObject({
      code: "API_UNAUTHORIZED",
      type: "authentication_error",
    });
    expect((await app.inject(chat(hello, { authorization: "Bearer k2" }))).statusCode).toBe(401);
    expect((await app.inject({ url: "/v1/models" })).statusCode).toBe(401);
    expect((await app.inject(chat(hello, { authorization: "Bearer k1" }))).statusCode).toBe(200);
    expect((await app.inject({ url: "/health" })).statusCode).toBe(200);
  });

  it("runs one generation at a time, queues up to max-queue and answers 503 beyond", async () => {
    const g = gated(engine);
    const app = createOpenAiServer({ engine: g.engine, servedModel: "tiny", maxQueue: 1 });
    const first = app.inject(chat(hello));
    const second = app.inject(chat(hello));
    await new Promise((r) => setTimeout(r, 50));
    expect(g.counts.started).toBe(1);
    const third = await app.inject(chat(hello));
    expect(third.statusCode).toBe(503);
    expect(third.headers["retry-after"]).toBe("1");
    expect(third.json().error).toMatchObject({ code: "API_BUSY" });
    g.open();
    const [a, b] = await Promise.all([first, second]);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    expect(a.json().choices[0].message.content).toBe(b.json().choices[0].message.content);
  });

  it("stops a streamed generation when the client hangs up, and serves the next request", async () => {
    const g = gated(engine);
    g.open();
    const app = createOpenAiServer({ engine: g.engine, servedModel: "tiny" });
    const baseUrl = await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      const abort = new AbortController();
      const response = await fetch(`${baseUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...hello, max_tokens: 120, stream: true }),
        signal: abort.signal,
      });
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      abort.abort();
      await new Promise((r) => setTimeout(r, 100));
      const chunksAtHangUp = g.counts.chunks;
      await new Promise((r) => setTimeout(r, 200));
      expect(g.counts.chunks).toBe(chunksAtHangUp);
      expect(chunksAtHangUp).toBeLessThan(60);
      const next = await fetch(`${baseUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(hello),
      });
      expect(next.status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
