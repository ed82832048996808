import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { generate } from "../../engine/engine.ts";
import { createEngine } from "../../engine/registry.ts";
import { cli } from "../../testing/cli.ts";
import { itWithData } from "../../testing/sharedData.ts";

const dir = mkdtempSync(join(tmpdir(), "verinfer-generate-"));
const tiny = join(dir, "tiny.bin");
const gguf = join(dir, "tiny.gguf");

beforeAll(async () => {
  const init = await cli("model", "init", "--preset", "tiny", "--seed", "3", "--out", tiny);
  expect(init.code).toBe(0);
  expect(init.stdout).toMatch(/wrote .*tiny\.bin .*and .*tiny\.tokenizer\.bin/);
  expect(init.stdout).toMatch(/not language/);
});

const json = (r: { stdout: string }) => JSON.parse(r.stdout);

describe("verinfer model", () => {
  it("init refuses to overwrite without --force; inspect shows the shape", async () => {
    const again = await cli("model", "init", "--preset", "tiny", "--out", tiny);
    expect(again).toMatchObject({ code: 2, stderr: expect.stringMatching(/exists; pass --force/) });
    const info = json(await cli("model", "inspect", tiny, "--json"));
    expect(info).toMatchObject({
      config: { dim: 64, nLayers: 2, vocabSize: 512, seqLen: 128 },
      parameters: 123_712,
    });
    expect((await cli("model", "inspect", tiny)).stdout).toMatch(/parameters\s+123,712/);
    const junk = join(dir, "junk.bin");
    writeFileSync(junk, "not a checkpoint");
    expect((await cli("model", "inspect", junk)).stderr).toMatch(/\[MODEL_MALFORMED\]/);
    expect((await cli("model", "inspect", join(dir, "absent.bin"))).stderr).toMatch(/\[FILE_NOT_FOUND\]/);
  });

  it("quality compares the integer engine with the float engine; bad positions are refused", async () => {
    const loss = json(await cli("model", "quality", tiny, "--positions", "16", "--json"));
    expect(loss).toMatchObject({ kind: "verinfer.quantization-loss", positions: 16, greedyAgreement: 16 });
    expect(loss.meanAbsLogitError).toBeGreaterThan(0);
    expect(loss.meanAbsLogitError).toBeLessThan(0.01);
    expect(loss.maxAbsLogitError).toBeGreaterThanOrEqual(loss.meanAbsLogitError);
    expect((await cli("model", "quality", tiny)).stdout).toMatch(/greedy-token agreement\s+64\/64/);
    const tooMany = await cli("model", "quality", tiny, "--positions", "129");
    expect(tooMany).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/\[GENERATION_INVALID\].*1 to .*128/),
    });
  });

  it("convert writes a GGUF that llama.cpp runs with the same greedy tokens as the TS engine", async () => {
    const template = join(dir, "chat.jinja");
    writeFileSync(
      template,
      "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:",
    );
    const converted = await cli(
      "model",
      "convert",
      tiny,
      "--out",
      gguf,
      "--chat-template",
      template,
      "--json",
    );
    expect(json(converted)).toMatchObject({ kind: "verinfer.gguf", out: gguf });
    const args = ["--prompt", "Once upon a time", "--max-tokens", "30", "--json"];
    const ts = json(await cli("generate", "--engine", "ts", "--model", tiny, ...args));
    const cpp = json(await cli("generate", "--engine", "llama-cpp", "--model", gguf, ...args));
    expect(cpp.tokenIds).toEqual(ts.tokenIds);
    expect(cpp.text).toBe(ts.text);
  });
});

