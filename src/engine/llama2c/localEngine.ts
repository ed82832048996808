/**
 * The TypeScript engines in this thread: `ts` (float32) and `ts-int` (verifiable integer, with traces)
 * over a llama2.c checkpoint and tokenizer on disk. Servers and the CLI run them on worker threads
 * (threaded/threadedEngine.ts); each worker builds its engine with this.
 */
import type { Engine } from "../engine.ts";
import { FloatTransformer } from "./floatTransformer.ts";
import { IntTokenModel } from "./intTokenModel.ts";
import { createLlama2cEngine, type Llama2cEngineOptions } from "./llama2cEngine.ts";
import { loadLlama2c, quantizeCheckpoint } from "./modelFiles.ts";

/** What a local TypeScript engine loads. */
export interface LocalEngineSpec {
  readonly engine: "ts" | "ts-int";
  /** Checkpoint file. */
  readonly model: string;
  /** Tokenizer file (default: beside the model). */
  readonly tokenizer?: string | undefined;
  /** How the model is named in results (the path or URL the user gave). */
  readonly label: string;
}

/** Loads the model and builds the engine in this thread. */
export function createLocalEngine(spec: LocalEngineSpec, options: Llama2cEngineOptions = {}): Engine {
  const m = loadLlama2c(spec.model, spec.tokenizer);
  if (spec.engine === "ts") {
    return createLlama2cEngine(
      new FloatTransformer(m.checkpoint),
      m.tokenizer,
      // float32 with Math.exp/cos: reproducible on one runtime, not guaranteed across machines.
      { name: "ts", model: spec.label, deterministic: false, traces: false },
      options,
    );
  }
  return createLlama2cEngine(
    new IntTokenModel(quantizeCheckpoint(m.checkpoint, spec.label)),
    m.tokenizer,
    { name: "ts-int", model: spec.label, deterministic: true, traces: true },
    options,
  );
}
