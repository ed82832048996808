/**
 * The llama.cpp engine: any GGUF model by path, through node-llama-cpp's CPU build. Contexts use the
 * settings that make llama.cpp reproducible run to run (no flash attention, F32 KV cache); generation
 * goes through the low-level sequence API with the request's temperature, top-p and seed.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { VerinferError } from "../../errors.ts";
import { bytesToHex, type Hex } from "../../protocol/encoding/hex.ts";
import {
  type Engine,
  type FinishReason,
  type GenerateRequest,
  type GenerationChunk,
  type GenerationResult,
  localTimings,
  promptOf,
  resolveParams,
  StopMatcher,
  seedOf,
} from "../engine.ts";
import { cancelled, FifoPool, inTurn } from "../fifoPool.ts";

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
async function runtime(m: NodeLlamaCpp) {
  llamaPromise ??= m.getLlama({ gpu: false, logLevel: m.LlamaLogLevel.error });
  return llamaPromise;
}

/**
 * Checks a GGUF header (magic, version 2 or 3, plausible counts) before llama.cpp sees the file:
 * node-llama-cpp reads a file with a bad version as version 3 and can hang on it.
 */
export function checkGgufHeader(path: string): void {
  const header = fileStart(path, 24);
  const fail = (why: string) => {
    throw new VerinferError("MODEL_MALFORMED", `${path}: not a usable GGUF file (${why})`, { file: path });
  };
  if (header.length < 24) fail(`${statSync(path).size} bytes is shorter than a GGUF header`);
  if (header.toString("latin1", 0, 4) !== "GGUF") fail("no GGUF magic");
  const version = header.readUInt32LE(4);
  if (version !== 2 && version !== 3) fail(`version ${version}; llama.cpp reads versions 2 and 3`);
  const tensors = header.readBigUInt64LE(8);
  const keys = header.readBigUInt64LE(16);
  if (tensors === 0n || tensors > 1_000_000n || keys > 1_000_000n)
    fail(`implausible counts: ${tensors} tensors, ${keys} metadata keys`);
}

/** Whether `path` is a GGUF file (by its magic), as opposed to a llama2.c checkpoint. */
export function isGguf(path: string): boolean {
  return existsSync(path) && fileStart(path, 4).toString("latin1") === "GGUF";
}

/** The first `length` bytes of a file (fewer if it is shorter). */
function fileStart(path: string, length: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const start = Buffer.alloc(length);
    return start.subarray(0, readSync(fd, start, 0, length, 0));
  } finally {
    closeSync(fd);
  }
}

