/**
 * One engine's measurement in a process of its own, so that its memory is its own: loads the engine,
 * warms up, then runs greedy generations and prints one JSON line (speeds, load time, memory).
 * Usage: node --expose-gc --import tsx bench/engineRunner.ts ENGINE MODEL TOKENS RUNS
 * ENGINE: ts-simd | ts-plain | ts-int | llama-cpp. ts-int alternates runs with and without the trace,
 * then re-executes the traced request as a fisherman does.
 */
import { readFileSync } from "node:fs";
import { fastKeccak256 } from "../src/crypto/nativeSecp256k1.ts";
import type { Engine, GenerateRequest, TraceSummary } from "../src/engine/engine.ts";
import { generate } from "../src/engine/engine.ts";
import { FloatTransformer } from "../src/engine/llama2c/floatTransformer.ts";
import { createLlama2cEngine } from "../src/engine/llama2c/llama2cEngine.ts";
import { loadCheckpoint, loadLlama2c, quantizeCheckpoint } from "../src/engine/llama2c/modelFiles.ts";
import { createEngine } from "../src/engine/registry.ts";
import { verifiableGeneration } from "../src/protocol/verifiable/verifiableGeneration.ts";

/** What the runner prints. */
export interface EngineRun {
  readonly engine: string;
  readonly kernel: string;
  readonly loadSeconds: number;
  readonly tokens: number;
  /** Median generation speed (generated tokens / generation time), per mode. */
  readonly tokensPerSecond: number;
  /** ts-int: median speed with the trace recorded. */
  readonly tracedTokensPerSecond: number | null;
  /** ts-int: median wall time per request (prompt, generation, Merkle root) without and with the trace. */
  readonly requestSeconds: number;
  readonly tracedRequestSeconds: number | null;
  readonly traceLeaves: number | null;
  /**
   * ts-int: median wall time of a fisherman's re-execution of the traced request (the protocol's replay
   * with the native keccak, as the fisherman runs it: every step's output and the trace tree), checked
   * to give the served trace root. Measured after the memory, with a second copy of the model loaded.
   */
  readonly reexecutionSeconds: number | null;
  /** Resident memory of the process after the runs and a GC, its peak, and before loading (node + tsx), in MiB. */
  readonly rssMiB: number;
  readonly peakRssMiB: number;
  readonly baselineRssMiB: number;
}

const [kind, model, tokensArg, runsArg] = process.argv.slice(2);
const tokens = Number(tokensArg ?? 64);
const runs = Number(runsArg ?? 3);
const mib = (bytes: number) => bytes / 2 ** 20;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Peak resident memory of this process in MiB. Linux's VmHWM belongs to this program image, whereas
 * getrusage's maxRSS survives exec and would report the parent's peak when that was higher. */
function peakRssMiB(): number {
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (hwm) return Number(hwm[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

async function load(): Promise<{ engine: Engine; kernel: string }> {
  switch (kind) {
    case "ts-simd":
    case "ts-plain": {
      const m = loadLlama2c(model as string);
      const transformer = new FloatTransformer(m.checkpoint, { simd: kind === "ts-simd" });
      const engine = createLlama2cEngine(transformer, m.tokenizer, {
        name: "ts",
        model: model as string,
        deterministic: false,
        traces: false,
      });
      return { engine, kernel: transformer.kernel };
    }
    case "ts-int":
      return { engine: await createEngine({ engine: "ts-int", model: model as string }), kernel: "integer" };
    case "llama-cpp":
      return {
        engine: await createEngine({ engine: "llama-cpp", model: model as string, threads: 1 }),
        kernel: "llama.cpp CPU, F32",
      };
    default:
      throw new Error(`unknown engine ${kind}`);
  }
}

const baseline = process.memoryUsage().rss;
const start = performance.now();
const { engine, kernel } = await load();
const loadSeconds = (performance.now() - start) / 1000;
const request: GenerateRequest = { prompt: "Once upon a time", params: { maxTokens: tokens } };
const traced = kind === "ts-int";
// Warm-up (JIT, caches; for ts-int also the one-time model commitment).
await generate(engine, { ...request, trace: traced });
const speeds: number[] = [];
const tracedSpeeds: number[] = [];
const walls: number[] = [];
const tracedWalls: number[] = [];
let leaves: number | null = null;
let lastTrace: TraceSummary | null = null;
for (let i = 0; i < runs; i++) {
  for (const trace of traced ? [false, true] : [false]) {
    const t = performance.now();
    const r = await generate(engine, { ...request, trace });
    const wall = (performance.now() - t) / 1000;
    if (r.usage?.completionTokens !== tokens)
      throw new Error(`${kind} stopped after ${r.usage?.completionTokens} tokens`);
    (trace ? tracedSpeeds : speeds).push(r.timings.tokensPerSecond as number);
    (trace ? tracedWalls : walls).push(wall);
    if (r.trace) {
      leaves = r.trace.leaves;
      lastTrace = r.trace;
    }
  }
}
// Collect garbage first (the runner is started with --expose-gc) so that buffers the engine no longer
// holds, such as the checkpoint file once the SIMD kernel copied it, do not count as its memory.
// Two passes a tick apart: backing stores of collected ArrayBuffers are released after the first.
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
await new Promise((resolve) => setTimeout(resolve, 50));
gc?.();
const finalRss = process.memoryUsage().rss;
const peakRss = peakRssMiB();
const reexecutions: number[] = [];
if (lastTrace) {
  const intModel = quantizeCheckpoint(loadCheckpoint(model as string), model as string);
  const context = { prompt: lastTrace.tokens.slice(0, lastTrace.promptTokens), sampling: lastTrace.sampling };
  const outputTokens = lastTrace.sampled?.length ?? lastTrace.tokens.length - lastTrace.promptTokens;
  const keccak = fastKeccak256();
  // The first computes the model's weights root, once per model as in a fisherman: not counted.
  for (let i = 0; i <= runs; i++) {
    const t = performance.now();
    const g = verifiableGeneration(intModel, context, outputTokens, null, keccak);
    if (i > 0) reexecutions.push((performance.now() - t) / 1000);
    if (g.fields.traceRoot !== lastTrace.root)
      throw new Error(`re-execution gave trace root ${g.fields.traceRoot}, served ${lastTrace.root}`);
  }
}
const result: EngineRun = {
  engine: kind as string,
  kernel,
  loadSeconds,
  tokens,
  tokensPerSecond: median(speeds),
  tracedTokensPerSecond: traced ? median(tracedSpeeds) : null,
  requestSeconds: median(walls),
  tracedRequestSeconds: traced ? median(tracedWalls) : null,
  traceLeaves: leaves,
  reexecutionSeconds: reexecutions.length ? median(reexecutions) : null,
  rssMiB: mib(finalRss),
  peakRssMiB: peakRss,
  baselineRssMiB: mib(baseline),
};
await engine.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
