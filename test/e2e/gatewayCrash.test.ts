/**
 * Crash safety of the gateway (issue: "kill -9 the gateway while 16 clients send requests"): a receipt
 * is durable before its client is answered, so after a SIGKILL and a restart every acknowledged
 * receipt reaches a posted batch exactly once, at the batch and position it was promised; a client
 * that got no answer retries with its idempotency key and gets one answer, never two receipts.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicClientFor } from "../../src/chain/deploy.ts";
import { rollupAbi } from "../../src/chain/generated/contracts.ts";
import {
  type Devnet,
  type DevnetProcess,
  spawnRole,
  startDevnet,
  stopProcess,
} from "../../src/node/devnet/devnet.ts";
import { type AnswerReceipt, includedOnChain } from "../../src/node/devnet/receiptCheck.ts";

let devnet: Devnet;
let restarted: DevnetProcess | null = null;
type Ext = AnswerReceipt & { gatewayOverheadMs: number };

beforeAll(async () => {
  devnet = await startDevnet({
    dir: mkdtempSync(join(tmpdir(), "verinfer-crash-")),
    workers: 2,
    adversary: "none",
    gatewayPort: 0,
    rpcPort: 0,
    evaluators: 0,
  });
}, 180_000);

afterAll(async () => {
  if (restarted) await stopProcess(restarted.child);
  await devnet?.stop();
});

const ask = (gateway: string, key: string) =>
  fetch(`${gateway}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": key },
    body: JSON.stringify({ messages: [{ role: "user", content: `request ${key}` }], max_tokens: 3 }),
  });

describe("gateway crash: kill -9 under load, restart", () => {
  it("loses no acknowledged receipt, posts none twice, keeps its promises, and retries are safe", async () => {
    const first = devnet.gatewayUrl;
    const acked = new Map<string, Ext>();
    const unanswered = new Set<string>();
    let stop = false;
    const loop = async (c: number) => {
      for (let j = 0; !stop; j++) {
        const key = `client-${c}-request-${j}`;
        try {
          const response = await ask(first, key);
          if (response.status === 200)
            acked.set(key, ((await response.json()) as { verinfer: Ext }).verinfer);
          else unanswered.add(key);
        } catch {
          unanswered.add(key); // the connection died with the gateway
        }
      }
    };
    const clients = Array.from({ length: 16 }, (_, c) => loop(c));
    while (acked.size < 40) await new Promise((r) => setTimeout(r, 20));
    devnet.gateway.child.kill("SIGKILL");
    stop = true;
    await Promise.all(clients);
    expect(acked.size).toBeGreaterThanOrEqual(40);

    expect(unanswered.size).toBeGreaterThan(0); // requests in flight when the gateway died
    restarted = await spawnRole(
      "gateway",
      devnet.gateway.config,
      join(devnet.dir, "logs", "gateway-restarted.log"),
    );
    const gateway = restarted.url;
    // Clients that got no answer retry with the same key: one answer each.
    for (const key of unanswered) {
      const response = await ask(gateway, key);
      expect(response.status, key).toBe(200);
      acked.set(key, ((await response.json()) as { verinfer: Ext }).verinfer);
    }
    // An acknowledged request retried gets the receipt it already has, not a second one.
    const [someKey, someExt] = [...acked.entries()][0] as [string, Ext];
    const again = ((await (await ask(gateway, someKey)).json()) as { verinfer: Ext }).verinfer;
    expect(again.digest).toBe(someExt.digest);

    // Everything reaches the chain.
    let counts = { receipts: {} as Record<string, number> };
    for (let i = 0; i < 150; i++) {
      counts = (await (await fetch(`${gateway}/v1/network`)).json()) as typeof counts;
      if ((counts.receipts.provisional ?? 0) + (counts.receipts.sealed ?? 0) === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const total = Object.values(counts.receipts).reduce((a, b) => a + b, 0);
    expect(total).toBe(acked.size); // one receipt per request, none lost, none extra
    const chain = { public: publicClientFor(devnet.rpcUrl, devnet.deployment.chainId) };
    const places = new Set<string>();
    for (const [key, promised] of acked) {
      const a = (await (await fetch(`${gateway}/v1/receipts/${promised.requestId}`)).json()) as AnswerReceipt;
      expect(["posted", "final"], key).toContain(a.status);
      // The provisional-finality promise held across the crash.
      expect([a.batch, a.position], key).toEqual([promised.batch, promised.position]);
      expect(await includedOnChain(chain, devnet.deployment.rollup, a), key).toBe(true);
      places.add(`${a.batch}:${a.position}`);
    }
    expect(places.size).toBe(acked.size);
    // On chain: the posted batches hold exactly these receipts (no batch posted twice).
    const read = (functionName: string, args: readonly unknown[]) =>
      chain.public.readContract({
        address: devnet.deployment.rollup,
        abi: rollupAbi,
        functionName,
        args,
      } as never);
    const batches = Number((await read("batchCount", [])) as bigint);
    let onChain = 0;
    for (let i = 0; i < batches; i++)
      onChain += Number(((await read("batch", [BigInt(i)])) as { count: number }).count);
    expect(onChain).toBe(acked.size);
  }, 300_000);
});
