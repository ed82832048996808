/**
 * Losing the RPC for a while, or anvil restarting (issue: "nodes reconnect and catch up without
 * double-posting"). First the gateway reaches anvil through a proxy the test cuts for several seconds
 * while clients keep sending; then anvil itself is stopped and started again from its state file, losing
 * the transactions in its pool (batch sends among them), while clients keep sending. Requests are still
 * answered (receipts are verified against the registry read before and made durable locally); once the
 * chain is back every receipt reaches a posted batch, batches are posted once each, in order, and the
 * chain holds exactly the gateway's receipts. Last, the chain loses the blocks that posted some batches
 * (a reorganisation deeper than their postings): the gateway posts them again, each once.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicClientFor } from "../../src/chain/deploy.ts";
import { rollupAbi } from "../../src/chain/generated/contracts.ts";
import { type Devnet, startDevnet } from "../../src/node/devnet/devnet.ts";
import type { AnswerReceipt } from "../../src/node/devnet/receiptCheck.ts";
import { withReorganisation } from "../../src/testing/reorganisation.ts";
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
    restartableChain: true,
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

/** Every answer's receipt reaches a posted batch; the chain holds exactly `total` receipts, in batches the gateway posted. */
async function everyReceiptPostedOnce(answers: readonly AnswerReceipt[], total = answers.length) {
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
  expect(onChain).toBe(total);
  const view = (await (await fetch(`${devnet.gatewayUrl}/v1/network`)).json()) as {
    batches: Record<string, number>;
  };
  expect((view.batches.posted ?? 0) + (view.batches.final ?? 0)).toBe(batches);
}

const answered: AnswerReceipt[] = [];

const rpc = (method: string, params: unknown[] = []): Promise<unknown> =>
  publicClientFor(devnet.rpcUrl, devnet.deployment.chainId).request({ method, params } as never);

describe("the gateway loses its chain for a while", () => {
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
    await everyReceiptPostedOnce(answers);
    answered.push(...answers);
  }, 180_000);

  it("keeps answering while anvil restarts from its state, then posts every receipt exactly once", async () => {
    const answers: AnswerReceipt[] = [];
    // Blocks stop, so that batch sends wait in anvil's pool: the restart loses them.
    await rpc("evm_setIntervalMining", [0]);
    for (let i = 0; ; i++) {
      answers.push(await ask(500 + i));
      const pool = (await rpc("txpool_content", [])) as { pending: Record<string, unknown> };
      if (Object.keys(pool.pending).length > 0) break;
      expect(i).toBeLessThan(100);
    }
    let restarted = false;
    // Clients keep sending through the restart.
    const restart = devnet.chain.restart({ blockTime: 1 }).then(() => {
      restarted = true;
    });
    for (let i = 0; !restarted || answers.length < 10; i++) answers.push(await ask(1000 + i));
    await restart;
    for (let i = 0; i < 3; i++) answers.push(await ask(2000 + i));
    await everyReceiptPostedOnce(answers, answered.length + answers.length);
    // The sends anvil lost were found lost and went out again: under their nonces, or, where the chain's
    // next nonce was not the lost send's (seen once since the restart waits for a block being mined to
    // finish; not traced), from the chain's count. Either way every receipt was posted once (above).
    const log = readFileSync(join(devnet.dir, "logs", "gateway.log"), "utf8");
    expect(log).toMatch(
      /batch transaction dropped; sending it again under its nonce|"outcome":"dropped","msg":"batch transaction failed; sending again"/,
    );
    answered.push(...answers);
  }, 180_000);

  it("keeps answering while the chain loses the blocks that posted batches, then posts them again, every receipt exactly once", async () => {
    const answers: AnswerReceipt[] = [];
    const postedNow = async () =>
      ((await (await fetch(`${devnet.gatewayUrl}/v1/network`)).json()) as { batches: Record<string, number> })
        .batches.posted ?? 0;
    // A reorganisation deeper than the postings the gateway saw while it lasted: the chain holds none of
    // them any more.
    await withReorganisation(rpc, async () => {
      const before = await postedNow();
      for (let i = 0; (await postedNow()) < before + 2; i++) {
        answers.push(await ask(3000 + i));
        expect(i).toBeLessThan(200);
      }
    });
    for (let i = 0; i < 10; i++) answers.push(await ask(4000 + i));
    // Until the gateway notices (once the chain's new blocks pass the last it read), the receipts still
    // read as posted.
    const said = () =>
      readFileSync(join(devnet.dir, "logs", "gateway.log"), "utf8").includes(
        "reorganised): posting them again",
      );
    for (let t = 0; t < 120 && !said(); t++) await new Promise((r) => setTimeout(r, 500));
    expect(said()).toBe(true);
    await everyReceiptPostedOnce(answers, answered.length + answers.length);
  }, 180_000);
});
