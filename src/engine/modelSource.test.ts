import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate } from "./engine.ts";
import { toGguf } from "./gguf/ggufWriter.ts";
import { PRESETS } from "./llama2c/generateModel.ts";
import { loadLlama2c, writeGeneratedModel } from "./llama2c/modelFiles.ts";
import { cachedPathOf } from "./modelSource.ts";
import { createEngine } from "./registry.ts";

/**
 * A file server on loopback: serves `files` by path; `/truncated/*` promises more bytes than it
 * sends; `/flaky/*` answers 503 on every other request. Records every path asked for.
 */
const files = new Map<string, Uint8Array>();
const asked: string[] = [];
let flakyCount = 0;
let server: Server;
let base: string;

const dir = mkdtempSync(join(tmpdir(), "verinfer-model-source-"));
const fast = { timeoutMs: 5_000, maxRetries: 1, retryBaseMs: 10 };

beforeAll(async () => {
  const { model, tokenizer } = writeGeneratedModel(join(dir, "tiny.bin"), PRESETS.tiny!, 5);
  const m = loadLlama2c(model);
  for (const prefix of ["/models", "/truncated", "/flaky", "/lonely"])
    files.set(`${prefix}/tiny.bin`, readFileSync(model));
  files.set("/models/tiny.tokenizer.bin", readFileSync(tokenizer));
  files.set("/flaky/tokenizer.bin", readFileSync(tokenizer));
  files.set("/models/tiny.gguf", toGguf(m.checkpoint, m.tokenizer, "tiny"));
  server = createServer((req, res) => {
    const path = decodeURIComponent(req.url ?? "");
    asked.push(path);
    const body = files.get(path);
    if (!body) return res.writeHead(404).end("not found");
    if (path.startsWith("/flaky/") && flakyCount++ % 2 === 0)
      return res.writeHead(503, { "retry-after": "0" }).end("busy");
    res.writeHead(200, { "content-length": String(body.length) });
    if (path.startsWith("/truncated/")) {
      res.write(body.subarray(0, 1000));
      setTimeout(() => res.destroy(), 20);
      return;
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const greedy = { prompt: "Once upon a time", params: { maxTokens: 12 } };

describe("models by URL", () => {
  it("downloads a llama2.c model and the tokenizer beside it once, then runs it like the local file", async () => {
    const cache = join(dir, "cache-a");
    const progress: number[] = [];
    const remote = await createEngine(
      { engine: "ts", model: `${base}/models/tiny.bin`, ...fast },
      { cacheDir: cache, onDownload: (_url, received) => progress.push(received) },
    );
    const local = await createEngine({ engine: "ts", model: join(dir, "tiny.bin") });
    const a = await generate(remote, greedy);
    expect(a.tokenIds).toEqual((await generate(local, greedy)).tokenIds);
    expect(asked).toEqual(["/models/tiny.bin", "/models/tiny.tokenizer.bin"]);
    expect(progress.at(-1)).toBeGreaterThan(0);
    const cached = cachedPathOf(`${base}/models/tiny.bin`, cache);
    expect(readFileSync(cached)).toEqual(readFileSync(join(dir, "tiny.bin")));
    expect(readdirSync(dirname(cached)).sort()).toEqual(["tiny.bin", "tiny.tokenizer.bin"]);
    // Second time: from the cache, no request.
    const again = await createEngine(
      { engine: "ts-int", model: `${base}/models/tiny.bin`, ...fast },
      { cacheDir: cache },
    );
    expect((await generate(again, greedy)).text).toBeTypeOf("string");
    expect(asked).toHaveLength(2);
  });

  it("runs a GGUF by URL through llama.cpp", async () => {
    const cache = join(dir, "cache-b");
    const cpp = await createEngine(
      { engine: "llama-cpp", model: `${base}/models/tiny.gguf`, ...fast },
      { cacheDir: cache },
    );
    try {
      const ts = await createEngine({ engine: "ts", model: join(dir, "tiny.bin") });
      expect((await generate(cpp, greedy)).tokenIds).toEqual((await generate(ts, greedy)).tokenIds);
    } finally {
      await cpp.close();
    }
  }, 60_000);

  it("retries 503s, and falls back to tokenizer.bin beside the model", async () => {
    const cache = join(dir, "cache-c");
    asked.length = 0;
    const engine = await createEngine(
      { engine: "ts", model: `${base}/flaky/tiny.bin`, ...fast },
      { cacheDir: cache },
    );
    expect((await generate(engine, greedy)).usage?.completionTokens).toBe(12);
    expect(asked).toEqual([
      "/flaky/tiny.bin",
      "/flaky/tiny.bin",
      "/flaky/tiny.tokenizer.bin",
      "/flaky/tokenizer.bin",
      "/flaky/tokenizer.bin",
    ]);
  });

  it("refuses broken downloads with a code, leaving nothing in the cache", async () => {
    const cache = join(dir, "cache-d");
    const attempt = (model: string, extra: object = {}) =>
      createEngine({ engine: "ts", model, ...fast, ...extra }, { cacheDir: cache });
    await expect(attempt(`${base}/truncated/tiny.bin`)).rejects.toMatchObject({
      code: "UPSTREAM_CONNECTION_FAILED",
      message: expect.stringMatching(/closed the connection mid-download \(after 2 attempts\)/),
    });
    await expect(attempt(`${base}/absent/tiny.bin`)).rejects.toMatchObject({
      code: "UPSTREAM_HTTP_ERROR",
      message: expect.stringMatching(/HTTP 404/),
    });
    await expect(attempt(`${base}/lonely/tiny.bin`)).rejects.toMatchObject({
      code: "FILE_NOT_FOUND",
      message: expect.stringMatching(/no tokenizer beside .*lonely\/tiny\.bin .*pass --tokenizer/),
    });
    await expect(attempt("http://127.0.0.1:9/tiny.bin", { maxRetries: 0 })).rejects.toMatchObject({
      code: "UPSTREAM_CONNECTION_FAILED",
    });
    await expect(attempt(`${base}/models/`)).rejects.toMatchObject({ code: "CONFIG_INVALID" });
    const left = existsSync(join(cache, "models"))
      ? readdirSync(join(cache, "models"), { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile())
          .map((e) => e.name)
      : [];
    // Only the complete model of /lonely (whose tokenizer is missing) may remain; no partial file.
    expect(left).toEqual(["tiny.bin"]);
    // A corrupt cached file is reported as such, naming the file.
    writeFileSync(cachedPathOf(`${base}/lonely/tiny.bin`, cache), "junk");
    await expect(
      attempt(`${base}/lonely/tiny.bin`, { tokenizer: `${base}/models/tiny.tokenizer.bin` }),
    ).rejects.toMatchObject({
      code: "MODEL_MALFORMED",
    });
  });
});
