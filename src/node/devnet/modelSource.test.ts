import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PRESETS } from "../../engine/llama2c/generateModel.ts";
import { loadLlama2c, writeGeneratedModel } from "../../engine/llama2c/modelFiles.ts";
import { localModel } from "./modelSource.ts";

const served = mkdtempSync(join(tmpdir(), "verinfer-served-"));
const files = writeGeneratedModel(
  join(served, "tiny.bin"),
  PRESETS.tiny as NonNullable<typeof PRESETS.tiny>,
  3,
);
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const name = (request.url ?? "").replace(/^\/models\//, "");
    const path =
      name === "tiny.bin" || name === "lonely.bin"
        ? files.model
        : name === "tiny.tokenizer.bin"
          ? files.tokenizer
          : null;
    if (!path) return response.writeHead(404).end();
    response.writeHead(200).end(readFileSync(path));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/models`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("devnet --model", () => {
  it("downloads a checkpoint URL and its tokenizer, and loads them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "verinfer-model-"));
    const local = await localModel(`${base}/tiny.bin`, dir);
    expect(readFileSync(local)).toEqual(readFileSync(files.model));
    expect(loadLlama2c(local).checkpoint.config.vocabSize).toBe(PRESETS.tiny?.vocabSize);
  });

  it("passes a local path through and refuses a missing model or tokenizer with MODEL_DOWNLOAD_FAILED", async () => {
    const dir = mkdtempSync(join(tmpdir(), "verinfer-model-"));
    expect(await localModel(files.model, dir)).toBe(files.model);
    await expect(localModel(`${base}/absent.bin`, dir)).rejects.toMatchObject({
      code: "MODEL_DOWNLOAD_FAILED",
    });
    await expect(localModel(`${base}/lonely.bin`, dir)).rejects.toThrow(/no tokenizer beside/);
    await expect(localModel("http://127.0.0.1:1/x.bin", dir)).rejects.toMatchObject({
      code: "MODEL_DOWNLOAD_FAILED",
    });
  });
});
