/**
 * `verinfer serve` under load, each engine behind the real CLI server in a process of its own, on a
 * model of stories15M's shape (seeded random weights; GGUF for llama.cpp): time to first token,
 * requests/s and tokens/s with 1 and 2 workers (ts/ts-int: worker threads, each with the model;
 * llama-cpp: CPU threads of its one sequence), and /health latency while streams run. Also: encoding a
 * 64 KB prompt with the Llama 2 tokenizer (real BPE merges), and how long the server takes to turn a
 * 64 KB prompt away.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { toGguf } from "../src/engine/gguf/ggufWriter.ts";
import { PRESETS } from "../src/engine/llama2c/generateModel.ts";
import { loadLlama2c, writeGeneratedModel } from "../src/engine/llama2c/modelFiles.ts";
import { encode, parseTokenizer } from "../src/engine/llama2c/tokenizer.ts";

/** One engine and worker count. */
export interface ServeRun {
  readonly engine: string;
  readonly workers: number;
  /** Streamed request alone: time to the first content event, median and range (ms). */
  readonly ttftMs: { median: number; min: number; max: number };
  /** 2 × workers clients, each request `tokens` greedy tokens. */
  readonly requestsPerSecond: number;
  readonly tokensPerSecond: number;
  /** /health polled while `workers` streams run. */
  readonly health: { samples: number; p50Ms: number; p99Ms: number; maxMs: number };
  /** A 64 KB prompt: time until the 400 comes back (ms). */
  readonly rejectLongPromptMs: number;
}

/** Tokenizer timing. */
export interface TokenizerRun {
  readonly text: string;
  readonly chars: number;
  readonly tokens: number;
  readonly ms: { median: number; min: number; max: number };
}

/** Results. */
export interface ServeBench {
  readonly model: { preset: string; seed: number };
  readonly tokens: number;
  readonly runs: readonly ServeRun[];
  readonly tokenizer: readonly TokenizerRun[];
}

const CLI = fileURLToPath(new URL("../bin/verinfer.mjs", import.meta.url));
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const quantile = (xs: number[], q: number) => {
  const s = sorted(xs);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};
const spread = (xs: number[]) => ({ median: quantile(xs, 0.5), min: Math.min(...xs), max: Math.max(...xs) });

async function startServer(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [CLI, "serve", "--port", "0", "--json", "--max-queue", "64", ...args],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      // --json prints one (pretty-printed) document once the server listens.
      try {
        resolve((JSON.parse(out) as { url: string }).url);
      } catch {
        // not complete yet
      }
    });
    child.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  return { url, child };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.on("exit", resolve));
  child.kill("SIGINT");
  await exited;
}

const body = (maxTokens: number, stream: boolean, content = "Once upon a time") =>
  JSON.stringify({ messages: [{ role: "user", content }], max_tokens: maxTokens, stream });

async function post(url: string, payload: string): Promise<Response> {
  return fetch(`${url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: payload,
  });
}

/** Milliseconds to the first content event of a streamed request; the rest is read to the end. */
async function timeToFirstToken(url: string, tokens: number): Promise<number> {
  const t = performance.now();
  const response = await post(url, body(tokens, true));
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  let first: number | null = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    if (first === null && /"content":"[^"]/.test(text)) first = performance.now() - t;
  }
  return first ?? performance.now() - t;
}

async function measure(
  engine: string,
  model: string,
  workers: number,
  tokens: number,
  log: (l: string) => void,
) {
  const { url: base, child } = await startServer([
    "--engine",
    engine,
    "--model",
    model,
    "--threads",
    String(workers),
  ]);
  const url = base;
  try {
    await post(url, body(4, false)); // warm-up (JIT, caches)
    const ttft: number[] = [];
    for (let i = 0; i < 5; i++) ttft.push(await timeToFirstToken(url, 8));

    const clients = 2 * workers;
    const perClient = 4;
    const start = performance.now();
    let generated = 0;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let i = 0; i < perClient; i++) {
          const r = (await (await post(url, body(tokens, false))).json()) as {
            usage: { completion_tokens: number };
          };
          generated += r.usage.completion_tokens;
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;

    // /health while `workers` long streams run.
    const streams = Array.from({ length: workers }, () => timeToFirstToken(url, 200));
    const latencies: number[] = [];
    let streaming = true;
    void Promise.all(streams).then(() => {
      streaming = false;
    });
    await new Promise((r) => setTimeout(r, 100));
    while (streaming) {
      const t = performance.now();
      await (await fetch(`${base.replace(/\/v1$/, "")}/health`)).json();
      latencies.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all(streams);

    const long = "Once upon a time ".repeat(4000).slice(0, 65_536);
    const t = performance.now();
    const rejected = await post(url, body(4, false, long));
    const rejectLongPromptMs = performance.now() - t;
    if (rejected.status !== 400) log(`  warning: a 64 KB prompt got HTTP ${rejected.status}`);

    return {
      engine,
      workers,
      ttftMs: spread(ttft),
      requestsPerSecond: (clients * perClient) / seconds,
      tokensPerSecond: generated / seconds,
      health: {
        samples: latencies.length,
        p50Ms: quantile(latencies, 0.5),
        p99Ms: quantile(latencies, 0.99),
        maxMs: Math.max(...latencies),
      },
      rejectLongPromptMs,
    } satisfies ServeRun;
  } finally {
    await stop(child);
  }
}

function benchTokenizer(tokenizerFile: string | null): TokenizerRun[] {
  if (tokenizerFile === null) return [];
  const t = parseTokenizer(new Uint8Array(readFileSync(tokenizerFile)), 32000);
  if (!t.ok) throw new Error(t.error.message);
  const story = "Once upon a time there was a little girl named Lily who loved to play in the park. ";
  const texts: [string, string][] = [
    ["English prose", story.repeat(1000).slice(0, 65_536)],
    ["one repeated letter", "a".repeat(65_536)],
    ["mixed scripts and emoji", "naïve 日本語 テキスト 🦙 ünïcödé ".repeat(3000).slice(0, 65_536)],
  ];
  return texts.map(([name, text]) => {
    const ms: number[] = [];
    let tokens = 0;
    for (let i = 0; i < 7; i++) {
      const start = performance.now();
      tokens = encode(t.value, text).length;
      ms.push(performance.now() - start);
    }
    return { text: name, chars: text.length, tokens, ms: spread(ms) };
  });
}

/** Runs every engine with 1 and 2 workers; `tokens` generated per throughput request. */
export async function benchServe(
  dataDir: string | null,
  log: (line: string) => void,
  tokens = 32,
): Promise<ServeBench> {
  const tokenizer = benchTokenizer(dataDir ? join(dataDir, "llama2c", "tokenizer.bin") : null);
  const dir = mkdtempSync(join(tmpdir(), "verinfer-bench-serve-"));
  try {
    const { model } = writeGeneratedModel(join(dir, "m15.bin"), PRESETS["15m"] as never, 1);
    const m = loadLlama2c(model);
    const gguf = join(dir, "m15.gguf");
    writeFileSync(gguf, toGguf(m.checkpoint, m.tokenizer, "m15"));
    const runs: ServeRun[] = [];
    for (const [engine, file] of [
      ["ts", model],
      ["ts-int", model],
      ["llama-cpp", gguf],
    ] as const) {
      for (const workers of [1, 2]) {
        log(`  ${engine}, ${workers} worker${workers > 1 ? "s" : ""}`);
        runs.push(await measure(engine, file, workers, engine === "ts-int" ? tokens / 4 : tokens, log));
      }
    }
    return { model: { preset: "15m", seed: 1 }, tokens, runs, tokenizer };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
