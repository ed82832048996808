/**
 * The one interface every inference engine implements (DESIGN.md `src/engine/`): a request (prompt or
 * chat messages, sampling parameters, seed) streams chunks as an async iterator and returns the full
 * result — text, token ids, usage, timings and, for engines that can, the execution trace.
 */
import { VerinferError } from "../errors.ts";

/** A chat message. */
export interface ChatMessage {
  readonly role: "system" | "user" | "assistant";
  readonly content: string;
}

/** Sampling parameters. */
export interface GenerationParams {
  /** 0 = greedy. */
  readonly temperature: number;
  /** Nucleus sampling mass in (0, 1]; 1 disables it. */
  readonly topP: number;
  readonly maxTokens: number;
  /** Generation stops before the first occurrence of any of these strings. */
  readonly stop: readonly string[];
}

/** Defaults: greedy, 256 new tokens, no stop strings. */
export const DEFAULT_PARAMS: GenerationParams = { temperature: 0, topP: 1, maxTokens: 256, stop: [] };

/** A generation request: exactly one of `prompt` and `messages`. */
export interface GenerateRequest {
  readonly prompt?: string;
  readonly messages?: readonly ChatMessage[];
  readonly params?: Partial<GenerationParams>;
  readonly seed?: number;
  /** Record the execution trace (engines with `info.traces`). */
  readonly trace?: boolean;
  /** Aborting stops the generation (within one token) or its wait for the engine: GENERATION_CANCELLED. */
  readonly signal?: AbortSignal;
}

/** Why generation ended. */
export type FinishReason = "stop" | "length" | "eos";

/** A streamed piece of output. */
export interface GenerationChunk {
  readonly text: string;
  /** Token id (null when the engine does not expose ids). */
  readonly tokenId: number | null;
}

/** A recorded execution trace (docs/spec/verifiable-engine.md §5). */
export interface TraceSummary {
  /** Ordered Merkle root of the leaves. */
  readonly root: string;
  readonly leaves: number;
  /** Commitment to the integer model's weights. */
  readonly modelRoot: string;
  readonly hash: "keccak256";
  /** The token fed at each position (prompt, then generated tokens). */
  readonly tokens: readonly number[];
  /** How many of `tokens` are the prompt (BOS included); the rest were sampled. */
  readonly promptTokens: number;
  /**
   * Every token the SAMPLE steps chose after the prompt, the last one (an end token, or one never fed
   * back) included: what a receipt's `outputHash` and `outputTokens` commit to (requestCommitments.ts).
   */
  readonly sampled?: readonly number[];
  /** What the sampled tokens were drawn with (one seeded generator per position, spec §7). */
  readonly sampling: { readonly temperature: number; readonly topP: number; readonly seed: number };
  /** Every leaf with its step. */
  readonly steps: readonly {
    readonly pos: number;
    readonly layer: number;
    readonly op: string;
    readonly part: number;
    readonly leaf: string;
  }[];
}

/** Timings of a generation that ran here: generated tokens over the generation time. */
export function localTimings(
  promptMs: number,
  generationMs: number,
  generated: number,
): GenerationResult["timings"] {
  return { promptMs, generationMs, tokensPerSecond: generated / Math.max(generationMs / 1000, 1e-9) };
}

/** The complete result. */
export interface GenerationResult {
  readonly engine: string;
  readonly model: string;
  readonly text: string;
  readonly promptTokenIds: readonly number[] | null;
  readonly tokenIds: readonly number[] | null;
  readonly finishReason: FinishReason;
  /** Null when a remote server reported no usage. */
  readonly usage: { readonly promptTokens: number; readonly completionTokens: number } | null;
  readonly timings: {
    /** Prompt processing; for remote engines, the time to the first text. */
    readonly promptMs: number;
    readonly generationMs: number;
    /** Generated tokens per second of generation time; null without usage. */
    readonly tokensPerSecond: number | null;
  };
  readonly seed: number;
  readonly params: GenerationParams;
  readonly trace: TraceSummary | null;
}

/** What an engine is. */
export interface EngineInfo {
  readonly name: string;
  readonly model: string;
  /** Same request and seed give the same tokens, bit for bit, on any machine. */
  readonly deterministic: boolean;
  readonly traces: boolean;
  readonly contextLength: number | null;
  /** Generations that run at once; more calls to `stream` wait their turn (in call order). */
  readonly parallelism: number;
}

