/**
 * `confirm` against a real anvil: a send that blocks leave pending is sent again under its nonce with
 * higher fees, and the call is made once; at the fee ceiling it waits and the first send is mined; one
 * the node dropped, or whose nonce another call took, fails with TransactionDropped (never reported
 * as the call made). Blocks here are mined by the test (automine off), small enough to leave a send
 * pending where a fee spike would on a real chain (anvil drops a send priced under the base fee).
 */
import { type Hex, keccak256, serializeTransaction } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevChain, startDevChain } from "../testing/devChain.ts";
import { confirm, submit, TransactionDropped } from "./clients.ts";
import { type ChainClients, clientsFor } from "./deploy.ts";
import { verinferTokenAbi } from "./generated/contracts.ts";

let dev: DevChain;
beforeAll(async () => {
  dev = await startDevChain();
}, 120_000);
afterAll(() => dev?.chain.stop());

const rpc = (method: string, params: unknown[] = []) =>
  dev.owner.public.request({ method, params } as never) as Promise<unknown>;
const FULL_BLOCK = "0x1c9c380";
/** A block gas limit under what a mint is sent with (estimate + a quarter + 25,000). */
const SMALL_BLOCK = "0x10000";
const someone = "0x00000000000000000000000000000000000000aa" as Hex;
const balance = async () =>
  (await dev.owner.public.readContract({
    address: dev.d.token,
    abi: verinferTokenAbi,
    functionName: "balanceOf",
    args: [someone],
  })) as bigint;

/** The owner's account, re-sending after `resendAfterMs`, its warnings collected. */
function resending(o: { maxFeePerGas?: bigint; resendAfterMs?: number } = {}) {
  const lines: { msg: string; [k: string]: unknown }[] = [];
  const c: ChainClients = clientsFor(dev.chain.rpcUrl, dev.chain.chainId, dev.chain.keys[0] as Hex, {
    resendAfterMs: 800,
    ...o,
    logger: { warn: (fields, msg) => lines.push({ ...fields, msg }) },
  });
  return { c, lines };
}

const mint = (c: ChainClients, amount: bigint) =>
  submit(c, dev.d.token, verinferTokenAbi, "mint", [someone, amount]);

/** Blocks mined by the test: every 200 ms between `start()` and `stop()`. */
interface Blocks {
  start(): void;
  stop(): void;
}

/** Runs `f` with automine off and its own blocks; restores automine and full blocks after. */
async function withBlocks<T>(f: (blocks: Blocks) => Promise<T>): Promise<T> {
  await rpc("evm_setAutomine", [false]);
  let miner: ReturnType<typeof setInterval> | undefined;
  const blocks: Blocks = {
    start() {
      miner ??= setInterval(() => void rpc("anvil_mine", ["0x1"]).catch(() => {}), 200);
    },
    stop() {
      clearInterval(miner);
      miner = undefined;
    },
  };
  try {
    return await f(blocks);
  } finally {
    blocks.stop();
    await rpc("evm_setBlockGasLimit", [FULL_BLOCK]);
    await rpc("evm_setAutomine", [true]);
  }
}

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(ok()).toBe(true);
};

