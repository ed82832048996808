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
import { sampleToken } from "../sampler.ts";
import { BOS, decodePiece, EOS, encode, type Tokenizer } from "./tokenizer.ts";

/** A model that maps (token, position) to next-token logits. */
export interface TokenModel {
  readonly config: TransformerShape;
  forward(token: number, pos: number): ArrayLike<number>;
  /** Model-specific sampling (the integer model samples in integer arithmetic); default: {@link sampleToken}. */
  sample?(
    logits: ArrayLike<number>,
    temperature: number,
    topP: number,
    rng: ReturnType<typeof createRng>,
  ): number;
  /** Starts a new sequence (clears per-request state such as a trace). */
  begin?(recordTrace: boolean): void;
  /** The trace of the sequence since {@link begin}, when recorded. */
  finishTrace?(): TraceSummary | null;
}

/** An engine over a token model and its tokenizer. */
export function createLlama2cEngine(
  model: TokenModel,
  tokenizer: Tokenizer,
  info: Omit<EngineInfo, "contextLength">,
): Engine {
  const contextLength = model.config.seqLen;
  return {
    info: { ...info, contextLength },
    async *stream(request: GenerateRequest): AsyncGenerator<GenerationChunk, GenerationResult, void> {
      const params = resolveParams(request.params, contextLength);
      if (request.trace && !info.traces) {
        throw new VerinferError(
          "GENERATION_INVALID",
          `the ${info.name} engine does not record execution traces`,
        );
      }
      const seed = seedOf(request);
      const rng = createRng(seed);
      const promptTokens = encode(tokenizer, promptOf(request), true);
      if (promptTokens.length >= contextLength) {
        throw new VerinferError(
          "GENERATION_INVALID",
          `the prompt is ${promptTokens.length} tokens; the model's context is ${contextLength}`,
        );
      }
      model.begin?.(request.trace === true);
      const start = performance.now();
      let logits: ArrayLike<number> = [];
      for (let pos = 0; pos < promptTokens.length; pos++)
        logits = model.forward(promptTokens[pos] as number, pos);
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
          ? model.sample(logits, params.temperature, params.topP, rng)
          : sampleToken(logits, params.temperature, params.topP, rng);
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
        if (haveLogits) logits = model.forward(next, pos);
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
    },
    async close() {},
  };
}
