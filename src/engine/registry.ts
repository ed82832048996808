/**
 * Picks and builds an engine from configuration: `ts` (float32, llama2.c checkpoints), `ts-int`
 * (verifiable integer mode, with execution traces), `llama-cpp` (GGUF through node-llama-cpp) and
 * `openai` (any OpenAI-compatible server).
 */
import { VerinferError } from "../errors.ts";
import { quantizeModel } from "../protocol/verifiable/intModel.ts";
import type { Engine } from "./engine.ts";
import { FloatTransformer } from "./llama2c/floatTransformer.ts";
import { IntTokenModel } from "./llama2c/intTokenModel.ts";
import { createLlama2cEngine } from "./llama2c/llama2cEngine.ts";
import { loadLlama2c } from "./llama2c/modelFiles.ts";
import { createLlamaCppEngine } from "./llamaCpp/llamaCppEngine.ts";

/** Engine names. */
export const ENGINES = ["ts", "ts-int", "llama-cpp", "openai"] as const;
/** An engine name. */
export type EngineName = (typeof ENGINES)[number];

/** What selects and configures an engine. */
export interface EngineConfig {
  readonly engine: EngineName;
  /** Model file path (ts, ts-int, llama-cpp) or base URL (openai). */
  readonly model: string;
  readonly tokenizer?: string | undefined;
  /** The model name an OpenAI-compatible server serves. */
  readonly servedModel?: string | undefined;
  readonly apiKey?: string | undefined;
  readonly timeoutMs?: number | undefined;
  readonly maxRetries?: number | undefined;
  /** CPU threads (llama-cpp). */
  readonly threads?: number | undefined;
  /** Context length (llama-cpp; default the model's, at most 4096). */
  readonly contextSize?: number | undefined;
}

/** Builds the configured engine. */
export async function createEngine(config: EngineConfig): Promise<Engine> {
  switch (config.engine) {
    case "ts": {
      const m = loadLlama2c(config.model, config.tokenizer);
      return createLlama2cEngine(new FloatTransformer(m.checkpoint), m.tokenizer, {
        name: "ts",
        model: config.model,
        // float32 with Math.exp/cos: reproducible on one runtime, not guaranteed across machines.
        deterministic: false,
        traces: false,
      });
    }
    case "ts-int": {
      const m = loadLlama2c(config.model, config.tokenizer);
      const quantized = quantizeModel(m.checkpoint.config, m.checkpoint.weights);
      if (!quantized.ok)
        throw new VerinferError(quantized.error.code, `${config.model}: ${quantized.error.message}`);
      return createLlama2cEngine(new IntTokenModel(quantized.value), m.tokenizer, {
        name: "ts-int",
        model: config.model,
        deterministic: true,
        traces: true,
      });
    }
    case "llama-cpp":
      return createLlamaCppEngine(config.model, { threads: config.threads, contextSize: config.contextSize });
    default:
      throw new VerinferError(
        "ENGINE_UNKNOWN",
        `unknown engine "${config.engine}"; known: ${ENGINES.join(", ")}`,
      );
  }
}
