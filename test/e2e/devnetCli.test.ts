/**
 * `verinfer devnet up`, `status` and `down` as a user runs them: `up` (its own process) keeps a network
 * running; `status` reports it from another process — every role ready, receipts by status — as JSON
 * and as tables; SIGTERM drains the gateway (requests in flight answered, their batch posted); `down`
 * stops every process `up` started, anvil included, and `up` exits cleanly.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { publicClientFor } from "../../src/chain/deploy.ts";
import { readDeployment } from "../../src/chain/deploymentFile.ts";
import { rollupAbi } from "../../src/chain/generated/contracts.ts";
import { processAlive } from "../../src/node/devnet/devnet.ts";
import { cli } from "../../src/testing/cli.ts";

const BIN = new URL("../../bin/verinfer.mjs", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "verinfer-devnet-cli-"));
let up: ChildProcess | null = null;

afterAll(async () => {
  if (up && up.exitCode === null) await cli("devnet", "down", "--dir", dir);
});

describe("verinfer devnet up / status / down", () => {
  it("up runs a network until down stops all of it; status shows every role ready", async () => {
    let output = "";
    up = spawn(
      process.execPath,
      [BIN, "devnet", "up", "--dir", dir, "--port", "0", "--workers", "1", "--evaluators", "0"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    up.stdout?.on("data", (d) => (output += d));
    up.stderr?.on("data", (d) => (output += d));
    const exited = new Promise<number | null>((r) => up?.once("exit", (code) => r(code)));

    // Up once its state is written (status says so); every role ready within a few polls of that.
    type Status = {
      gatewayUrl: string;
      pid: number;
      anvilPid: number;
      processes: { role: string; pid: number }[];
      roles: { ready: { role: string; ready: true | string | null }[] };
      deployment: string;
    };
    let status: Status | null = null;
    for (let i = 0; i < 480; i++) {
      if (up.exitCode !== null) throw new Error(`devnet up exited early:\n${output.slice(-3000)}`);
      if (existsSync(join(dir, "state.json"))) {
        const r = await cli("devnet", "status", "--dir", dir, "--json");
        if (r.code === 0) {
          status = JSON.parse(r.stdout) as Status;
          if (status.roles.ready.every((p) => p.ready === true)) break;
        }
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    if (!status) throw new Error(`devnet up never came up:\n${output.slice(-3000)}`);
    expect(status.roles.ready.map((p) => [p.role, p.ready]).sort()).toEqual([
      ["fisherman", true],
      ["gateway", true],
      ["worker", true],
    ]);

    // It serves; status's tables count the receipt.
    const answer = await fetch(`${status.gatewayUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "hello" }], max_tokens: 4 }),
    });
    expect(answer.status).toBe(200);
    const tables = await cli("devnet", "status", "--dir", dir);
    expect(tables.code).toBe(0);
    expect(tables.stdout).toMatch(/Processes \(GET \/ready\)/);
    expect(tables.stdout).toMatch(/Receipts and batches/);
    expect(tables.stdout).toMatch(/the fisherman re-executes 100% of receipts \(configured 100%\)/);

    // SIGTERM the gateway with requests in flight (one worker answers them one by one: once the first
    // is answered, the others wait on it): each is still answered, and the batch they were promised is
    // sealed and posted on chain before the gateway exits.
    const chat = (i: number) =>
      fetch(`${status?.gatewayUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: `drain ${i}` }], max_tokens: 24 }),
      }).then(async (r) => ({
        status: r.status,
        batch: ((await r.json()) as { verinfer: { batch: number } }).verinfer.batch,
      }));
    const gateway = status.processes.find((p) => p.role === "gateway") as { pid: number };
    const requests = Array.from({ length: 4 }, (_, i) => chat(i));
    await requests[0];
    process.kill(gateway.pid, "SIGTERM");
    const answered = await Promise.all(requests);
    expect(answered.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    // It exits within seconds: idle keep-alive sockets (this test's, the live view's) do not hold it.
    for (let i = 0; i < 40 && processAlive(gateway.pid); i++) await new Promise((r) => setTimeout(r, 250));
    expect(processAlive(gateway.pid)).toBe(false);
    const d = readDeployment(status.deployment);
    const posted = (await publicClientFor(d.rpcUrl, d.chainId).readContract({
      address: d.rollup,
      abi: rollupAbi,
      functionName: "batchCount",
    })) as bigint;
    expect(posted).toBeGreaterThan(BigInt(Math.max(...answered.map((a) => a.batch))));

    // Down stops every process, anvil included; up itself exits cleanly.
    const pids = [status.pid, status.anvilPid, ...status.processes.map((p) => p.pid)];
    const down = await cli("devnet", "down", "--dir", dir);
    expect(down.code).toBe(0);
    expect(await exited).toBe(0);
    expect(pids.filter(processAlive)).toEqual([]);
    // Status now says nothing runs, with a non-zero exit.
    expect((await cli("devnet", "status", "--dir", dir)).code).toBe(1);
  }, 300_000);
});
