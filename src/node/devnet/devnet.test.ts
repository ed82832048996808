/** What startDevnet refuses before it starts anything, and the folders it may clear. */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PRESETS } from "../../engine/llama2c/generateModel.ts";
import { writeGeneratedModel } from "../../engine/llama2c/modelFiles.ts";
import { claimDevnetDir, judgeFits, startDevnet } from "./devnet.ts";

const dir = mkdtempSync(join(tmpdir(), "verinfer-devnet-refusals-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a devnet's folder", () => {
  it("is cleared only when new, empty or a devnet's own, and never while its devnet runs", () => {
    // A folder of someone's files (a mistyped --dir) is refused and left as it was.
    const files = join(dir, "files");
    mkdirSync(files);
    writeFileSync(join(files, "notes.txt"), "mine");
    expect(() => claimDevnetDir(files)).toThrow(/holds files and is no devnet's folder/);
    expect(readFileSync(join(files, "notes.txt"), "utf8")).toBe("mine");
    // New and empty folders are claimed and marked; a marked one (an earlier devnet's) is cleared.
    const fresh = join(dir, "fresh");
    claimDevnetDir(fresh);
    writeFileSync(join(fresh, "logs", "gateway.log"), "old");
    claimDevnetDir(fresh);
    expect(existsSync(join(fresh, "logs", "gateway.log"))).toBe(false);
    // One whose devnet still runs (a live pid in its state) is refused with the command that stops it;
    // a pid since taken by another program does not count.
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)", "verinfer-devnet-stand-in"]);
    const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    try {
      writeFileSync(
        join(fresh, "state.json"),
        JSON.stringify({ kind: "verinfer.devnet", pid: other.pid, anvilPid: other.pid, processes: [] }),
      );
      claimDevnetDir(fresh);
      expect(existsSync(join(fresh, "state.json"))).toBe(false);
      writeFileSync(
        join(fresh, "state.json"),
        JSON.stringify({ kind: "verinfer.devnet", pid: child.pid, anvilPid: child.pid, processes: [] }),
      );
      writeFileSync(join(fresh, "logs", "gateway.log"), "in use");
      expect(() => claimDevnetDir(fresh)).toThrow(
        new RegExp(
          `a devnet is running in .* \\(pids ${child.pid}, ${child.pid}\\): stop it first with 'verinfer devnet down`,
        ),
      );
      expect(readFileSync(join(fresh, "logs", "gateway.log"), "utf8")).toBe("in use");
    } finally {
      child.kill("SIGKILL");
      other.kill("SIGKILL");
    }
  });
});

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