/** An inference engine. */
export interface Engine {
  readonly info: EngineInfo;
  /** Streams chunks; the generator's return value is the full result. */
  stream(request: GenerateRequest): AsyncGenerator<GenerationChunk, GenerationResult, void>;
  close(): Promise<void>;
}

/** Runs a request to completion. */
export async function generate(engine: Engine, request: GenerateRequest): Promise<GenerationResult> {
  const it = engine.stream(request);
  for (;;) {
    const next = await it.next();
    if (next.done) return next.value;
  }
}

/** Merges parameters over the defaults and checks them, reporting every problem. */
export function resolveParams(
  params: Partial<GenerationParams> | undefined,
  contextLength: number | null,
): GenerationParams {
  // The default budget shrinks to the context; an explicit one is checked against it.
  const fallback =
    contextLength === null ? DEFAULT_PARAMS.maxTokens : Math.min(DEFAULT_PARAMS.maxTokens, contextLength);
  const p = { ...DEFAULT_PARAMS, maxTokens: fallback, ...params };
  const problems: string[] = [];
  if (!(Number.isFinite(p.temperature) && p.temperature >= 0 && p.temperature <= 100))
    problems.push(`temperature must be in [0, 100], got ${p.temperature}`);
  if (!(p.topP > 0 && p.topP <= 1)) problems.push(`top-p must be in (0, 1], got ${p.topP}`);
  if (!(Number.isInteger(p.maxTokens) && p.maxTokens >= 1))
    problems.push(`max tokens must be a positive integer, got ${p.maxTokens}`);
  if (contextLength !== null && p.maxTokens > contextLength)
    problems.push(`max tokens ${p.maxTokens} exceeds the model's context of ${contextLength}`);
  if (p.stop.some((s) => typeof s !== "string" || s.length === 0))
    problems.push("stop strings must be non-empty");
  if (problems.length) throw new VerinferError("GENERATION_INVALID", problems.join("; "), { problems });
  return p;
}

/** The request's seed: default 0; an integer in [0, 2^32) so that every backend takes it as is. */
export function seedOf(request: GenerateRequest): number {
  const seed = request.seed ?? 0;
  if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff))
    throw new VerinferError("GENERATION_INVALID", `seed must be an integer in [0, 2^32), got ${seed}`);
  return seed;
}

/**
 * The prompt of a request. Chat messages are rendered as plain lines ("role: content"), which is what
 * base models without a chat template can continue; engines with templates render their own.
 */
export function promptOf(request: GenerateRequest): string {
  if ((request.prompt === undefined) === (request.messages === undefined)) {
    throw new VerinferError("GENERATION_INVALID", "give exactly one of prompt and messages");
  }
  if (request.prompt !== undefined) return request.prompt;
  const messages = request.messages as readonly ChatMessage[];
  if (messages.length === 0) throw new VerinferError("GENERATION_INVALID", "messages must not be empty");
  return `${messages.map((m) => `${m.role}: ${m.content}`).join("\n")}\nassistant:`;
}

/**
 * Tracks stop strings over streamed text: emits text only once it cannot be the start of a stop
 * string, and reports where the first stop string begins.
 */
export class StopMatcher {
  private buffer = "";
  constructor(private readonly stops: readonly string[]) {}

  /** Adds text; returns what can be emitted and whether a stop string was hit. */
  push(text: string): { emit: string; stopped: boolean } {
    this.buffer += text;
    let cut = -1;
    for (const s of this.stops) {
      const i = this.buffer.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      const emit = this.buffer.slice(0, cut);
      this.buffer = "";
      return { emit, stopped: true };
    }
    // Hold back the longest suffix that is a prefix of some stop string.
    let hold = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, this.buffer.length); n > hold; n--) {
        if (this.buffer.endsWith(s.slice(0, n))) {
          hold = n;
          break;
        }
      }
    }
    const emit = this.buffer.slice(0, this.buffer.length - hold);
    this.buffer = this.buffer.slice(this.buffer.length - hold);
    return { emit, stopped: false };
  }

  /** Whatever is held back at the end. */
  flush(): string {
    const rest = this.buffer;
    this.buffer = "";
    return rest;
  }
}
