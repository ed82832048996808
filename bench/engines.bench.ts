/**
 * Inference engines on one model of stories15M's shape (dim 288, 6 layers, 6 heads, vocab 32000;
 * seeded random weights, converted to GGUF for llama.cpp): generated tokens per second on one thread
 * for the TS float engine (WASM SIMD and plain TypeScript kernels), the TS integer engine (with and
 * without the execution trace) and node-llama-cpp; and the memory each adds. Each engine runs in a
 * process of its own (bench/engineRunner.ts), one after the other.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { toGguf } from "../src/engine/gguf/ggufWriter.ts";
import { PRESETS } from "../src/engine/llama2c/generateModel.ts";
import { loadLlama2c, writeGeneratedModel } from "../src/engine/llama2c/modelFiles.ts";
import type { EngineRun } from "./engineRunner.ts";

/** Results. */
export interface EnginesBench {
  readonly model: { preset: string; seed: number; tokens: number; runs: number };
  readonly runs: readonly EngineRun[];
}

const RUNNER = fileURLToPath(new URL("./engineRunner.ts", import.meta.url));

/** Runs every engine; `tokens` generated per request, median of `runs` requests. */
export function benchEngines(log: (line: string) => void, tokens = 64, runs = 3): EnginesBench {
  const dir = mkdtempSync(join(tmpdir(), "verinfer-bench-engines-"));
  try {
    const config = PRESETS["15m"];
    if (!config) throw new Error("no 15m preset");
    const { model } = writeGeneratedModel(join(dir, "m15.bin"), config, 1);
    const m = loadLlama2c(model);
    const gguf = join(dir, "m15.gguf");
    writeFileSync(gguf, toGguf(m.checkpoint, m.tokenizer, "m15"));
    const results: EngineRun[] = [];
    for (const [engine, file] of [
      ["llama-cpp", gguf],
      ["ts-simd", model],
      ["ts-plain", model],
      ["ts-int", model],
    ] as const) {
      log(`  ${engine}: ${tokens} tokens x ${runs} runs`);
      const out = execFileSync(
        process.execPath,
        ["--expose-gc", "--import", "tsx", RUNNER, engine, file, String(tokens), String(runs)],
        { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
      );
      results.push(JSON.parse(out.trim().split("\n").at(-1) as string) as EngineRun);
    }
    return { model: { preset: "15m", seed: 1, tokens, runs }, runs: results };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
