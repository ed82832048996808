/**
 * Losing the RPC for a while (issue: "nodes reconnect and catch up without double-posting"): the
 * gateway reaches anvil through a proxy the test cuts for several seconds while clients keep sending.
 * Requests are still answered (receipts are verified against the registry read before the outage and
 * made durable locally); once the line is back every receipt reaches a posted batch, batches are posted
 * once each, in order, and the chain holds exactly the gateway's receipts.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicClientFor } from "../../src/chain/deploy.ts";
import { rollupAbi } from "../../src/chain/generated/contracts.ts";
import { type Devnet, startDevnet } from "../../src/node/devnet/devnet.ts";
import type { AnswerReceipt } from "../../src/node/devnet/receiptCheck.ts";
import { startTcpProxy, type TcpProxy } from "../../src/testing/tcpProxy.ts";

let devnet: Devnet;
let proxy: TcpProxy;

beforeAll(async () => {
  devnet = await startDevnet({
    dir: mkdtempSync(join(tmpdir(), "verinfer-rpc-outage-")),
    workers: 2,
    adversary: "none",
    gatewayPort: 0,
    rpcPort: 0,
    evaluators: 0,
    fisherman: false,
    gatewayRpc: async (anvil) => {
      proxy = await startTcpProxy(anvil);
      return proxy.url;
    },
  });
}, 180_000);

afterAll(async () => {
  await devnet?.stop();
  await proxy?.close();
});

const ask = async (i: number) => {
  const response = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: `outage ${i}` }], max_tokens: 3 }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { verinfer: AnswerReceipt }).verinfer;
};

describe("the gateway loses its RPC for a while", () => {
  it("keeps answering, then posts every receipt exactly once when the RPC is back", async () => {
    const answers: AnswerReceipt[] = [];
    for (let i = 0; i < 5; i++) answers.push(await ask(i));
    proxy.down();
    const cutAt = Date.now();
    for (let i = 5; Date.now() - cutAt < 6000; i++) answers.push(await ask(i));
    // Sealed during the outage, nothing posted since the cut.
    const during = (await (await fetch(`${devnet.gatewayUrl}/v1/network`)).json()) as {
      batches: Record<string, number>;
    };
    expect(during.batches.sealed).toBeGreaterThan(0);
    proxy.up();
    let statuses: string[] = [];
    for (let t = 0; t < 100; t++) {
      statuses = await Promise.all(
        answers.map(
          async (a) =>
            ((await (await fetch(`${devnet.gatewayUrl}/v1/receipts/${a.requestId}`)).json()) as AnswerReceipt)
              .status as string,
        ),
      );
      if (statuses.every((s) => s === "posted" || s === "final")) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(statuses.every((s) => s === "posted" || s === "final")).toBe(true);
    const chain = publicClientFor(devnet.rpcUrl, devnet.deployment.chainId);
    const read = (functionName: string, args: readonly unknown[]) =>
      chain.readContract({ address: devnet.deployment.rollup, abi: rollupAbi, functionName, args } as never);
    const batches = Number((await read("batchCount", [])) as bigint);
    let onChain = 0;
    for (let i = 0; i < batches; i++)
      onChain += Number(((await read("batch", [BigInt(i)])) as { count: number }).count);
    expect(onChain).toBe(answers.length);
    const view = (await (await fetch(`${devnet.gatewayUrl}/v1/network`)).json()) as {
      batches: Record<string, number>;
    };
    expect((view.batches.posted ?? 0) + (view.batches.final ?? 0)).toBe(batches);
  }, 180_000);
});
