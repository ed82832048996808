/** What startDevnet refuses before it starts anything. */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PRESETS } from "../../engine/llama2c/generateModel.ts";
import { writeGeneratedModel } from "../../engine/llama2c/modelFiles.ts";
import { judgeFits, startDevnet } from "./devnet.ts";

const dir = mkdtempSync(join(tmpdir(), "verinfer-devnet-refusals-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("startDevnet", () => {
  it("refuses --judge on a model whose context cannot hold the judge's request and reply", async () => {
    await expect(
      startDevnet({
        dir: join(dir, "net"),
        workers: 1,
        adversary: "none",
        gatewayPort: 0,
        rpcPort: 0,
        judges: 1,
      }),
    ).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringMatching(
        /--judge: the judge's request and reply take \d+ tokens .* context is 128/,
      ),
    });
    expect(existsSync(join(dir, "net", "state.json"))).toBe(false);
    // The tiny shape with a longer context holds it (the byte tokenizer: about one token per character).
    const { model } = writeGeneratedModel(
      join(dir, "long.bin"),
      { ...(PRESETS.tiny as NonNullable<typeof PRESETS.tiny>), seqLen: 2048 },
      7,
    );
    expect(() => judgeFits(model)).not.toThrow();
  });
});
