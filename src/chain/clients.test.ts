/**
 * Every role's sends (`send`, `submit` + `confirm`) against a real anvil: a send that blocks leave
 * pending is replaced under its nonce with higher fees, one the node dropped is sent again under its
 * nonce, one whose nonce another transaction of the account took is submitted anew, one at the fee
 * ceiling waits unreplaced, two sent at once take consecutive nonces, and one is waited for through a
 * lost RPC; in every case each call takes effect exactly once.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevChain, startDevChain } from "../testing/devChain.ts";
import { startTcpProxy } from "../testing/tcpProxy.ts";
import { confirm, submit } from "./clients.ts";
import { type ChainClients, clientsFor } from "./deploy.ts";
import { verinferTokenAbi } from "./generated/contracts.ts";

let dev: DevChain;
beforeAll(async () => {
  dev = await startDevChain();
}, 120_000);
afterAll(() => dev?.chain.stop());

const rpc = (method: string, params: unknown[] = []) =>
  dev.owner.public.request({ method, params } as never) as Promise<unknown>;
const sleep = (ms: number) => new Promise((wake) => setTimeout(wake, ms));

/** The owner's clients, what its sends log kept (and a fee ceiling, if given). */
function logged(maxFeePerGas?: bigint): { chain: ChainClients; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return {
    chain: { ...dev.owner, maxFeePerGas, logger: { warn: (f, msg) => lines.push({ ...f, msg }) } },
    lines,
  };
}

const HOLDER = "0x000000000000000000000000000000000000beef" as Hex;
const balance = () =>
  dev.owner.public.readContract({
    address: dev.d.token,
    abi: verinferTokenAbi,
    functionName: "balanceOf",
    args: [HOLDER],
  }) as Promise<bigint>;
const mint = (chain: ChainClients, amount: bigint) =>
  submit(chain, dev.d.token, verinferTokenAbi, "mint", [HOLDER, amount]);

/** Mines `n` blocks, one at a time, each seen by a confirm polling every 100 ms. */
async function mine(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await rpc("anvil_mine", ["0x1"]);
    await sleep(250);
  }
}

/** Mines one block at a time (`mineOne`, default an empty one) until `what` holds, 20 blocks at most. */
async function until(what: () => boolean, mineOne: () => Promise<void> = () => mine(1)): Promise<void> {
  for (let b = 0; !what(); b++) {
    if (b === 20) throw new Error("not seen in 20 blocks");
    await mineOne();
  }
}

/**
 * Mines a block that a send paying a higher tip fills, to 10,000 gas short of its limit: a pending send
 * stays pending (anvil drops one priced under the base fee instead, so a full chain stands in for a fee
 * spike), and a replacement, which would fit an empty block, is taken into the pool.
 */
async function fullBlocks(): Promise<void> {
  const filler = dev.clientsOf(2);
  const tx = { to: HOLDER, data: `0x${"ff".repeat(6000)}` as Hex, account: filler.wallet.account };
  const gas = await filler.public.estimateGas(tx);
  await rpc("evm_setBlockGasLimit", [`0x${(gas + 10_000n).toString(16)}`]);
  await filler.wallet.sendTransaction({
    ...tx,
    gas,
    maxFeePerGas: 200_000_000_000n,
    maxPriorityFeePerGas: 100_000_000_000n,
  } as never);
  await mine(1);
}

/** Runs `body` with blocks mined by hand only, and the block gas limit restored after. */
async function byHand(body: () => Promise<void>): Promise<void> {
  await rpc("evm_setAutomine", [false]);
  try {
    await body();
  } finally {
    await rpc("evm_setBlockGasLimit", ["0x1c9c380"]);
    await rpc("evm_setAutomine", [true]);
  }
}

