/**
 * An OpenAI-compatible HTTP API over any engine (`verinfer serve`): `POST /v1/chat/completions`
 * (JSON or server-sent events), `GET /v1/models` and `GET /health`. One engine runs one generation at
 * a time, so requests queue (up to `maxQueue`, then 503 with Retry-After); a streaming client that
 * hangs up stops its generation and frees the engine.
 */
import { randomUUID } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { z } from "zod";
import type {
  ChatMessage,
  Engine,
  GenerateRequest,
  GenerationChunk,
  GenerationResult,
} from "../../engine/engine.ts";
import { VerinferError } from "../../errors.ts";
import { type HttpErrorReply, httpError, httpErrorOf } from "./httpErrors.ts";

/** Server settings. */
export interface OpenAiServerOptions {
  readonly engine: Engine;
  /** The model name clients ask for (and `/v1/models` lists). */
  readonly servedModel: string;
  /** When set, every `/v1` request needs `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string | undefined;
  /** Requests allowed to wait for the engine (default 16). */
  readonly maxQueue?: number | undefined;
  /** Largest request body in bytes (default 4 MiB). */
  readonly bodyLimit?: number | undefined;
  /** Where unexpected errors are logged (default stderr); prompts and outputs are never logged. */
  readonly logError?: ((error: unknown) => void) | undefined;
}

const CONTENT = z.union([
  z.string(),
  z.array(z.object({ type: z.literal("text"), text: z.string() })).min(1),
]);

/** The accepted request; unknown fields are ignored, as OpenAI clients send many. */
const CHAT_REQUEST = z.object({
  model: z.string().nullish(),
  messages: z
    .array(
      z.object({
        // "developer" is OpenAI's newer name for the system role.
        role: z.enum(["system", "developer", "user", "assistant"]),
        content: CONTENT,
      }),
    )
    .min(1),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(16)]).nullish(),
  seed: z.number().int().min(0).max(0xffffffff).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  n: z.literal(1, { message: "only n = 1 is supported" }).nullish(),
});
type ChatRequestBody = z.infer<typeof CHAT_REQUEST>;

/** Serializes access to the engine, with a bounded queue. */
class EngineLock {
  private tail: Promise<void> = Promise.resolve();
  /** Requests running or waiting. */
  private active = 0;
  constructor(private readonly maxQueue: number) {}

  /** Waits for the engine; returns the release function. */
  async acquire(): Promise<() => void> {
    const waiting = Math.max(this.active - 1, 0);
    if (this.active > 0 && waiting >= this.maxQueue)
      throw new VerinferError("API_BUSY", `the engine is busy and ${waiting} requests are already waiting`, {
        waiting,
      });
    this.active++;
    const previous = this.tail;
    let release = () => {};
    this.tail = new Promise<void>((resolve) => {
      release = () => {
        this.active--;
        resolve();
      };
    });
    await previous;
    return release;
  }
}

function generateRequestOf(body: ChatRequestBody): GenerateRequest {
  const messages: ChatMessage[] = body.messages.map((m) => ({
    role: m.role === "developer" ? "system" : m.role,
    content: typeof m.content === "string" ? m.content : m.content.map((p) => p.text).join(""),
  }));
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const stop = body.stop === null || body.stop === undefined ? [] : [body.stop].flat();
  return {
    messages,
    params: {
      ...(body.temperature !== null && body.temperature !== undefined
        ? { temperature: body.temperature }
        : {}),
      ...(body.top_p !== null && body.top_p !== undefined ? { topP: body.top_p } : {}),
      ...(maxTokens !== null && maxTokens !== undefined ? { maxTokens } : {}),
      stop,
    },
    seed: body.seed ?? 0,
  };
}

/** OpenAI has no "eos": an end token and a stop string are both "stop". */
function finishReasonOf(result: GenerationResult): "stop" | "length" {
  return result.finishReason === "length" ? "length" : "stop";
}

function usageOf(result: GenerationResult) {
  return result.usage
    ? {
        prompt_tokens: result.usage.promptTokens,
        completion_tokens: result.usage.completionTokens,
        total_tokens: result.usage.promptTokens + result.usage.completionTokens,
      }
    : null;
}

function send(reply: FastifyReply, error: HttpErrorReply): FastifyReply {
  if (error.status === 503) reply.header("retry-after", "1");
  return reply.code(error.status).send(error.body);
}