describe("verinfer generate", () => {
  it("streams text to stdout and statistics to stderr; the same seed gives the same output", async () => {
    const sampled = (seed: string) => [
      "--model",
      tiny,
      "--prompt",
      "hello",
      "--temperature",
      "0.9",
      "--seed",
      seed,
      "--max-tokens",
      "20",
    ];
    const args = sampled("5");
    const run = await cli("generate", ...args);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(
      /\[ts\] \d+ prompt \+ 20 generated tokens, [\d.]+ tokens\/s, finish: length, seed 5/,
    );
    const result = json(await cli("generate", ...args, "--json"));
    expect(run.stdout).toBe(`${result.text}\n`);
    expect(result).toMatchObject({ engine: "ts", seed: 5, params: { temperature: 0.9, maxTokens: 20 } });
    expect(json(await cli("generate", ...args, "--json")).tokenIds).toEqual(result.tokenIds);
    expect(json(await cli("generate", ...sampled("6"), "--json")).tokenIds).not.toEqual(result.tokenIds);
  });

  itWithData(
    "reproduces the shared checkpoint's 64 golden tokens from the command line",
    [
      "llama2c/stories260K-plctlab-variant.bin",
      "llama2c/tok512.bin",
      "llama2c/stories260K-plctlab-variant.golden.json",
    ],
    async (model, tokenizer, goldenPath) => {
      const golden = JSON.parse(readFileSync(goldenPath, "utf8"));
      const r = json(
        await cli(
          "generate",
          "--model",
          model,
          "--tokenizer",
          tokenizer,
          "--prompt",
          "",
          "--max-tokens",
          "64",
          "--json",
        ),
      );
      expect(r.tokenIds).toEqual(golden.greedy_ids);
    },
  );

  it("ts-int records the execution trace to a file; the root is the same on every run", async () => {
    const trace = join(dir, "trace.json");
    const args = [
      "--engine",
      "ts-int",
      "--model",
      tiny,
      "--prompt",
      "hi",
      "--max-tokens",
      "5",
      "--trace",
      trace,
      "--json",
    ];
    const r = json(await cli("generate", ...args));
    const file = JSON.parse(readFileSync(trace, "utf8"));
    expect(r.trace).toEqual({ root: file.root, leaves: file.leaves, modelRoot: file.modelRoot, file: trace });
    expect(file.root).toMatch(/^0x[0-9a-f]{64}$/);
    expect(file.steps).toHaveLength(file.leaves);
    expect(file.tokens).toEqual([...r.promptTokenIds, ...r.tokenIds.slice(0, -1)]);
    expect(json(await cli("generate", ...args)).trace.root).toBe(file.root);
    const human = await cli("generate", ...args.slice(0, -1));
    expect(human.stderr).toMatch(new RegExp(`trace root ${file.root} \\(${file.leaves} leaves\\)`));
  });

  it("rejects bad input with a code and a message, writing nothing", async () => {
    const trace = join(dir, "never.json");
    const cases: [string[], RegExp][] = [
      [["--prompt", "x"], /\[CONFIG_INVALID\] invalid engine configuration: model: is required/],
      [["--model", join(dir, "absent.bin"), "--prompt", "x"], /\[FILE_NOT_FOUND\] model not found/],
      [
        ["--model", tiny, "--prompt", "x", "--trace", trace],
        /\[GENERATION_INVALID\] the ts engine does not record/,
      ],
      [
        ["--model", tiny, "--prompt", "x", "--max-tokens", "500"],
        /\[GENERATION_INVALID\] max tokens 500 exceeds the model's context of 128/,
      ],
      [
        ["--model", tiny, "--prompt", "x", "--top-p", "0"],
        /\[GENERATION_INVALID\] top-p must be in \(0, 1\]/,
      ],
      [["--engine", "llama-cpp", "--model", tiny, "--prompt", "x"], /\[MODEL_MALFORMED\] .*no GGUF magic/],
      [
        [
          "--engine",
          "openai",
          "--model",
          "http://127.0.0.1:9/v1",
          "--served-model",
          "m",
          "--retries",
          "0",
          "--prompt",
          "x",
        ],
        /\[UPSTREAM_CONNECTION_FAILED\] cannot reach/,
      ],
      [
        ["--engine", "openai", "--model", "localhost:8080", "--prompt", "x"],
        /\[CONFIG_INVALID\] base URL must be http or https/,
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await cli("generate", ...argv);
      // An invalid request (configuration, parameters) exits 2; a failure while running exits 1.
      const invalid = /CONFIG_INVALID|GENERATION_INVALID/.test(message.source);
      expect(r.code, argv.join(" ")).toBe(invalid ? 2 : 1);
      expect(r.stderr, argv.join(" ")).toMatch(message);
      expect(r.stdout).toBe("");
    }
    expect(existsSync(trace)).toBe(false);
    expect((await cli("generate", "--engine", "vllm", "--model", tiny, "--prompt", "x")).code).toBe(2);
    // Negative values get the range message, not the parser's "ambiguous argument".
    for (const [flag, message] of [
      ["--seed", /--seed must be at least 0, got -1/],
      ["--temperature", /--temperature must be at least 0, got -1/],
    ] as const) {
      const r = await cli("generate", "--model", tiny, "--prompt", "x", flag, "-1");
      expect(r).toMatchObject({ code: 2, stderr: expect.stringMatching(message) });
    }
    // A directory is not a model, for every local engine.
    for (const engine of ["ts", "ts-int", "llama-cpp"]) {
      const r = await cli("generate", "--engine", engine, "--model", dir, "--prompt", "x");
      expect(r).toMatchObject({
        code: 1,
        stderr: expect.stringMatching(/\[FILE_NOT_FOUND\] model .* is a directory, not a file/),
      });
    }
  });

  it("takes the engine from a config file and the environment, flags winning", async () => {
    const config = join(dir, "verinfer.json");
    writeFileSync(config, JSON.stringify({ engine: { engine: "ts-int", model: join(dir, "absent.bin") } }));
    process.env.VERINFER_MODEL = tiny;
    try {
      const fromEnv = json(
        await cli("generate", "--config", config, "--prompt", "x", "--max-tokens", "2", "--json"),
      );
      expect(fromEnv).toMatchObject({ engine: "ts-int", model: tiny });
      const flagged = json(
        await cli(
          "generate",
          "--config",
          config,
          "--engine",
          "ts",
          "--prompt",
          "x",
          "--max-tokens",
          "2",
          "--json",
        ),
      );
      expect(flagged.engine).toBe("ts");
    } finally {
      delete process.env.VERINFER_MODEL;
    }
  });
});

describe("verinfer serve", () => {
  let server: ChildProcess;
  let url: string;
  let stderr = "";
  beforeAll(async () => {
    server = spawn(
      process.execPath,
      ["bin/verinfer.mjs", "serve", "--model", tiny, "--port", "0", "--json"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    server.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    url = await new Promise<string>((resolve, reject) => {
      let out = "";
      server.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("\n")) resolve(JSON.parse(out).url);
      });
      server.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
  }, 60_000);
  afterAll(() => {
    if (server.exitCode === null) server.kill("SIGKILL");
  });

  it("serves the engine to `generate --engine openai`, then stops cleanly on SIGINT", async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    await vi.waitFor(() => expect(stderr).toMatch(/serving tiny \(ts, 1 at once\) at http/));
    const remote = json(
      await cli(
        "generate",
        "--engine",
        "openai",
        "--model",
        url,
        "--prompt",
        "hello",
        "--max-tokens",
        "12",
        "--json",
      ),
    );
    const local = await createEngine({ engine: "ts", model: tiny });
    const direct = await generate(local, {
      messages: [{ role: "user", content: "hello" }],
      params: { maxTokens: 12 },
    });
    expect(remote).toMatchObject({ engine: "openai", model: "tiny", text: direct.text, usage: direct.usage });
    const exited = new Promise<number | null>((resolve) => server.on("exit", resolve));
    server.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/stopping/);
  });
});