describe("confirm", () => {
  it("sends a pending transaction again under its nonce with higher fees; the call is made once", async () => {
    const { c, lines } = resending();
    const before = await balance();
    const { first, mined } = await withBlocks(async (blocks) => {
      const hash = await mint(c, 5n);
      const first = await dev.owner.public.getTransaction({ hash });
      // Blocks too small for it come and go (anvil refuses a send larger than the block, so they are
      // full-sized again before it is sent again, and no block comes until it has been).
      await rpc("evm_setBlockGasLimit", [SMALL_BLOCK]);
      blocks.start();
      const confirmed = confirm(c, "mint", hash);
      await new Promise((r) => setTimeout(r, 500));
      blocks.stop();
      await rpc("evm_setBlockGasLimit", [FULL_BLOCK]);
      expect((await dev.owner.public.getTransaction({ hash })).blockNumber).toBeNull();
      await until(() => lines.some((l) => l.msg === "transaction pending; sent again with higher fees"));
      blocks.start();
      return { first, mined: await confirmed };
    });
    const resent = lines.filter((l) => l.msg === "transaction pending; sent again with higher fees");
    expect(resent).toMatchObject([{ call: "mint", replaced: first.hash, tx: mined, nonce: first.nonce }]);
    expect(lines.filter((l) => l.msg !== "transaction pending; sent again with higher fees")).toEqual([]);
    const replacement = await dev.owner.public.getTransaction({ hash: mined });
    expect(replacement.nonce).toBe(first.nonce);
    expect(replacement.maxPriorityFeePerGas).toBeGreaterThan(
      ((first.maxPriorityFeePerGas as bigint) * 9n) / 8n,
    );
    expect(await balance()).toBe(before + 5n);
  }, 60_000);

  it("returns an earlier send that was mined after the node forgot the later one", async () => {
    // As when another node, which never saw the replacement, mines the first send. (viem's wait on the
    // replacement may notice it by the nonce before the look-up after the wait does: either returns it.)
    const { c, lines } = resending();
    const before = await balance();
    const { first, mined } = await withBlocks(async (blocks) => {
      const hash = await mint(c, 17n);
      const first = await dev.owner.public.getTransaction({ hash });
      const raw = serializeTransaction(
        {
          type: "eip1559",
          chainId: dev.chain.chainId,
          nonce: first.nonce,
          to: first.to as Hex,
          data: first.input,
          value: first.value,
          gas: first.gas,
          maxFeePerGas: first.maxFeePerGas as bigint,
          maxPriorityFeePerGas: first.maxPriorityFeePerGas as bigint,
        },
        { r: first.r, s: first.s, yParity: first.yParity as number },
      );
      expect(keccak256(raw)).toBe(hash);
      const confirmed = confirm(c, "mint", hash);
      await until(() => lines.some((l) => l.msg === "transaction pending; sent again with higher fees"));
      const replacement = lines.find((l) => l.msg === "transaction pending; sent again with higher fees")?.tx;
      // In one request: the node loses the replacement and gets the first send back.
      const reply = await fetch(dev.chain.rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify([
          { jsonrpc: "2.0", id: 1, method: "anvil_dropTransaction", params: [replacement] },
          { jsonrpc: "2.0", id: 2, method: "eth_sendRawTransaction", params: [raw] },
        ]),
      });
      expect(((await reply.json()) as { error?: unknown }[]).map((r) => r.error)).toEqual([
        undefined,
        undefined,
      ]);
      blocks.start();
      return { first, mined: await confirmed };
    });
    expect(mined).toBe(first.hash);
    expect(await balance()).toBe(before + 17n);
  }, 60_000);

  it("at the fee ceiling it waits: no second send, and the first one is mined", async () => {
    const { c } = resending();
    const before = await balance();
    const { hash, mined, lines } = await withBlocks(async (blocks) => {
      const hash = await mint(c, 7n);
      // A ceiling at what the send offers: nothing can outbid it.
      const ceiling = (await dev.owner.public.getTransaction({ hash })).maxFeePerGas as bigint;
      const capped = resending({ maxFeePerGas: ceiling });
      await rpc("evm_setBlockGasLimit", [SMALL_BLOCK]);
      blocks.start();
      const confirmed = confirm(capped.c, "mint", hash);
      await until(() =>
        capped.lines.some((l) => l.msg === "transaction pending at the fee ceiling; waiting"),
      );
      await rpc("evm_setBlockGasLimit", [FULL_BLOCK]);
      return { hash, mined: await confirmed, lines: capped.lines };
    });
    expect(mined).toBe(hash);
    expect(lines.filter((l) => l.msg === "transaction pending; sent again with higher fees")).toEqual([]);
    expect(await balance()).toBe(before + 7n);
  }, 60_000);

  it("fails with TransactionDropped for a send the node dropped, and makes no call", async () => {
    const { c } = resending();
    const before = await balance();
    const error = await withBlocks(async (blocks) => {
      const hash = await mint(c, 3n);
      await rpc("anvil_dropTransaction", [hash]);
      blocks.start();
      return confirm(c, "mint", hash).catch((e: unknown) => e);
    });
    expect(error).toBeInstanceOf(TransactionDropped);
    expect(await balance()).toBe(before);
  }, 60_000);

  it("finds a send the node lost (a restart empties its pool) long before the re-send delay", async () => {
    // The delay is longer than this test's timeout: only the look-ups between re-sends can end it.
    const { c, lines } = resending({ resendAfterMs: 600_000 });
    const before = await balance();
    const error = await withBlocks(async (blocks) => {
      const hash = await mint(c, 5n);
      const confirmed = confirm(c, "mint", hash).catch((e: unknown) => e);
      await rpc("anvil_dropTransaction", [hash]);
      blocks.start();
      return confirmed;
    });
    expect(error).toBeInstanceOf(TransactionDropped);
    expect(lines.filter((l) => l.msg.includes("sent again"))).toEqual([]);
    expect(await balance()).toBe(before);
  }, 30_000);

  it("never reports another call that took the nonce as the call made", async () => {
    const { c } = resending();
    const before = await balance();
    const error = await withBlocks(async (blocks) => {
      const hash = await mint(c, 11n);
      const pending = await dev.owner.public.getTransaction({ hash });
      const confirmed = confirm(c, "mint", hash).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 300));
      // The same account sends another call under the pending send's nonce, paying more: it replaces it.
      await c.wallet.writeContract({
        address: dev.d.token,
        abi: verinferTokenAbi,
        functionName: "mint",
        args: [someone, 13n],
        gas: pending.gas,
        nonce: pending.nonce,
        maxFeePerGas: (pending.maxFeePerGas as bigint) * 2n,
        maxPriorityFeePerGas: (pending.maxPriorityFeePerGas as bigint) * 2n,
      } as never);
      blocks.start();
      return confirmed;
    });
    expect(error).toBeInstanceOf(TransactionDropped);
    expect(await balance()).toBe(before + 13n);
  }, 60_000);
});

describe("submit", () => {
  it("sends one account's concurrent calls under distinct nonces: each is made once", async () => {
    const { c } = resending();
    const before = await balance();
    const amounts = [1n, 2n, 4n, 8n, 16n, 32n];
    // Two tasks of one node sending at once (a fisherman's obligations beside its challenges), each
    // waiting for its own confirmation.
    const hashes = await withBlocks(async (blocks) => {
      const sent = await Promise.all(amounts.map((a) => mint(c, a)));
      blocks.start();
      await Promise.all(sent.map((h) => confirm(c, "mint", h)));
      return sent;
    });
    const nonces = await Promise.all(
      hashes.map(async (hash) => (await dev.owner.public.getTransaction({ hash })).nonce),
    );
    expect(new Set(nonces).size).toBe(amounts.length);
    expect(await balance()).toBe(before + 63n);
  }, 60_000);
});
