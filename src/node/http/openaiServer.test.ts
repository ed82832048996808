import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../engine/engine.ts";
import { PRESETS } from "../../engine/llama2c/generateModel.ts";
import { writeGeneratedModel } from "../../engine/llama2c/modelFiles.ts";
import { createEngine } from "../../engine/registry.ts";
import { createOpenAiServer } from "./openaiServer.ts";

let engine: Engine;
/** stories15M's shape: a full-context generation takes about a second, long enough to watch. */
let model15m: string;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "verinfer-serve-"));
  const { model } = writeGeneratedModel(join(dir, "tiny.bin"), PRESETS.tiny as never, 2);
  model15m = writeGeneratedModel(join(dir, "m15.bin"), PRESETS["15m"] as never, 1).model;
  engine = await createEngine({ engine: "ts", model });
});
afterAll(() => engine.close());

/** Serves `e` on a loopback port for the duration of `body`. */
async function served(
  e: Engine,
  maxQueue: number,
  body: (post: (request: unknown, signal?: AbortSignal) => Promise<Response>, url: string) => Promise<void>,
) {
  const app = createOpenAiServer({ engine: e, servedModel: "m", maxQueue });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  const post = (request: unknown, signal?: AbortSignal) =>
    fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request),
      ...(signal ? { signal } : {}),
    });
  try {
    await body(post, url);
  } finally {
    await app.close();
  }
}

const long = (maxTokens: number) => ({
  messages: [{ role: "user", content: "once" }],
  max_tokens: maxTokens,
});

const chat = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST" as const,
  url: "/v1/chat/completions",
  headers: { "content-type": "application/json", ...headers },
  payload: typeof body === "string" ? body : JSON.stringify(body),
});
const hello = { model: "tiny", messages: [{ role: "user", content: "hello" }], max_tokens: 8 };

describe("OpenAI-compatible server", () => {
  it("answers health, models and completions in OpenAI's shapes", async () => {
    const app = createOpenAiServer({ engine, servedModel: "tiny" });
    expect((await app.inject({ url: "/health" })).json()).toEqual({
      ok: true,
      engine: "ts",
      model: "tiny",
      parallelism: 1,
      running: 0,
      waiting: 0,
    });
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
    // Valid JSON with prototype keys: the keys are dropped, the request served, no prototype touched.
    for (const payload of [
      '{"messages":[{"role":"user","content":"hi","__proto__":{"polluted":true}}],"max_tokens":2}',
      '{"messages":[{"role":"user","content":"hi"}],"max_tokens":2,"constructor":{"prototype":{"polluted":true}}}',
    ]) {
      const r = await app.inject({ ...chat(hello), payload });
      expect(r.statusCode, payload).toBe(200);
    }
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
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

  // The real engines, at their real speed: nothing here slows a generation down.
  for (const kind of ["ts", "ts-int"] as const) {
    it(`${kind}: streams tokens as they are produced while /health answers at once`, async () => {
      // ts-int is about 8x slower per token (integer arithmetic, no SIMD).
      const tokens = kind === "ts" ? 200 : 40;
      const e = await createEngine({ engine: kind, model: model15m });
      try {
        await served(e, 4, async (post, url) => {
          const response = await post({ ...long(tokens), stream: true });
          const reader = (response.body as ReadableStream<Uint8Array>).getReader();
          const decoder = new TextDecoder();
          let text = "";
          let reads = 0;
          let healthAtDone: unknown = null;
          let health: Promise<unknown> | null = null;
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            reads++;
            text += decoder.decode(value, { stream: true });
            // Ask for /health as soon as the first token arrives; note whether it answered before [DONE].
            if (health === null && text.includes('"content":"') && !text.includes("[DONE]"))
              health = fetch(`${url}/health`).then((r) => r.json());
            if (text.includes("[DONE]")) healthAtDone = await Promise.race([health, "pending"]);
          }
          expect(healthAtDone, "/health answered during the generation").toMatchObject({ running: 1 });
          expect(reads, "events arrive as they are produced, not in one burst").toBeGreaterThan(tokens / 10);
          expect(text.split("\n\n").filter((x) => x.includes('"content"')).length).toBeGreaterThan(
            tokens / 2,
          );
        });
      } finally {
        await e.close();
      }
    });
  }

  it("runs --threads generations at once, queues --max-queue more and answers 503 + Retry-After beyond", async () => {
    for (const [threads, maxQueue, expected] of [
      [1, 0, [200, 503, 503, 503]],
      [1, 1, [200, 200, 503, 503]],
      [2, 0, [200, 200, 503, 503]],
      [2, 1, [200, 200, 200, 503]],
    ] as const) {
      const e = await createEngine({ engine: "ts", model: model15m, threads });
      try {
        expect(e.info.parallelism).toBe(threads);
        await served(e, maxQueue, async (post) => {
          const replies = await Promise.all([0, 1, 2, 3].map(() => post(long(50))));
          const statuses = replies.map((r) => r.status).sort();
          expect(statuses, `threads ${threads}, max-queue ${maxQueue}`).toEqual(expected);
          const busy = replies.find((r) => r.status === 503) as Response;
          expect(busy.headers.get("retry-after")).toBe("1");
          expect(((await busy.json()) as { error: unknown }).error).toMatchObject({ code: "API_BUSY" });
          const ok = (await Promise.all(replies.filter((r) => r.status === 200).map((r) => r.json()))) as {
            choices: [{ message: { content: string } }];
          }[];
          // Same request, same seed: the same completion from every worker thread.
          expect(new Set(ok.map((j) => j.choices[0].message.content)).size).toBe(1);
        });
      } finally {
        await e.close();
      }
    }
  });

  it("a client that hangs up, streaming or not, stops its generation within a token", async () => {
    const e = await createEngine({ engine: "ts", model: model15m });
    try {
      await served(e, 4, async (post, url) => {
        const timed = async (request: unknown) => {
          const t = performance.now();
          expect((await post(request)).status).toBe(200);
          return performance.now() - t;
        };
        await timed(long(4)); // warm-up
        const full = await timed(long(250));
        const short = await timed(long(4));
        const running = async () =>
          ((await (await fetch(`${url}/health`)).json()) as { running: number }).running;
        for (const stream of [true, false]) {
          const abort = new AbortController();
          const pending = post({ ...long(250), stream }, abort.signal).catch(() => null);
          if (stream) {
            const response = (await pending) as Response;
            await (response.body as ReadableStream<Uint8Array>).getReader().read();
          } else while ((await running()) === 0) await new Promise((r) => setTimeout(r, 5));
          abort.abort();
          // The next request waits for the engine's one thread: only as long as the abandoned generation
          // takes to notice (one token), not for the rest of its 250 tokens.
          const next = await timed(long(4));
          expect(
            next,
            `stream ${stream}: ${next.toFixed(0)} ms after a hang-up; alone ${short.toFixed(0)} ms; 250 tokens ${full.toFixed(0)} ms`,
          ).toBeLessThan(short + full / 3);
        }
        expect(await running()).toBe(0);
      });
    } finally {
      await e.close();
    }
  });
});
