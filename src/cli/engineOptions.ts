/** CLI options that select and configure an inference engine (`verinfer generate`, `verinfer serve`). */
import { basename } from "node:path";
import { configFileSection, envLayer, resolveLayers } from "../config/layeredConfig.ts";
import type { Engine } from "../engine/engine.ts";
import { createEngine, ENGINE_CONFIG, ENGINE_ENV, ENGINES, type EngineConfig } from "../engine/registry.ts";
import type { Progress } from "../report/progress.ts";
import type { CommandContext, OptionSpec } from "./framework/command.ts";

/** Engine options; defaults live in the schema so that the config file and environment can set them. */
export const ENGINE_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  engine: {
    type: "string",
    choices: ENGINES,
    description: "inference engine (default ts; env VERINFER_ENGINE)",
  },
  model: {
    type: "string",
    value: "PATH_OR_URL",
    description:
      "model file or http(s) URL (downloaded once into the cache), or the server's base URL for openai (env VERINFER_MODEL)",
  },
  tokenizer: {
    type: "string",
    value: "PATH_OR_URL",
    description: "llama2.c tokenizer (default: <model>.tokenizer.bin or tokenizer.bin beside the model)",
  },
  "served-model": {
    type: "string",
    value: "NAME",
    description: "model name on the OpenAI-compatible server (default: its only model)",
  },
  "api-key": {
    type: "string",
    value: "KEY",
    description: "API key of the OpenAI-compatible server (env VERINFER_OPENAI_API_KEY)",
  },
  timeout: {
    type: "number",
    value: "SECONDS",
    min: 0.1,
    description:
      "openai and downloads: time to wait for a reply to start, and between streamed chunks (default 120)",
  },
  retries: {
    type: "integer",
    value: "N",
    min: 0,
    max: 10,
    description: "openai and downloads: retries with exponential backoff before the reply starts (default 2)",
  },
  threads: {
    type: "integer",
    value: "N",
    min: 1,
    description:
      "ts, ts-int: worker threads, each with the model loaded (generations at once); llama-cpp: CPU threads; openai: requests at once (default 1)",
  },
  nice: {
    type: "integer",
    value: "N",
    min: 0,
    max: 19,
    description:
      "ts, ts-int: niceness the generation threads lower themselves to, so that other work on their cores runs first (default 0)",
  },
  "context-size": {
    type: "integer",
    value: "N",
    min: 8,
    description: "llama-cpp: context length (default the model's, at most 4096)",
  },
  config: {
    type: "string",
    value: "FILE",
    description:
      'JSON config file; its "engine" section sets engine, model, servedModel, apiKey, timeoutMs, …',
  },
};

/** The engine configuration from the config file, the environment and the flags (in that order). */
export function engineConfigFrom(ctx: CommandContext): EngineConfig {
  const timeout = ctx.number("timeout");
  return resolveLayers(ENGINE_CONFIG, "engine", [
    configFileSection(ctx.string("config"), "engine"),
    envLayer(process.env, ENGINE_ENV),
    {
      engine: ctx.string("engine"),
      model: ctx.string("model"),
      tokenizer: ctx.string("tokenizer"),
      servedModel: ctx.string("served-model"),
      apiKey: ctx.string("api-key"),
      timeoutMs: timeout === undefined ? undefined : Math.round(timeout * 1000),
      maxRetries: ctx.number("retries"),
      threads: ctx.number("threads"),
      nice: ctx.number("nice"),
      contextSize: ctx.number("context-size"),
    },
  ]);
}

/** Builds the configured engine, with a progress bar while a model given by URL downloads. */
export function engineFrom(ctx: CommandContext): Promise<Engine> {
  const bars = new Map<string, Progress>();
  return createEngine(engineConfigFrom(ctx), {
    onDownload(url, received, total) {
      if (total === null) return;
      let bar = bars.get(url);
      if (!bar) {
        bar = ctx.progress(`downloading ${basename(new URL(url).pathname)} (KiB)`, Math.ceil(total / 1024));
        bars.set(url, bar);
      }
      bar.update(Math.floor(received / 1024));
      if (received === total) bar.done();
    },
  });
}
