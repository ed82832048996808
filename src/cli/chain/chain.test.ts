import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalChain, startAnvil } from "../../chain/anvil.ts";
import { writeKeyFile } from "../../node/keys.ts";
import { DEFAULT_OTR_PARAMS } from "../../protocol/params/otr.ts";
import { receiptToJson } from "../../protocol/receipt/receipt.ts";
import { signReceipt } from "../../protocol/receipt/verifyReceipt.ts";
import { cli } from "../../testing/cli.ts";
import { devReceipt, ENCLAVE_KEY } from "../../testing/devWorker.ts";

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
    writeKeyFile(keyFile, chain.keys[0] as Hex);
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
      // What the contracts fix, read back: the default parameters it deployed with.
      parameters: {
        challengeWindowMs: DEFAULT_OTR_PARAMS.rollup.challengeWindowMs,
        dispute: {
          maxClockMs: DEFAULT_OTR_PARAMS.dispute.maxClockMs,
          workerSlash: String(DEFAULT_OTR_PARAMS.dispute.workerSlash),
        },
        spotcheck: { rhoPpm: DEFAULT_OTR_PARAMS.spotcheck.rhoPpm },
        scores: { epochMs: DEFAULT_OTR_PARAMS.poea.epochMs },
        rewards: { workerShareBps: DEFAULT_OTR_PARAMS.poea.workerShareBps },
      },
    });
    expect(d.disputeGame).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(d.stepVerifier).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(d.epochs).toMatch(/^0x[0-9a-fA-F]{40}$/);
    const table = (await cli("chain", "status", "--deployment", out)).stdout;
    expect(table).toMatch(/batches posted\s+0/);
    expect(table).toMatch(/challenge window \(rollup\)\s+3600 s/);
    expect(table).toMatch(/epoch, score commit, score reveal\s+3600 s, 600 s, 600 s/);
  });

  it("refuses bad keys, bad deployment files and unreachable chains with a coded error", async () => {
    const bad = join(dir, "bad.key");
    writeFileSync(bad, "not a key", { mode: 0o600 });
    const open = join(dir, "open.key");
    writeFileSync(open, `${chain.keys[0]}\n`, { mode: 0o644 });
    const poor = join(dir, "poor.key");
    writeKeyFile(poor, `0x${"11".repeat(32)}`);
    const broken = join(dir, "broken.json");
    writeFileSync(
      broken,
      JSON.stringify({ kind: "verinfer.deployment", rpcUrl: "http://127.0.0.1:1", chainId: 1 }),
    );
    for (const [args, code, message] of [
      [["chain", "deploy", "--rpc", chain.rpcUrl, "--key-file", join(dir, "none.key")], 1, /FILE_NOT_FOUND/],
      [
        ["chain", "deploy", "--rpc", chain.rpcUrl, "--key-file", bad],
        1,
        /KEY_FILE_INVALID.*32-byte hex private key/,
      ],
      [["chain", "deploy", "--rpc", chain.rpcUrl, "--key-file", open], 1, /KEY_FILE_INSECURE.*chmod 600/],
      // An account without ETH: the CLI names it, not viem's page of text.
      [
        ["chain", "deploy", "--rpc", chain.rpcUrl, "--key-file", poor],
        1,
        /^verinfer: error \[CHAIN_FUNDS_INSUFFICIENT\] 0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A cannot pay/m,
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

  it("force-include refuses what the rollup would refuse, each with a coded error", async () => {
    const d = JSON.parse(readFileSync(join(dir, "deployment.json"), "utf8")) as { rollup: Hex };
    const keyFile = join(dir, "client.key");
    writeKeyFile(keyFile, chain.keys[4] as Hex);
    const file = (name: string, value: unknown) => {
      const path = join(dir, name);
      writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value));
      return path;
    };
    const signed = (chainId: bigint) =>
      receiptToJson(signReceipt(devReceipt(1, chainId, d.rollup), ENCLAVE_KEY));
    for (const [path, message] of [
      [join(dir, "none.json"), /FILE_NOT_FOUND/],
      [file("notjson.json", "{"), /RECEIPT_MALFORMED.*not JSON/],
      [file("noreceipt.json", { verinfer: { batch: 1 } }), /RECEIPT_MALFORMED/],
      [file("otherchain.json", signed(1n)), /RECEIPT_DOMAIN_MISMATCH/],
      // Well-formed and for this rollup, but its worker never registered: the contract's own refusal.
      [file("unregistered.json", signed(31337n)), /RECEIPT_WORKER_UNKNOWN/],
    ] as const) {
      const r = await cli(
        "chain",
        "force-include",
        path,
        "--deployment",
        join(dir, "deployment.json"),
        "--key-file",
        keyFile,
      );
      expect(r.code, path).not.toBe(0);
      expect(r.stderr, path).toMatch(message);
    }
    const status = await cli("chain", "status", "--deployment", join(dir, "deployment.json"), "--json");
    expect(JSON.parse(status.stdout)).toMatchObject({ forcedReceipts: "0" });
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
