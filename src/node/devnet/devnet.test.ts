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
  it("refuses --judge on a verifiable model: its receipts cannot span the judge's request", async () => {
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
        /--judge: the judge's request alone is \d+ tokens .* spans at most 107 positions/,
      ),
    });
    expect(existsSync(join(dir, "net", "state.json"))).toBe(false);
    // Not for want of context: with 2,048 positions its receipts still span what a dispute can bisect.
    const { model } = writeGeneratedModel(
      join(dir, "long.bin"),
      { ...(PRESETS.tiny as NonNullable<typeof PRESETS.tiny>), seqLen: 2048 },
      7,
    );
    expect(() => judgeFits(model)).toThrow(/spans at most 107 positions/);
  });
});
