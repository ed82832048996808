/**
 * The `openai` engine: any OpenAI-compatible chat-completions server (vLLM, llama.cpp server, Ollama,
 * hosted APIs, `verinfer serve`) behind the engine interface. Always streams, so text reaches the
 * caller as the server produces it. Remote servers expose no token ids and no trace, and are not
 * deterministic as far as verinfer can tell.
 */
import { VerinferError } from "../../errors.ts";
import {
  type Engine,
  type GenerateRequest,
  type GenerationChunk,
  type GenerationResult,
  resolveParams,
  seedOf,
} from "../engine.ts";
import { cancelled, FifoPool, inTurn } from "../fifoPool.ts";
import {
  type ChatEndpoint,
  type ChatMessage,
  listModels,
  normalizeBaseUrl,
  streamChatCompletion,
} from "./chatClient.ts";

/**
 * Endpoint settings; without `model` the server must serve exactly one model, which is used.
 * `parallelism` (default 1) bounds the requests sent at once; more wait their turn.
 */
export type OpenAiEngineOptions = Omit<ChatEndpoint, "model"> & {
  readonly model?: string | undefined;
  readonly parallelism?: number | undefined;
};

/** Connects to the server (resolving the served model when not given) and returns the engine. */
export async function createOpenAiEngine(settings: OpenAiEngineOptions): Promise<Engine> {
  const options = { ...settings, baseUrl: normalizeBaseUrl(settings.baseUrl) };
  let served = options.model;
  if (served === undefined) {
    const models = await listModels(options);
    if (models.length !== 1) {
      throw new VerinferError(
        "CONFIG_INVALID",
        `${options.baseUrl} serves ${models.length === 0 ? "no models" : `several models (${models.join(", ")})`}; name one with --served-model`,
        { models },
      );
    }
    served = models[0] as string;
  }
  const { parallelism = 1, ...rest } = options;
  const servedModel = served;
  const endpoint: ChatEndpoint = { ...rest, model: servedModel };
  const slots = new FifoPool(Array.from({ length: parallelism }, (_, i) => i));
  return {
    info: {
      name: "openai",
      model: served,
      deterministic: false,
      traces: false,
      contextLength: null,
      parallelism,
    },
    async *stream(request: GenerateRequest): AsyncGenerator<GenerationChunk, GenerationResult, void> {
      const params = resolveParams(request.params, null);
      if (request.trace)
        throw new VerinferError("GENERATION_INVALID", "the openai engine does not record execution traces");
      if ((request.prompt === undefined) === (request.messages === undefined))
        throw new VerinferError("GENERATION_INVALID", "give exactly one of prompt and messages");
      if (request.messages?.length === 0)
        throw new VerinferError("GENERATION_INVALID", "messages must not be empty");
      const seed = seedOf(request);
      return yield* inTurn(slots, request.signal, () => streamOne(request, params, seed));
    },
    async close() {},
  };

  async function* streamOne(
    request: GenerateRequest,
    params: ReturnType<typeof resolveParams>,
    seed: number,
  ): AsyncGenerator<GenerationChunk, GenerationResult, void> {
    const messages: readonly ChatMessage[] = request.messages ?? [
      { role: "user", content: request.prompt as string },
    ];
    const start = performance.now();
    let firstAt: number | null = null;
    const it = streamChatCompletion(endpoint, {
      messages,
      temperature: params.temperature,
      topP: params.topP,
      maxTokens: params.maxTokens,
      stop: params.stop,
      seed,
    });
    let next = await it.next();
    while (!next.done) {
      if (request.signal?.aborted) throw cancelled();
      firstAt ??= performance.now();
      yield { text: next.value, tokenId: null };
      next = await it.next();
    }
    const completion = next.value;
    const end = performance.now();
    const promptMs = (firstAt ?? end) - start;
    const generationMs = end - (firstAt ?? end);
    return {
      engine: "openai",
      model: completion.model ?? servedModel,
      text: completion.content,
      promptTokenIds: null,
      tokenIds: null,
      // OpenAI's "stop" covers both an end token and a stop string; anything but "length" ended early.
      finishReason: completion.finishReason === "length" ? "length" : "stop",
      usage: completion.usage,
      timings: {
        promptMs,
        generationMs,
        // The first token arrives with the prompt time; the rest over the generation time.
        tokensPerSecond: completion.usage
          ? Math.max(completion.usage.completionTokens - 1, 0) / Math.max(generationMs / 1000, 1e-9)
          : null,
      },
      seed,
      params,
      trace: null,
    };
  }
}