/** Builds the server (not yet listening; `inject()` works for in-process use). */
export function createOpenAiServer(options: OpenAiServerOptions): FastifyInstance {
  const { engine, servedModel } = options;
  const lock = new EngineLock(options.maxQueue ?? 16);
  const app = Fastify({ bodyLimit: options.bodyLimit ?? 4 * 1024 * 1024, logger: false });
  const created = () => Math.floor(Date.now() / 1000);
  const logError =
    options.logError ??
    ((error: unknown) =>
      process.stderr.write(`verinfer serve: internal error: ${(error as Error)?.stack ?? String(error)}\n`));

  app.setErrorHandler((error, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode;
    // Fastify's own 4xx errors (bad JSON, wrong content type, body too large) are request problems.
    if (!(error instanceof VerinferError) && status !== undefined && status >= 400 && status < 500) {
      const code = status === 413 ? "INPUT_TOO_LARGE" : "API_REQUEST_INVALID";
      const message =
        status === 415 ? "the body must be JSON (Content-Type: application/json)" : (error as Error).message;
      return send(reply, httpError(code, message, {}, status));
    }
    if (!(error instanceof VerinferError)) logError(error);
    return send(reply, httpErrorOf(error));
  });
  app.setNotFoundHandler((request, reply) =>
    send(reply, httpError("API_ROUTE_UNKNOWN", `no route ${request.method} ${request.url.split("?")[0]}`)),
  );
  app.addHook("onRequest", async (request, reply) => {
    if (!options.apiKey || !request.url.startsWith("/v1/")) return;
    if (request.headers.authorization !== `Bearer ${options.apiKey}`) {
      await send(
        reply,
        httpError("API_UNAUTHORIZED", "missing or wrong API key (Authorization: Bearer KEY)"),
      );
    }
  });

  app.get("/health", async () => ({ ok: true, engine: engine.info.name, model: servedModel }));

  app.get("/v1/models", async () => ({
    object: "list",
    data: [{ id: servedModel, object: "model", created: 0, owned_by: "verinfer" }],
  }));

  app.post("/v1/chat/completions", async (request, reply) => {
    const parsed = CHAT_REQUEST.safeParse(request.body);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`);
      return send(
        reply,
        httpError("API_REQUEST_INVALID", `invalid chat completion request: ${problems.join("; ")}`, {
          problems,
        }),
      );
    }
    const body = parsed.data;
    if (body.model && body.model !== servedModel) {
      return send(
        reply,
        httpError("MODEL_NOT_SERVED", `this server serves "${servedModel}", not "${body.model}"`, {
          served: servedModel,
        }),
      );
    }
    const id = `chatcmpl-${randomUUID()}`;
    const release = await lock.acquire();
    let stream: AsyncGenerator<GenerationChunk, GenerationResult, void> | null = null;
    try {
      stream = engine.stream(generateRequestOf(body));
      // The first step runs before any reply is written, so invalid parameters still get a 400.
      let next = await stream.next();
      if (!body.stream) {
        while (!next.done) next = await stream.next();
        const result = next.value;
        return {
          id,
          object: "chat.completion",
          created: created(),
          model: servedModel,
          system_fingerprint: `verinfer-${engine.info.name}`,
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: result.text },
              finish_reason: finishReasonOf(result),
              logprobs: null,
            },
          ],
          usage: usageOf(result),
        };
      }
      reply.hijack();
      const raw = reply.raw;
      let gone = false;
      raw.on("close", () => {
        gone = true;
      });
      raw.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      const event = (choices: unknown[], extra: Record<string, unknown> = {}) =>
        raw.write(
          `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: created(), model: servedModel, choices, ...extra })}\n\n`,
        );
      event([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]);
      try {
        while (!next.done && !gone) {
          if (next.value.text)
            event([{ index: 0, delta: { content: next.value.text }, finish_reason: null }]);
          next = await stream.next();
        }
      } catch (error) {
        // Headers are sent: report the failure as an error event, the way OpenAI-compatible servers do.
        if (!(error instanceof VerinferError)) logError(error);
        if (!gone) raw.end(`data: ${JSON.stringify(httpErrorOf(error).body)}\n\n`);
        return reply;
      }
      if (gone || !next.done) return reply;
      event([{ index: 0, delta: {}, finish_reason: finishReasonOf(next.value) }]);
      if (body.stream_options?.include_usage) event([], { usage: usageOf(next.value) });
      raw.end("data: [DONE]\n\n");
      return reply;
    } finally {
      // Stops an abandoned generation (a client that hung up) before the next request runs.
      await stream?.return(undefined as never).catch(() => {});
      release();
    }
  });
  return app;
}