/** keccak256 of a GGUF file's bytes, read in 4 MiB pieces: what a GGUF worker's receipts bind as weights. */
export function ggufFileHash(path: string): Hex {
  const h = keccak_256.create();
  const fd = openSync(path, "r");
  try {
    const piece = Buffer.alloc(4 << 20);
    for (let n = readSync(fd, piece); n > 0; n = readSync(fd, piece)) h.update(piece.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return bytesToHex(h.digest());
}

/** A GGUF model's vocabulary alone (no weights loaded), to turn its token ids into text. */
export interface GgufVocabulary {
  /** The text of `tokens` (special tokens such as BOS render as nothing), after `previous` if given. */
  detokenize(tokens: readonly number[], previous?: readonly number[]): string;
  close(): Promise<void>;
}

/** Loads only the vocabulary of a GGUF model (what evaluators need to read the served tokens). */
export async function loadGgufVocabulary(modelPath: string): Promise<GgufVocabulary> {
  if (!existsSync(modelPath))
    throw new VerinferError("FILE_NOT_FOUND", `model not found: ${modelPath}`, { file: modelPath });
  checkGgufHeader(modelPath);
  const nodeLlamaCpp = await import("node-llama-cpp");
  const llama = await runtime(nodeLlamaCpp);
  const model = await llama.loadModel({ modelPath, vocabOnly: true }).catch((e: Error) => {
    throw new VerinferError("MODEL_MALFORMED", `${modelPath}: llama.cpp cannot load it (${e.message})`, {
      file: modelPath,
    });
  });
  type Token = Parameters<typeof model.detokenize>[0][number];
  return {
    detokenize: (tokens, previous) =>
      model.detokenize(tokens as Token[], false, previous as Token[] | undefined),
    close: () => model.dispose(),
  };
}

/** Loads a GGUF model and returns an engine over it. */
export async function createLlamaCppEngine(
  modelPath: string,
  options: LlamaCppOptions = {},
): Promise<Engine> {
  if (!existsSync(modelPath))
    throw new VerinferError("FILE_NOT_FOUND", `model not found: ${modelPath}`, { file: modelPath });
  checkGgufHeader(modelPath);
  // Imported on first use: loading the native addon costs time that the other engines need not pay.
  const nodeLlamaCpp = await import("node-llama-cpp");
  const llama = await runtime(nodeLlamaCpp);
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
    // node-llama-cpp keeps one cell of a context free (it shifts the context rather than fill the last
    // cell); one more cell lets all `contextSize` positions be fed, as run.c and the TS engines do.
    contextSize: contextSize + 1,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
    // One thread by default: on small machines llama.cpp's spinning worker threads compete with Node's
    // own and slow small models down by orders of magnitude; more is an explicit choice.
    threads: options.threads ?? 1,
  });
  const sequence = context.getSequence();
  // Chat messages go through the model's own chat template when its GGUF carries one (or its name
  // identifies a known family); otherwise, and for plain prompts, the prompt is the text itself.
  const chatWrapper = model.fileInfo.metadata.tokenizer?.chat_template
    ? nodeLlamaCpp.resolveChatWrapper({
        bosString: model.tokens.bosString,
        ...(model.filename === undefined ? {} : { filename: model.filename }),
        fileInfo: model.fileInfo,
        tokenizer: model.tokenizer,
      })
    : null;
  const promptTokensOf = (request: GenerateRequest) => {
    if (chatWrapper && request.messages !== undefined && request.prompt === undefined) {
      promptOf(request); // validates the messages
      const { contextText } = chatWrapper.generateContextState({
        chatHistory: [
          ...request.messages.map((m) =>
            m.role === "assistant"
              ? { type: "model" as const, response: [m.content] }
              : { type: m.role, text: m.content },
          ),
          { type: "model", response: [] },
        ],
      });
      return contextText.tokenize(model.tokenizer);
    }
    const bos = model.tokens.bos;
    return [
      ...(bos !== null && model.tokens.shouldPrependBosToken ? [bos] : []),
      ...model.tokenize(promptOf(request)),
    ];
  };
  // One sequence: overlapping calls take turns.
  const turn = new FifoPool([sequence]);
  return {
    info: {
      name: "llama-cpp",
      model: modelPath,
      deterministic: false,
      traces: false,
      contextLength: contextSize,
      parallelism: 1,
    },
    async *stream(request: GenerateRequest): AsyncGenerator<GenerationChunk, GenerationResult, void> {
      return yield* inTurn(turn, request.signal, () => generateOne(request));
    },
    async close() {
      await context.dispose();
      await model.dispose();
    },
  };

  async function* generateOne(
    request: GenerateRequest,
  ): AsyncGenerator<GenerationChunk, GenerationResult, void> {
    const params = resolveParams(request.params, contextSize);
    if (request.trace)
      throw new VerinferError("GENERATION_INVALID", "the llama-cpp engine does not record execution traces");
    const seed = seedOf(request);
    const promptTokens = promptTokensOf(request);
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
      if (request.signal?.aborted) throw cancelled();
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
      // Like run.c and the TS engines, the token sampled from the last position is returned though it
      // cannot be fed: a full context yields contextSize - prompt + 1 tokens.
      if (ids.length >= params.maxTokens || promptTokens.length + ids.length > contextSize) break;
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
      timings: localTimings(promptMs, generationMs, ids.length),
      seed,
      params,
      trace: null,
    };
  }
}
