import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalChain, startAnvil } from "../../chain/anvil.ts";
import { cli } from "../../testing/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "verinfer-chain-"));
let chain: LocalChain;

beforeAll(async () => {
  chain = await startAnvil();
});
afterAll(async () => {
  await chain?.stop();
});

describe("verinfer chain", () => {
  it("deploy writes a deployment that status reads", async () => {
    const keyFile = join(dir, "deployer.key");
    writeFileSync(keyFile, `${chain.keys[0]}\n`);
    const out = join(dir, "deployment.json");
    const deployed = await cli(
      "chain",
      "deploy",
      "--rpc",
      chain.rpcUrl,
      "--key-file",
      keyFile,
      "--out",
      out,
      "--json",
    );
    expect(deployed.code).toBe(0);
    const d = JSON.parse(deployed.stdout);
    expect(d).toMatchObject({ kind: "verinfer.deployment", chainId: 31337, rpcUrl: chain.rpcUrl });
    const status = await cli("chain", "status", "--deployment", out, "--json");
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      batches: "0",
      sequencer: expect.stringMatching(/^0x[0-9a-fA-F]{40}$/),
      sequencerBondWei: String(10n ** 19n),
      disputeGames: "0",
    });
    expect(d.disputeGame).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(d.stepVerifier).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(d.epochs).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect((await cli("chain", "status", "--deployment", out)).stdout).toMatch(/batches posted\s+0/);
  });

  it("refuses bad keys, bad deployment files and unreachable chains with a coded error", async () => {
    const bad = join(dir, "bad.key");
    writeFileSync(bad, "not a key");
    const broken = join(dir, "broken.json");
    writeFileSync(
      broken,
      JSON.stringify({ kind: "verinfer.deployment", rpcUrl: "http://127.0.0.1:1", chainId: 1 }),
    );
    for (const [args, code, message] of [
      [["chain", "deploy", "--rpc", chain.rpcUrl, "--key-file", join(dir, "none.key")], 1, /FILE_NOT_FOUND/],
      [
        ["chain", "deploy", "--rpc", chain.rpcUrl, "--key-file", bad],
        2,
        /CONFIG_INVALID.*32-byte hex private key/,
      ],
      [["chain", "status", "--deployment", join(dir, "none.json")], 1, /FILE_NOT_FOUND.*chain up/],
      [["chain", "status", "--deployment", broken], 2, /CONFIG_INVALID.*owner/],
      [
        ["chain", "deploy", "--rpc", "http://127.0.0.1:1", "--key-file", join(dir, "deployer.key")],
        1,
        /UPSTREAM_CONNECTION_FAILED/,
      ],
    ] as const) {
      const r = await cli(...args);
      expect(r.code, args.join(" ")).toBe(code);
      expect(r.stderr).toMatch(message);
    }
  });

  it("up deploys on its own chain, prints JSON, and stops the chain on SIGTERM", async () => {
    const out = join(dir, "up.json");
    const child = spawn(
      process.execPath,
      [
        new URL("../../../bin/verinfer.mjs", import.meta.url).pathname,
        "chain",
        "up",
        "--port",
        "0",
        "--json",
        "--out",
        out,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    const report = await new Promise<{ pid: number; rollup: string; accounts: unknown[] }>(
      (resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => {
          stdout += d.toString();
          try {
            resolve(JSON.parse(stdout));
          } catch {
            // not complete yet
          }
        });
        child.on("exit", (code) => reject(new Error(`chain up exited with ${code}`)));
      },
    );
    expect(report.rollup).toMatch(/^0x[0-9a-f]{40}$/);
    expect(report.accounts).toHaveLength(10);
    expect((await cli("chain", "status", "--deployment", out)).code).toBe(0);
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
    // The anvil it started is gone too.
    expect(() => process.kill(report.pid, 0)).toThrow();
  }, 60_000);
});
