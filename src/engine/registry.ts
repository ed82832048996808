/**
 * Picks and builds an engine from configuration: `ts` (float32, llama2.c checkpoints), `ts-int`
 * (verifiable integer mode, with execution traces), `llama-cpp` (GGUF through node-llama-cpp) and
 * `openai` (any OpenAI-compatible server).
 */
import { z } from "zod";
import { cacheDir } from "../config/cacheDir.ts";
import { resolveLayers } from "../config/layeredConfig.ts";
import type { Engine } from "./engine.ts";
import { createLlamaCppEngine } from "./llamaCpp/llamaCppEngine.ts";
import { type DownloadOptions, localModel } from "./modelSource.ts";
import { createOpenAiEngine } from "./openaiCompatible/openaiEngine.ts";
import { createThreadedEngine } from "./threaded/threadedEngine.ts";

/** Engine names. */
export const ENGINES = ["ts", "ts-int", "llama-cpp", "openai"] as const;
/** An engine name. */
export type EngineName = (typeof ENGINES)[number];

/**
 * What selects and configures an engine (a node option schema: defaults < config file "engine"
 * section < `VERINFER_*` environment < flags, see {@link ENGINE_ENV}).
 */
export const ENGINE_CONFIG = z.object({
  engine: z.enum(ENGINES).default("ts"),
  /** Model file path or http(s) URL, downloaded once into the cache (ts, ts-int, llama-cpp); base URL (openai). */
  model: z
    .string({ error: "is required (--model, VERINFER_MODEL or the config file)" })
    .min(1, "is required (--model, VERINFER_MODEL or the config file)"),
  /** llama2.c tokenizer, path or URL (default: beside the model). */
  tokenizer: z.string().min(1).optional(),
  /** The model name an OpenAI-compatible server serves (default: its only model). */
  servedModel: z.string().min(1).optional(),
  apiKey: z.string().min(1).optional(),
  timeoutMs: z.coerce.number().int().min(100).max(3_600_000).default(120_000),
  maxRetries: z.coerce.number().int().min(0).max(10).default(2),
  retryBaseMs: z.coerce.number().int().min(0).max(60_000).default(500),
  /**
   * ts, ts-int: worker threads, each with the model loaded, i.e. generations at once; llama-cpp: CPU
   * threads of its one sequence; openai: requests at once to the server.
   */
  threads: z.coerce.number().int().min(1).max(256).default(1),
  /**
   * ts, ts-int: the niceness (0–19) the generation threads lower themselves to, so that what shares
   * their cores runs first (a worker's spot-check proofs, which have deadlines). 0: as the process.
   */
  nice: z.coerce.number().int().min(0).max(19).default(0),
  /** Context length (llama-cpp; default the model's, at most 4096). */
  contextSize: z.coerce.number().int().min(8).optional(),
});
/** Engine settings. */
export type EngineConfig = z.input<typeof ENGINE_CONFIG>;

/** The environment variable of each engine setting. */
export const ENGINE_ENV = {
  engine: "VERINFER_ENGINE",
  model: "VERINFER_MODEL",
  tokenizer: "VERINFER_TOKENIZER",
  servedModel: "VERINFER_SERVED_MODEL",
  apiKey: "VERINFER_OPENAI_API_KEY",
  timeoutMs: "VERINFER_ENGINE_TIMEOUT_MS",
  maxRetries: "VERINFER_ENGINE_MAX_RETRIES",
  threads: "VERINFER_ENGINE_THREADS",
  nice: "VERINFER_ENGINE_NICE",
} as const;

/** What the caller may observe while an engine is built. */
export interface EngineHooks {
  /** Progress of model downloads (models given by URL). */
  readonly onDownload?: DownloadOptions["onProgress"];
  /** Where downloads are cached (default {@link cacheDir}). */
  readonly cacheDir?: string;
}

/** Builds the configured engine. */
export async function createEngine(settings: EngineConfig, hooks: EngineHooks = {}): Promise<Engine> {
  const config = resolveLayers(ENGINE_CONFIG, "engine", [settings]);
  const files = () =>
    localModel(config.model, config.tokenizer, config.engine !== "llama-cpp", {
      cacheDir: hooks.cacheDir ?? cacheDir(),
      onProgress: hooks.onDownload,
      timeoutMs: config.timeoutMs,
      maxRetries: config.maxRetries,
      retryBaseMs: config.retryBaseMs,
    });
  switch (config.engine) {
    case "ts":
    case "ts-int": {
      const local = await files();
      return createThreadedEngine(
        { engine: config.engine, model: local.model, tokenizer: local.tokenizer, label: config.model },
        config.threads,
        config.nice,
      );
    }
    case "llama-cpp":
      return createLlamaCppEngine((await files()).model, {
        threads: config.threads,
        contextSize: config.contextSize,
      });
    case "openai":
      return createOpenAiEngine({
        baseUrl: config.model,
        model: config.servedModel,
        apiKey: config.apiKey,
        timeoutMs: config.timeoutMs,
        maxRetries: config.maxRetries,
        retryBaseMs: config.retryBaseMs,
        parallelism: config.threads,
      });
  }
}
