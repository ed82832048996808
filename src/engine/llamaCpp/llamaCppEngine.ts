/**
 * The llama.cpp engine: any GGUF model by path, through node-llama-cpp's CPU build. Contexts use the
 * settings that make llama.cpp reproducible run to run (no flash attention, F32 KV cache); generation
 * goes through the low-level sequence API with the request's temperature, top-p and seed.
 */
import { existsSync } from "node:fs";
import { VerinferError } from "../../errors.ts";
import {
  type Engine,
  type FinishReason,
  type GenerateRequest,
  type GenerationChunk,
  type GenerationResult,
  promptOf,
  resolveParams,
  StopMatcher,
} from "../engine.ts";

/** Options of the llama.cpp engine. */
export interface LlamaCppOptions {
  /** CPU threads (default 1). */
  readonly threads?: number | undefined;
  /** Context length (default: the model's, capped at 4096). */
  readonly contextSize?: number | undefined;
}

type NodeLlamaCpp = typeof import("node-llama-cpp");
let llamaPromise: Promise<Awaited<ReturnType<NodeLlamaCpp["getLlama"]>>> | null = null;

/** One llama.cpp runtime per process (loading it is slow; models share it). */
async function runtime() {
  llamaPromise ??= import("node-llama-cpp").then((m) =>
    m.getLlama({ gpu: false, logLevel: m.LlamaLogLevel.error }),
  );
  return llamaPromise;
}

/** Loads a GGUF model and returns an engine over it. */
export async function createLlamaCppEngine(
  modelPath: string,
  options: LlamaCppOptions = {},
): Promise<Engine> {
  if (!existsSync(modelPath))
    throw new VerinferError("FILE_NOT_FOUND", `model not found: ${modelPath}`, { file: modelPath });
  const llama = await runtime();
  let model: Awaited<ReturnType<typeof llama.loadModel>>;
  try {
    model = await llama.loadModel({ modelPath });
  } catch (e) {
    throw new VerinferError(
      "MODEL_MALFORMED",
      `${modelPath}: llama.cpp cannot load it (${(e as Error).message})`,
      { file: modelPath },
    );
  }
  const contextSize = Math.min(options.contextSize ?? model.trainContextSize, 4096, model.trainContextSize);
  const context = await model.createContext({
    contextSize,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
    // One thread by default: on small machines llama.cpp's spinning worker threads compete with Node's
    // own and slow small models down by orders of magnitude; more is an explicit choice.
    threads: options.threads ?? 1,
  });
  const sequence = context.getSequence();
  return {
    info: {
      name: "llama-cpp",
      model: modelPath,
      deterministic: false,
      traces: false,
      contextLength: contextSize,
    },
    async *stream(request: GenerateRequest): AsyncGenerator<GenerationChunk, GenerationResult, void> {
      const params = resolveParams(request.params, contextSize);
      if (request.trace)
        throw new VerinferError(
          "GENERATION_INVALID",
          "the llama-cpp engine does not record execution traces",
        );
      const seed = request.seed ?? 0;
      const bos = model.tokens.bos;
      const promptTokens = [
        ...(bos !== null && model.tokens.shouldPrependBosToken ? [bos] : []),
        ...model.tokenize(promptOf(request)),
      ];
      if (promptTokens.length >= contextSize) {
        throw new VerinferError(
          "GENERATION_INVALID",
          `the prompt is ${promptTokens.length} tokens; the context is ${contextSize}`,
        );
      }
      await sequence.clearHistory();
      const start = performance.now();
      let promptMs = 0;
      let generationStart = start;
      const ids: number[] = [];
      let text = "";
      let finishReason: FinishReason = "length";
      const stops = new StopMatcher(params.stop);
      const evaluation = sequence.evaluate(promptTokens, {
        temperature: params.temperature,
        topP: params.topP,
        seed,
      });
      for await (const token of evaluation) {
        if (ids.length === 0) {
          promptMs = performance.now() - start;
          generationStart = performance.now();
        }
        if (model.isEogToken(token)) {
          finishReason = "eos";
          break;
        }
        const piece = model.detokenize([token], false, ids.slice(-8) as never);
        ids.push(token as unknown as number);
        const { emit, stopped } = stops.push(piece);
        if (emit) {
          text += emit;
          yield { text: emit, tokenId: token as unknown as number };
        }
        if (stopped) {
          finishReason = "stop";
          break;
        }
        if (ids.length >= params.maxTokens || promptTokens.length + ids.length >= contextSize) break;
      }
      if (finishReason !== "stop") {
        const rest = stops.flush();
        if (rest) {
          text += rest;
          yield { text: rest, tokenId: null };
        }
      }
      const generationMs = performance.now() - generationStart;
      return {
        engine: "llama-cpp",
        model: modelPath,
        text,
        promptTokenIds: promptTokens as unknown as number[],
        tokenIds: ids,
        finishReason,
        usage: { promptTokens: promptTokens.length, completionTokens: ids.length },
        timings: {
          promptMs,
          generationMs,
          tokensPerSecond: ids.length / Math.max(generationMs / 1000, 1e-9),
        },
        seed,
        params,
        trace: null,
      };
    },
    async close() {
      await context.dispose();
      await model.dispose();
    },
  };
}
