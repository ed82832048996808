/**
 * An OpenAI-compatible HTTP API over any engine (`verinfer serve`): `POST /v1/chat/completions`
 * (JSON or server-sent events), `GET /v1/models` and `GET /health`. An engine runs
 * `info.parallelism` generations at once (off this thread: the server stays responsive); up to
 * `maxQueue` more requests wait, and beyond that they get 503 with Retry-After. A client that hangs
 * up, streaming or not, stops its generation (or leaves the queue) and frees the engine.
 */
import { randomUUID } from "node:crypto";
import Fastify, { type FastifyInstance } from "fastify";
import { z } from "zod";
import type {
  ChatMessage,
  Engine,
  GenerateRequest,
  GenerationChunk,
  GenerationParams,
  GenerationResult,
} from "../../engine/engine.ts";
import { VerinferError } from "../../errors.ts";
import { httpError, httpErrorOf, installErrorReplies, sendHttpError } from "./httpErrors.ts";

/** Server settings. */
export interface OpenAiServerOptions {
  readonly engine: Engine;
  /** The model name clients ask for (and `/v1/models` lists). */
  readonly servedModel: string;
  /** When set, every `/v1` request needs `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string | undefined;
  /** Requests allowed to wait for the engine (default 16). */
  readonly maxQueue?: number | undefined;
  /** Largest request body in bytes (default 1 MiB). */
  readonly bodyLimit?: number | undefined;
  /** Where unexpected errors are logged (default stderr); prompts and outputs are never logged. */
  readonly logError?: ((error: unknown) => void) | undefined;
}

const CONTENT = z.union([
  z.string(),
  z.array(z.object({ type: z.literal("text"), text: z.string() })).min(1),
]);

/** The accepted request; unknown fields are ignored, as OpenAI clients send many. */
export const CHAT_REQUEST = z.object({
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
/** A parsed chat completion request. */
export type ChatRequestBody = z.infer<typeof CHAT_REQUEST>;

/** The request's messages in the engines' form. */
export function messagesOf(body: ChatRequestBody): ChatMessage[] {
  return body.messages.map((m) => ({
    role: m.role === "developer" ? "system" : m.role,
    content: typeof m.content === "string" ? m.content : m.content.map((p) => p.text).join(""),
  }));
}

/** The request's sampling parameters as given (absent ones left to the engine's defaults). */
export function paramsOf(body: ChatRequestBody): Partial<GenerationParams> & { stop: string[] } {
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  return {
    ...(body.temperature !== null && body.temperature !== undefined ? { temperature: body.temperature } : {}),
    ...(body.top_p !== null && body.top_p !== undefined ? { topP: body.top_p } : {}),
    ...(maxTokens !== null && maxTokens !== undefined ? { maxTokens } : {}),
    stop: body.stop === null || body.stop === undefined ? [] : [body.stop].flat(),
  };
}

/** The 400 reply's error for a body that fails {@link CHAT_REQUEST}. */
export function chatRequestError(error: z.ZodError): VerinferError {
  const problems = error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`);
  return new VerinferError("API_REQUEST_INVALID", `invalid chat completion request: ${problems.join("; ")}`, {
    problems,
  });
}

/** Admission: the engine's parallel generations plus `maxQueue` waiting; more are turned away. */
class Admission {
  private active = 0;
  constructor(
    private readonly parallelism: number,
    private readonly maxQueue: number,
  ) {}

  /** Generations running and requests waiting for the engine. */
  get load(): { running: number; waiting: number } {
    const running = Math.min(this.active, this.parallelism);
    return { running, waiting: this.active - running };
  }

  /** Admits a request or throws API_BUSY; returns the function that ends it. */
  enter(): () => void {
    const { waiting } = this.load;
    if (this.active >= this.parallelism + this.maxQueue)
      throw new VerinferError("API_BUSY", `the engine is busy and ${waiting} requests are already waiting`, {
        waiting,
        maxQueue: this.maxQueue,
      });
    this.active++;
    let left = false;
    return () => {
      if (!left) this.active--;
      left = true;
    };
  }
}

function generateRequestOf(body: ChatRequestBody, signal: AbortSignal): GenerateRequest {
  return { messages: messagesOf(body), params: paramsOf(body), seed: body.seed ?? 0, signal };
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

const send = sendHttpError;

/** Builds the server (not yet listening; `inject()` works for in-process use). */
export function createOpenAiServer(options: OpenAiServerOptions): FastifyInstance {
  const { engine, servedModel } = options;
  const admission = new Admission(engine.info.parallelism, options.maxQueue ?? 16);
  const app = Fastify({
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    logger: false,
    // Valid JSON with a "__proto__" or "constructor.prototype" key: drop the key (unknown fields are
    // ignored anyway) instead of calling the body invalid JSON; the prototype is never touched.
    onProtoPoisoning: "remove",
    onConstructorPoisoning: "remove",
  });
  const created = () => Math.floor(Date.now() / 1000);
  const logError =
    options.logError ??
    ((error: unknown) =>
      process.stderr.write(`verinfer serve: internal error: ${(error as Error)?.stack ?? String(error)}\n`));

  installErrorReplies(app, logError);
  app.addHook("onRequest", async (request, reply) => {
    if (!options.apiKey || !request.url.startsWith("/v1/")) return;
    if (request.headers.authorization !== `Bearer ${options.apiKey}`) {
      await send(
        reply,
        httpError("API_UNAUTHORIZED", "missing or wrong API key (Authorization: Bearer KEY)"),
      );
    }
  });

  app.get("/health", async () => ({
    ok: true,
    engine: engine.info.name,
    model: servedModel,
    parallelism: engine.info.parallelism,
    ...admission.load,
  }));

  app.get("/v1/models", async () => ({
    object: "list",
    data: [{ id: servedModel, object: "model", created: 0, owned_by: "verinfer" }],
  }));

  app.post("/v1/chat/completions", async (request, reply) => {
    const parsed = CHAT_REQUEST.safeParse(request.body);
    if (!parsed.success) return send(reply, httpErrorOf(chatRequestError(parsed.error)));
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
    const leave = admission.enter();
    // A client that hangs up (before the reply is complete) cancels its generation or its wait.
    const hangUp = new AbortController();
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) hangUp.abort();
    });
    const gone = () => hangUp.signal.aborted;
    let stream: AsyncGenerator<GenerationChunk, GenerationResult, void> | null = null;
    try {
      stream = engine.stream(generateRequestOf(body, hangUp.signal));
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
        while (!next.done && !gone()) {
          if (next.value.text)
            event([{ index: 0, delta: { content: next.value.text }, finish_reason: null }]);
          next = await stream.next();
        }
      } catch (error) {
        if (gone()) return reply;
        // Headers are sent: report the failure as an error event, the way OpenAI-compatible servers do.
        if (!(error instanceof VerinferError)) logError(error);
        raw.end(`data: ${JSON.stringify(httpErrorOf(error).body)}\n\n`);
        return reply;
      }
      if (gone() || !next.done) return reply;
      event([{ index: 0, delta: {}, finish_reason: finishReasonOf(next.value) }]);
      if (body.stream_options?.include_usage) event([], { usage: usageOf(next.value) });
      raw.end("data: [DONE]\n\n");
      return reply;
    } finally {
      // Stops an abandoned generation (the engine takes its worker back once it has stopped).
      hangUp.abort();
      await stream?.return(undefined as never).catch(() => {});
      leave();
    }
  });
  return app;
}
