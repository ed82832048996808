/**
 * A worker killed mid-generation (issue: "the client gets a clear error or is re-routed; nothing
 * half-recorded"): a JSON request is re-routed to another worker and answered once; a streamed one
 * whose text had started gets an error event; the gateway records only complete, verified receipts.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Devnet, startDevnet } from "../../src/node/devnet/devnet.ts";

let devnet: Devnet;

beforeAll(async () => {
  devnet = await startDevnet({
    dir: mkdtempSync(join(tmpdir(), "verinfer-worker-crash-")),
    workers: 3,
    adversary: "none",
    gatewayPort: 0,
    rpcPort: 0,
    evaluators: 0,
  });
}, 180_000);

afterAll(() => devnet?.stop());

const LONG = { messages: [{ role: "user", content: "go" }], max_tokens: 110 };
const stored = async () =>
  Object.values(
    ((await (await fetch(`${devnet.gatewayUrl}/v1/network`)).json()) as { receipts: Record<string, number> })
      .receipts,
  ).reduce((a, b) => a + b, 0);

/** Kills (SIGKILL) whichever live worker starts generating first; returns its index. */
async function killBusyWorker(alive: Set<number>): Promise<number> {
  for (;;) {
    for (const i of alive) {
      const w = devnet.workers[i];
      const health = (await (await fetch(`${w?.url}/health`)).json().catch(() => ({}))) as {
        running?: number;
      };
      if ((health.running ?? 0) > 0) {
        w?.child.kill("SIGKILL");
        alive.delete(i);
        return i;
      }
    }
  }
}

describe("a worker killed mid-generation", () => {
  it("re-routes a JSON request to another worker, or ends a started stream with an error; records nothing half-done", async () => {
    const alive = new Set([0, 1, 2]);
    const before = await stored();
    const answer = fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(LONG),
    });
    const killed = await killBusyWorker(alive);
    const response = await answer;
    expect(response.status).toBe(200);
    const body = (await response.json()) as { verinfer: { receipt: { worker: string } } };
    expect(body.verinfer.receipt.worker).not.toBe(devnet.workers[killed]?.address);
    expect(await stored()).toBe(before + 1);

    const streamed = fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...LONG, stream: true }),
    });
    const response2 = await streamed;
    expect(response2.status).toBe(200);
    const reader = (response2.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read(); // text has reached the client
    expect(new TextDecoder().decode(first.value)).toMatch(/data: /);
    await killBusyWorker(alive);
    let text = new TextDecoder().decode(first.value);
    for (let r = await reader.read(); !r.done; r = await reader.read())
      text += new TextDecoder().decode(r.value);
    expect(text).toMatch(/"code":"WORKER_FAILED"/);
    expect(text).not.toMatch(/\[DONE\]/);
    expect(await stored()).toBe(before + 1);
    // The operator sees both in the gateway's log: the re-routed request and the failure it passed on.
    const log = readFileSync(join(devnet.dir, "logs", "gateway.log"), "utf8");
    expect(log).toMatch(/"msg":"re-routing"/);
    expect(log).toMatch(
      /"err":"worker http:\/\/127\.0\.0\.1:\d+ hung up mid-generation[^"]*","msg":"worker failed"/,
    );
  }, 120_000);
});