describe("send and confirm", () => {
  it("replaces a send that blocks leave pending with one under its nonce paying more; it takes effect once", async () => {
    const { chain, lines } = logged();
    const before = await balance();
    await byHand(async () => {
      const first = await mint(chain, 7n);
      const confirmed = confirm(chain, first);
      await until(() => lines.some((l) => l.msg === "transaction re-sent with higher fees"), fullBlocks);
      await mine(1);
      const hash = await confirmed;
      const bumped = lines.find((l) => l.msg === "transaction re-sent with higher fees");
      expect(bumped).toMatchObject({ call: "mint", replaced: first.hash, tx: hash, nonce: first.nonce });
      const mined = await dev.owner.public.getTransaction({ hash });
      expect(mined.nonce).toBe(first.nonce);
      const tip = (first.fees as { maxPriorityFeePerGas: bigint }).maxPriorityFeePerGas;
      expect(mined.maxPriorityFeePerGas).toBeGreaterThanOrEqual(tip + tip / 8n + 1n);
    });
    expect(await balance()).toBe(before + 7n);
  }, 60_000);

  it("sends again under its nonce a send the node dropped; it takes effect once", async () => {
    const { chain, lines } = logged();
    const before = await balance();
    await byHand(async () => {
      const first = await mint(chain, 5n);
      await rpc("anvil_dropTransaction", [first.hash]);
      const confirmed = confirm(chain, first);
      await until(() => lines.some((l) => l.msg === "transaction dropped; sent again under its nonce"));
      await mine(1);
      const hash = await confirmed;
      expect(hash).not.toBe(first.hash);
      expect((await dev.owner.public.getTransaction({ hash })).nonce).toBe(first.nonce);
    });
    expect(await balance()).toBe(before + 5n);
  }, 60_000);

  it("submits a call anew when another transaction of the account took its dropped send's nonce; both take effect once", async () => {
    const { chain, lines } = logged();
    const before = await balance();
    await byHand(async () => {
      const first = await mint(chain, 3n);
      await rpc("anvil_dropTransaction", [first.hash]);
      const other = await mint(chain, 10n);
      expect(other.nonce).toBe(first.nonce);
      const confirmed = confirm(chain, first);
      await until(() =>
        lines.some((l) => l.msg === "transaction's nonce taken by another; call submitted again"),
      );
      await mine(1);
      const hash = await confirmed;
      expect((await dev.owner.public.getTransaction({ hash })).nonce).toBe(first.nonce + 1);
    });
    expect(await balance()).toBe(before + 13n);
  }, 60_000);

  it("gives two sends of one account at once consecutive nonces; both take effect", async () => {
    const { chain } = logged();
    const before = await balance();
    await byHand(async () => {
      const [a, b] = await Promise.all([mint(chain, 20n), mint(chain, 30n)]);
      // Whichever is estimated first goes first.
      expect(Math.abs(b.nonce - a.nonce)).toBe(1);
      const confirmed = Promise.all([confirm(chain, a), confirm(chain, b)]);
      await mine(1);
      await confirmed;
    });
    expect(await balance()).toBe(before + 50n);
  }, 60_000);

  it("waits through a lost RPC for a send mined meanwhile, instead of failing (and being sent twice)", async () => {
    const proxy = await startTcpProxy(dev.chain.rpcUrl);
    const chain = clientsFor(proxy.url, dev.chain.chainId, dev.chain.keys[0] as Hex);
    const before = await balance();
    try {
      await byHand(async () => {
        const sent = await mint(chain, 4n);
        const confirmed = confirm(chain, sent);
        proxy.down();
        await mine(1); // straight to anvil: the send is mined while its sender cannot see the chain
        await sleep(3000);
        proxy.up();
        expect(await confirmed).toBe(sent.hash);
      });
    } finally {
      await proxy.close();
    }
    expect(await balance()).toBe(before + 4n);
  }, 60_000);

  it("finds a receipt first missed on a chain that mines only when a transaction comes, without waiting for another block", async () => {
    // An RPC in front of anvil that answers the first receipt look-up with null (a node whose head has
    // the block but not yet its receipts). Anvil automines: no block comes unless someone sends.
    let missed = 0;
    const rpcProxy = createServer(async (req, res) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      const call = JSON.parse(body) as { id: number; method: string };
      if (call.method === "eth_getTransactionReceipt" && missed === 0) {
        missed++;
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ jsonrpc: "2.0", id: call.id, result: null }));
        return;
      }
      const answer = await fetch(dev.chain.rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      res.setHeader("content-type", "application/json");
      res.end(await answer.text());
    });
    await new Promise<void>((up) => rpcProxy.listen(0, "127.0.0.1", up));
    const { port } = rpcProxy.address() as AddressInfo;
    const chain = clientsFor(`http://127.0.0.1:${port}`, dev.chain.chainId, dev.chain.keys[0] as Hex);
    const before = await balance();
    try {
      const sent = await mint(chain, 6n);
      const started = performance.now();
      expect(await confirm(chain, sent)).toBe(sent.hash);
      expect(missed).toBe(1);
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      await new Promise((down) => rpcProxy.close(down));
    }
    expect(await balance()).toBe(before + 6n);
  }, 60_000);

  it("at the fee ceiling offers no more: a pending send waits, unreplaced, and is the one mined", async () => {
    const { baseFeePerGas } = await dev.owner.public.getBlock();
    const tip = await dev.owner.public.estimateMaxPriorityFeePerGas();
    // Under what a send would offer (twice the base fee plus the tip), and over the base fee that five
    // full blocks raise by an eighth each.
    const ceiling = 2n * (baseFeePerGas as bigint) + tip / 2n;
    const { chain, lines } = logged(ceiling);
    const before = await balance();
    await byHand(async () => {
      const first = await mint(chain, 2n);
      expect(first.fees).toMatchObject({ maxFeePerGas: ceiling });
      const confirmed = confirm(chain, first);
      await until(
        () => lines.some((l) => l.msg === "transaction pending at the fee ceiling; waiting"),
        fullBlocks,
      );
      await mine(1);
      expect(await confirmed).toBe(first.hash);
    });
    expect(lines.filter((l) => l.msg === "transaction re-sent with higher fees")).toEqual([]);
    expect(await balance()).toBe(before + 2n);
  }, 60_000);
});
