/**
 * The generation loop of the TypeScript engines (float and verifiable integer), shared: encode the
 * prompt with BOS, feed it position by position, then sample until the token budget, the context, an
 * end token (BOS or EOS, as run.c) or a stop string. Text is decoded incrementally (UTF-8 safe) and
 * streamed.
 */
import { VerinferError } from "../../errors.ts";
import { createRng } from "../../protocol/rng/prng.ts";
import type { TransformerShape } from "../../protocol/verifiable/intModel.ts";
import {
  type Engine,
  type EngineInfo,
  type FinishReason,
  type GenerateRequest,
  type GenerationChunk,
  type GenerationResult,
  localTimings,
  promptOf,
  resolveParams,
  StopMatcher,
  seedOf,
  type TraceSummary,
} from "../engine.ts";
import { cancelled, FifoPool, inTurn } from "../fifoPool.ts";
import { sampleToken } from "../sampler.ts";
import { BOS, decodePiece, EOS, encode, minTokens, type Tokenizer } from "./tokenizer.ts";

/** A model that maps (token, position) to next-token logits. */
export interface TokenModel {
  readonly config: TransformerShape;
  forward(token: number, pos: number): ArrayLike<number>;
  /**
   * Model-specific sampling of the token after position `at.pos` (the integer model samples in integer
   * arithmetic with a generator per position); default: {@link sampleToken} on the request's stream.
   */
  sample?(
    logits: ArrayLike<number>,
    temperature: number,
    topP: number,
    rng: ReturnType<typeof createRng>,
    at: { readonly seed: number; readonly pos: number },
  ): number;
  /** The token chosen after position `pos` (the next prompt token, or the sampled one). */
  chose?(pos: number, token: number): void;
  /** Starts a new sequence (clears per-request state such as a trace). */
  begin?(recordTrace: boolean, request: Pick<TraceSummary, "promptTokens" | "sampling">): void;
  /** The trace of the sequence since {@link begin}, when recorded. */
  finishTrace?(): TraceSummary | null;
}

/** Options of {@link createLlama2cEngine}. */
export interface Llama2cEngineOptions {
  /**
   * Polled before every forward pass (prompt and generated tokens): true ends the generation with
   * GENERATION_CANCELLED. A worker thread passes a flag its owner sets, since the thread is too busy
   * generating to receive messages.
   */
  readonly interrupted?: () => boolean;
}

/** An engine over a token model and its tokenizer, running in this thread (see threadedEngine.ts). */
export function createLlama2cEngine(
  model: TokenModel,
  tokenizer: Tokenizer,
  info: Omit<EngineInfo, "contextLength" | "parallelism">,
  options: Llama2cEngineOptions = {},
): Engine {
  const contextLength = model.config.seqLen;
  // One sequence state (KV cache, trace): overlapping calls take turns.
  const turn = new FifoPool([model]);
  return {
    info: { ...info, contextLength, parallelism: 1 },
    async *stream(request: GenerateRequest): AsyncGenerator<GenerationChunk, GenerationResult, void> {
      return yield* inTurn(turn, request.signal, () => generateOne(request));
    },
    async close() {},
  };

  async function* generateOne(
    request: GenerateRequest,
  ): AsyncGenerator<GenerationChunk, GenerationResult, void> {
    const params = resolveParams(request.params, contextLength);
    if (request.trace && !info.traces) {
      throw new VerinferError(
        "GENERATION_INVALID",
        `the ${info.name} engine does not record execution traces`,
      );
    }
    const seed = seedOf(request);
    const rng = createRng(seed);
    const prompt = promptOf(request);
    // A prompt too long for any tokenization is rejected before it is encoded.
    const fewest = minTokens(tokenizer, prompt);
    if (fewest >= contextLength) {
      throw new VerinferError(
        "GENERATION_INVALID",
        `the prompt is at least ${fewest} tokens; the model's context is ${contextLength}`,
      );
    }
    const promptTokens = encode(tokenizer, prompt, true);
    if (promptTokens.length >= contextLength) {
      throw new VerinferError(
        "GENERATION_INVALID",
        `the prompt is ${promptTokens.length} tokens; the model's context is ${contextLength}`,
      );
    }
    const forward = (token: number, pos: number) => {
      if (options.interrupted?.() || request.signal?.aborted) throw cancelled();
      return model.forward(token, pos);
    };
    model.begin?.(request.trace === true, {
      promptTokens: promptTokens.length,
      sampling: { temperature: params.temperature, topP: params.topP, seed },
    });
    const start = performance.now();
    let logits: ArrayLike<number> = [];
    for (let pos = 0; pos < promptTokens.length; pos++) {
      logits = forward(promptTokens[pos] as number, pos);
      if (pos + 1 < promptTokens.length) model.chose?.(pos, promptTokens[pos + 1] as number);
    }
    const promptMs = performance.now() - start;
    const stops = new StopMatcher(params.stop);
    const decoder = new TextDecoder();
    const ids: number[] = [];
    let text = "";
    let finishReason: FinishReason = "length";
    let previous = promptTokens[promptTokens.length - 1] as number;
    let pos = promptTokens.length;
    const generationStart = performance.now();
    // `logits` predict the token at `pos`; a sampled token is fed at `pos` while the context lasts.
    let haveLogits = true;
    while (ids.length < params.maxTokens && haveLogits) {
      const next = model.sample
        ? model.sample(logits, params.temperature, params.topP, rng, { seed, pos: pos - 1 })
        : sampleToken(logits, params.temperature, params.topP, rng);
      model.chose?.(pos - 1, next);
      if (next === BOS || next === EOS) {
        finishReason = "eos";
        break;
      }
      ids.push(next);
      const piece = decoder.decode(decodePiece(tokenizer, previous, next), { stream: true });
      const { emit, stopped } = stops.push(piece);
      if (emit) {
        text += emit;
        yield { text: emit, tokenId: next };
      }
      if (stopped) {
        finishReason = "stop";
        break;
      }
      previous = next;
      haveLogits = ids.length < params.maxTokens && pos < contextLength;
      if (haveLogits) logits = forward(next, pos);
      pos++;
    }
    if (finishReason !== "stop") {
      const rest = stops.push(decoder.decode()).emit + stops.flush();
      if (rest) {
        text += rest;
        yield { text: rest, tokenId: null };
      }
    }
    const generationMs = performance.now() - generationStart;
    return {
      engine: info.name,
      model: info.model,
      text,
      promptTokenIds: promptTokens,
      tokenIds: ids,
      finishReason,
      usage: { promptTokens: promptTokens.length, completionTokens: ids.length },
      timings: localTimings(promptMs, generationMs, ids.length),
      seed,
      params,
      trace: model.finishTrace?.() ?? null,
    };
  }
}
