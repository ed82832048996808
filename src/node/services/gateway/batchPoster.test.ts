/**
 * The batch poster against a real anvil: it sends sealed batches back to back and learns they are
 * posted from the rollup's `BatchPosted` events (no receipt polling), and a send the chain dropped
 * (an anvil that lost its mempool, or just that one send) is noticed after a few blocks and sent again
 * under its nonce, posting the batch once (so is one a fee spike priced out, which anvil drops);
 * one that blocks leave pending is replaced under its nonce with higher fees, up to a fee ceiling.
 */
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientsFor } from "../../../chain/deploy.ts";
import { forceReceipt } from "../../../chain/forcedInclusion.ts";
import { rollupAbi } from "../../../chain/generated/contracts.ts";
import { batchInfo, rollupConstant } from "../../../chain/postedBatches.ts";
import { signReceipt } from "../../../protocol/receipt/verifyReceipt.ts";
import { type DevChain, startDevChain } from "../../../testing/devChain.ts";
import { devReceipt, ENCLAVE_KEY } from "../../../testing/devWorker.ts";
import { posterRig } from "../../../testing/posterRig.ts";

let dev: DevChain;
beforeAll(async () => {
  dev = await startDevChain();
}, 120_000);
afterAll(() => dev?.chain.stop());

const posterOn = (perBatch: number) => posterRig(dev, perBatch);

const rpc = (method: string, params: unknown[] = []) =>
  dev.owner.public.request({ method, params } as never) as Promise<unknown>;
const batchCount = async () =>
  Number(
    await dev.owner.public.readContract({
      address: dev.d.rollup,
      abi: rollupAbi,
      functionName: "batchCount",
    }),
  );

/**
 * Brings a fresh rig level with the chain: its store starts its indices at 0, so it seals and recognises
 * (from their `BatchPosted` events) the batches earlier tests posted.
 */
async function caughtUp(rig: ReturnType<typeof posterRig>): Promise<void> {
  const before = await batchCount();
  for (let i = 0; i < before; i++) rig.seal();
  await rig.poster.step();
}

/**
 * Steps the poster until it has seen batch `index` posted (at most 5 s): a send anvil mines "at once"
 * may land just after the step that sent it read the head.
 */
async function stepUntilPosted(rig: ReturnType<typeof posterRig>, index: number): Promise<void> {
  for (let i = 0; i < 20 && rig.store.batch(index)?.status !== "posted"; i++) {
    await new Promise((wake) => setTimeout(wake, 250));
    await rig.poster.step();
  }
}

/** A transaction in anvil's pool (`txpool_content`). */
type PoolEntry = { hash: Hex; nonce: Hex; maxPriorityFeePerGas: Hex };

/** The sends pending in anvil's pool, by nonce. */
async function pooled(): Promise<PoolEntry[]> {
  const pool = (await rpc("txpool_content")) as { pending: Record<string, Record<string, PoolEntry>> };
  return Object.values(pool.pending)
    .flatMap((byNonce) => Object.values(byNonce))
    .sort((x, y) => Number(x.nonce) - Number(y.nonce));
}

describe("BatchPoster", () => {
  it("sends sealed batches back to back and marks them posted from the rollup's events", async () => {
    const { store, poster, posted, seal } = posterOn(2);
    const batches = [seal(), seal(), seal()];
    await rpc("evm_setAutomine", [false]);
    try {
      await poster.step(); // sends all three; no block yet, so nothing is posted
      expect(batches.map((b) => store.batch(b.index)?.status)).toEqual(["sealed", "sealed", "sealed"]);
      expect(await pooled()).toHaveLength(3);
      await rpc("anvil_mine", ["0x1"]);
      await poster.step();
    } finally {
      await rpc("evm_setAutomine", [true]);
    }
    expect(batches.map((b) => store.batch(b.index)?.status)).toEqual(["posted", "posted", "posted"]);
    expect(posted).toEqual([0, 1, 2]);
    expect(await batchCount()).toBe(3);
  }, 60_000);

  it("sends again a batch whose transaction the chain dropped, and posts it once", async () => {
    const rig = posterOn(2);
    const { store, poster, posted, lines, seal } = rig;
    await caughtUp(rig);
    const batch = seal();
    await rpc("evm_setAutomine", [false]);
    try {
      await poster.step();
      await rpc("anvil_dropAllTransactions");
      // Blocks come without its event: after five the poster looks the send up and finds it gone.
      for (let b = 0; b < 5; b++) {
        await rpc("anvil_mine", ["0x1"]);
        await poster.step();
      }
      // Its nonce unused, it went out again under that nonce at the fifth block.
      expect(
        lines.filter((l) => l.msg === "batch transaction dropped; sending it again under its nonce"),
      ).toMatchObject([{ batch: batch.index }]);
      await rpc("anvil_mine", ["0x1"]);
      await poster.step();
    } finally {
      await rpc("evm_setAutomine", [true]);
    }
    expect(store.batch(batch.index)?.status).toBe("posted");
    expect(posted).toEqual([batch.index]);
    expect(await batchCount()).toBe(batch.index + 1);
  }, 60_000);

  it("sends again a send dropped from between two others, under its nonce, and posts all three once", async () => {
    const rig = posterOn(2);
    const { store, poster, posted, lines, seal } = rig;
    await caughtUp(rig);
    const batches = [seal(), seal(), seal()];
    await rpc("evm_setAutomine", [false]);
    try {
      await poster.step(); // three sends, consecutive nonces
      const sends = await pooled();
      expect(sends).toHaveLength(3);
      // The node loses the middle one (anvil drops the sends queued behind it too); the first is mined.
      await rpc("anvil_dropTransaction", [sends[1]?.hash]);
      // The first block posts the first; by the fifth the second has gone five blocks without its event
      // and is looked up: gone, its nonce unused. It goes out again, and the third with it.
      for (let b = 0; b < 5; b++) {
        await rpc("anvil_mine", ["0x1"]);
        await poster.step();
      }
      expect(batches.map((b) => store.batch(b.index)?.status)).toEqual(["posted", "sealed", "sealed"]);
      expect(
        lines.filter((l) => l.msg === "batch transaction dropped; sending it again under its nonce"),
      ).toMatchObject([{ batch: batches[1]?.index, tx: sends[1]?.hash }]);
      expect(
        lines.filter((l) => l.msg === "batch transaction re-sent with higher fees").map((l) => l.batch),
      ).toEqual([batches[1]?.index, batches[2]?.index]);
      await rpc("anvil_mine", ["0x1"]);
      await poster.step();
    } finally {
      await rpc("evm_setAutomine", [true]);
    }
    expect(batches.map((b) => store.batch(b.index)?.status)).toEqual(["posted", "posted", "posted"]);
    expect(posted).toEqual(batches.map((b) => b.index));
    expect(lines.filter((l) => l.msg === "batch transaction failed; sending again")).toEqual([]);
    expect(await batchCount()).toBe((batches[2]?.index as number) + 1);
  }, 60_000);

  /**
   * Seals a batch and sends it into blocks too small for it, which keep it pending (anvil drops a send
   * priced under the base fee instead of keeping it, so a full chain stands in for a fee spike here);
   * after five blocks, when the poster looks it up, blocks fit again. Returns the first send.
   */
  async function stuckSend(rig: ReturnType<typeof posterRig>) {
    await caughtUp(rig);
    const batch = rig.seal();
    let first: PoolEntry | undefined;
    await rpc("evm_setAutomine", [false]);
    try {
      await rig.poster.step();
      await rpc("evm_setBlockGasLimit", ["0x30000"]);
      [first] = await pooled();
      for (let b = 0; b < 5; b++) {
        await rpc("anvil_mine", ["0x1"]);
        if (b === 4) await rpc("evm_setBlockGasLimit", ["0x1c9c380"]);
        await rig.poster.step(); // at the fifth block: looked up, found pending
      }
      await rpc("anvil_mine", ["0x1"]);
      await rig.poster.step();
    } finally {
      await rpc("evm_setBlockGasLimit", ["0x1c9c380"]);
      await rpc("evm_setAutomine", [true]);
    }
    expect(rig.store.batch(batch.index)?.status).toBe("posted");
    expect(rig.posted).toEqual([batch.index]);
    expect(await batchCount()).toBe(batch.index + 1);
    return { batch, first: first as PoolEntry };
  }

  it("replaces a send that blocks leave pending with one under its nonce paying more, and posts it once", async () => {
    const rig = posterOn(2);
    const { batch, first } = await stuckSend(rig);
    const bumped = rig.lines.filter((l) => l.msg === "batch transaction re-sent with higher fees");
    expect(bumped).toMatchObject([{ batch: batch.index, replaced: first.hash }]);
    // The replacement is what was mined: the first send's nonce, at least an eighth more in tip.
    const replacement = (bumped[0] as { tx: Hex }).tx;
    expect(rig.store.batch(batch.index)?.postedTx).toBe(replacement);
    const mined = await dev.owner.public.getTransaction({ hash: replacement });
    expect(mined.nonce).toBe(Number(first.nonce));
    expect(mined.maxPriorityFeePerGas).toBeGreaterThan((BigInt(first.maxPriorityFeePerGas) * 9n) / 8n);
  }, 60_000);

  /**
   * Seals a batch, sends it, and lifts the next block's base fee to `spike`, over what the send offers:
   * anvil drops it from its pool. Blocks follow (up to `blocks`) until the batch is posted.
   */
  async function spikedSend(rig: ReturnType<typeof posterRig>, spike: bigint, blocks: number) {
    await caughtUp(rig);
    const batch = rig.seal();
    await rpc("evm_setAutomine", [false]);
    let first: PoolEntry | undefined;
    try {
      await rig.poster.step();
      [first] = await pooled();
      await rpc("anvil_setNextBlockBaseFeePerGas", [`0x${spike.toString(16)}`]);
      for (let b = 0; b < blocks && rig.store.batch(batch.index)?.status !== "posted"; b++) {
        await rpc("anvil_mine", ["0x1"]);
        await rig.poster.step();
      }
    } finally {
      await rpc("evm_setAutomine", [true]);
    }
    expect(
      rig.lines.filter((l) => l.msg === "batch transaction dropped; sending it again under its nonce")[0],
    ).toMatchObject({ batch: batch.index, tx: first?.hash });
    expect(rig.store.batch(batch.index)?.status).toBe("posted");
    expect(rig.posted).toEqual([batch.index]);
    expect(await batchCount()).toBe(batch.index + 1);
    const mined = await dev.owner.public.getTransaction({
      hash: rig.store.batch(batch.index)?.postedTx as Hex,
    });
    expect(mined.nonce).toBe(Number(first?.nonce));
    return mined;
  }

  it("after a fee spike sends again, priced at the new head, a send the spike priced out, and posts it once", async () => {
    const spike = 20_000_000_000n; // 20 gwei, some hundred times the dev chain's base fee
    const mined = await spikedSend(posterOn(2), spike, 6);
    expect(mined.maxFeePerGas).toBeGreaterThan(spike);
  }, 60_000);

  it("with a fee ceiling under the spike, sends the priced-out send again at the ceiling until the base fee falls under it", async () => {
    // A ceiling just over what the poster first offers (twice the base fee plus the tip), under the spike.
    const { baseFeePerGas } = await dev.owner.public.getBlock();
    const tip = await dev.owner.public.estimateMaxPriorityFeePerGas();
    const ceiling = 2n * (baseFeePerGas as bigint) + tip + 100_000_000n;
    const rig = posterRig(dev, 2, { maxFeePerGas: ceiling });
    const mined = await spikedSend(rig, 2n * ceiling, 30);
    expect(mined.maxFeePerGas).toBe(ceiling);
    expect(rig.lines.some((l) => l.msg === "batch transaction re-sent at the fee ceiling")).toBe(true);
    expect(rig.lines.some((l) => l.msg === "batch transaction re-sent with higher fees")).toBe(false);
  }, 60_000);

  it("at the fee ceiling offers no more: a pending send waits, unreplaced, and is the one mined", async () => {
    // A ceiling under what the poster would offer (twice the base fee plus the tip), above the base fee.
    const { baseFeePerGas } = await dev.owner.public.getBlock();
    const ceiling = ((baseFeePerGas as bigint) * 3n) / 2n;
    const rig = posterRig(dev, 2, { maxFeePerGas: ceiling });
    const { batch, first } = await stuckSend(rig);
    expect(rig.lines.filter((l) => l.msg === "batch transaction re-sent with higher fees")).toEqual([]);
    expect(
      rig.lines.filter((l) => l.msg === "batch transaction pending at the fee ceiling; waiting"),
    ).toMatchObject([{ batch: batch.index, tx: first.hash }]);
    expect(rig.store.batch(batch.index)?.postedTx).toBe(first.hash);
    expect((await dev.owner.public.getTransaction({ hash: first.hash })).maxFeePerGas).toBe(ceiling);
  }, 60_000);

  it("restarted, resumes following the rollup after its saved block, finds the batch it sent just before, and keeps what clients forced in", async () => {
    const rig = posterOn(2);
    await caughtUp(rig);
    // A receipt a client forced in, then enough blocks for the poster to save a point past it.
    const chainId = BigInt(dev.chain.chainId);
    const client = clientsFor(dev.chain.rpcUrl, dev.chain.chainId, dev.chain.keys[5] as Hex);
    const forced = await forceReceipt(
      client,
      dev.d.rollup,
      signReceipt(devReceipt(1_000_000, chainId, dev.d.rollup), ENCLAVE_KEY),
    );
    await rig.poster.step();
    await rpc("anvil_mine", ["0x50"]);
    await rig.poster.step();
    const head = await dev.owner.public.getBlockNumber();
    expect(rig.store.resumePoints.resumePoint(`rollup ${dev.d.rollup.toLowerCase()}`)?.block).toBe(head);
    // A batch sent, and the gateway gone before it read the batch's event.
    const batch = rig.seal();
    await rpc("evm_setAutomine", [false]);
    try {
      await rig.poster.step();
      await rpc("anvil_mine", ["0x1"]);
    } finally {
      await rpc("evm_setAutomine", [true]);
    }
    expect(rig.store.batch(batch.index)?.status).toBe("sealed");
    await rig.restarted().step();
    expect(rig.lines).toContainEqual(
      expect.objectContaining({ msg: "resuming from the saved block", from: String(head + 1n) }),
    );
    expect(rig.store.batch(batch.index)?.status).toBe("posted");
    expect(rig.lines.at(-1)).toMatchObject({
      batch: batch.index,
      msg: expect.stringMatching(/found on chain/),
    });
    expect(await batchCount()).toBe(batch.index + 1); // posted once
    // The forced receipt's event is before the saved block: the store kept it for the sequencer.
    expect(rig.store.forcedDigests()).toEqual([forced.digest.toLowerCase()]);
  }, 60_000);

  it("as the gateway runs it, reads the head twice a block, not on every tick, and still posts each batch", async () => {
    // The poster's reads of the head, counted on its own clients (nothing else changes).
    let headReads = 0;
    const counted = new Proxy(dev.owner.public, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (key !== "getBlock") return value;
        return (...args: unknown[]) => {
          headReads++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const rig = posterRig(dev, 2, {
      headReads: "twice-a-block",
      chain: { ...dev.owner, public: counted as typeof dev.owner.public },
    });
    await caughtUp(rig);
    await rpc("evm_setAutomine", [false]);
    await rpc("evm_setIntervalMining", [2]);
    try {
      // The gateway's 250 ms tick on 2 s blocks. Until it has seen blocks come it reads on every tick
      // (4 s here); then, for 8 s (32 ticks, a batch sealed half way), it is counted.
      const batch = { index: -1 };
      let start = 0;
      for (let tick = 0; tick < 48; tick++) {
        if (tick === 16) start = headReads;
        if (tick === 32) batch.index = rig.seal().index;
        await rig.poster.step();
        await new Promise((wake) => setTimeout(wake, 250));
      }
      const reads = headReads - start;
      // About twice per block: four blocks, eight reads (one more or less at the edges); never 32.
      expect(reads).toBeGreaterThanOrEqual(4);
      expect(reads).toBeLessThanOrEqual(12);
      // It still follows every block: the batch sent mid-way was seen posted.
      await stepUntilPosted(rig, batch.index);
      expect(rig.store.batch(batch.index)?.status).toBe("posted");
      expect(rig.posted).toEqual([batch.index]);
    } finally {
      await rpc("evm_setIntervalMining", [0]);
      await rpc("evm_setAutomine", [true]);
    }
  }, 60_000);

  it("posts again, once each and with the same roots, the batches a reorganisation took off the chain", async () => {
    const rig = posterOn(2);
    await caughtUp(rig);
    const kept = rig.seal();
    await stepUntilPosted(rig, kept.index);
    const before = (await rpc("evm_snapshot")) as string;
    const lost = [rig.seal(), rig.seal()];
    await stepUntilPosted(rig, lost[1]?.index as number);
    expect(lost.map((b) => rig.store.batch(b.index)?.status)).toEqual(["posted", "posted"]);
    // The chain loses the blocks that posted the last two, and mines others in their place.
    await rpc("evm_revert", [before]);
    expect(await batchCount()).toBe(kept.index + 1);
    await rpc("anvil_mine", ["0x3"]);
    for (let i = 0; i < 20 && (await batchCount()) < kept.index + 3; i++) {
      await rig.poster.step();
      await new Promise((wake) => setTimeout(wake, 250));
    }
    await stepUntilPosted(rig, lost[1]?.index as number);
    expect(await batchCount()).toBe(kept.index + 3);
    for (const b of [kept, ...lost]) {
      expect(rig.store.batch(b.index)?.status).toBe("posted");
      const { root } = await batchInfo(dev.owner, dev.d.rollup, b.index);
      expect(root.toLowerCase()).toBe(b.root.toLowerCase());
    }
    expect(rig.store.batchReceipts(lost[0]?.index as number).map((r) => r.status)).toEqual([
      "posted",
      "posted",
    ]);
    const said = rig.lines.filter((l) => /reorganised\): posting them again/.test(l.msg));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ chainBatches: kept.index + 1, batches: lost.map((b) => b.index) });
    // Posted twice by this process: once on the lost blocks, once again.
    expect(rig.posted.filter((i) => i === lost[0]?.index)).toHaveLength(2);
    expect(rig.store.counts().batches.sealed).toBe(0);

    // Again, the gateway down meanwhile: a restarted one, on its store, and with a batch sealed behind
    // the lost one (nothing can be posted until the lost one is).
    const again = (await rpc("evm_snapshot")) as string;
    const lostWhileDown = rig.seal();
    await stepUntilPosted(rig, lostWhileDown.index);
    await rpc("evm_revert", [again]);
    await rpc("anvil_mine", ["0x2"]);
    const restarted = rig.restarted();
    const behind = rig.seal();
    for (let i = 0; i < 20 && rig.store.batch(behind.index)?.status !== "posted"; i++) {
      await restarted.step();
      await new Promise((wake) => setTimeout(wake, 250));
    }
    expect(await batchCount()).toBe(behind.index + 1);
    for (const b of [lostWhileDown, behind])
      expect((await batchInfo(dev.owner, dev.d.rollup, b.index)).root.toLowerCase()).toBe(
        b.root.toLowerCase(),
      );
    expect(rig.store.counts().batches.sealed).toBe(0);

    // Once more, the poster stepped while the chain is back at the fork itself (a block it read, whose
    // hash is unchanged): the rollup's batch count shows the loss, and the cursor, checked back from
    // its last block, finds where.
    const poster = rig.restarted();
    await poster.step();
    const third = (await rpc("evm_snapshot")) as string;
    const lostAtFork = rig.seal();
    for (let i = 0; i < 20 && rig.store.batch(lostAtFork.index)?.status !== "posted"; i++) {
      await poster.step();
      await new Promise((wake) => setTimeout(wake, 250));
    }
    expect(rig.store.batch(lostAtFork.index)?.status).toBe("posted");
    await rpc("evm_revert", [third]);
    await poster.step();
    expect(rig.store.batch(lostAtFork.index)?.status).not.toBe("posted");
    for (let i = 0; i < 20 && rig.store.batch(lostAtFork.index)?.status !== "posted"; i++) {
      await poster.step();
      await new Promise((wake) => setTimeout(wake, 250));
    }
    expect(await batchCount()).toBe(lostAtFork.index + 1);
  }, 60_000);

  // Last: it moves the chain's clock past a challenge window.
  it("with finality 'finalized', marks a batch final only once its window has closed in the chain's finalized block", async () => {
    const rig = posterRig(dev, 2, { finality: "finalized" });
    await caughtUp(rig);
    const batch = rig.seal();
    await rig.poster.step();
    await stepUntilPosted(rig, batch.index);
    const { postedAt } = await batchInfo(dev.owner, dev.d.rollup, batch.index);
    const end = BigInt(postedAt) + (await rollupConstant(dev.owner, dev.d.rollup, "challengeWindow"));
    await rpc("evm_increaseTime", [Number(end) - Number((await dev.owner.public.getBlock()).timestamp)]);
    let closedAtHeadOnly = 0;
    for (let i = 0; i < 40 && rig.store.batch(batch.index)?.status !== "final"; i++) {
      await rpc("anvil_mine", ["0x4"]);
      await rig.poster.step();
      const [head, finalized] = await Promise.all([
        dev.owner.public.getBlock(),
        dev.owner.public.getBlock({ blockTag: "finalized" }),
      ]);
      // Final exactly when the finalized block is past the window's end; the head's time does not count.
      expect(rig.store.batch(batch.index)?.status).toBe(finalized.timestamp >= end ? "final" : "posted");
      if (head.timestamp >= end && finalized.timestamp < end) closedAtHeadOnly++;
    }
    expect(rig.store.batch(batch.index)?.status).toBe("final");
    expect(closedAtHeadOnly).toBeGreaterThan(0);
  }, 60_000);

  // Last: its batch's receipts carry chosen times, which a later rig's `caughtUp` would not seal again.
  it("marks the receipts a batch carried past the rollup's maxReceiptAge stale, and they stay stale when it is final", async () => {
    const rig = posterOn(2);
    await caughtUp(rig);
    const [maxAge, window] = await Promise.all([
      rollupConstant(dev.owner, dev.d.rollup, "maxReceiptAge"),
      rollupConstant(dev.owner, dev.d.rollup, "challengeWindow"),
    ]);
    const { timestamp: now } = await dev.owner.public.getBlock();
    // Signed a second past the bound before the chain's present, and just now (the sequencer admitted both
    // within half the bound by its own clock; the batch then waited).
    const signedAt = [(now - maxAge - 1n) * 1000n, now * 1000n];
    const batch = rig.seal((position) => ({ timestamp: signedAt[position] as bigint }));
    await rig.poster.step();
    await stepUntilPosted(rig, batch.index);
    const [old, fresh] = rig.store.batchReceipts(batch.index);
    expect(rig.store.batch(batch.index)?.status).toBe("posted");
    expect([old?.status, fresh?.status]).toEqual(["stale", "posted"]);
    // The chain says the same of each.
    const staleOnChain = (ts: bigint) =>
      dev.owner.public.readContract({
        address: dev.d.rollup,
        abi: rollupAbi,
        functionName: "receiptStale",
        args: [BigInt(batch.index), ts],
      });
    expect(await Promise.all(signedAt.map(staleOnChain))).toEqual([true, false]);
    expect(rig.lines).toContainEqual(
      expect.objectContaining({ batch: batch.index, stale: 1, msg: expect.stringMatching(/stale/) }),
    );
    expect(rig.store.counts().receipts).toMatchObject({ stale: 1 });
    await rpc("evm_increaseTime", [Number(window)]);
    await rpc("anvil_mine", ["0x1"]);
    await rig.poster.step();
    expect(rig.store.batch(batch.index)?.status).toBe("final");
    expect(rig.store.batchReceipts(batch.index).map((r) => r.status)).toEqual(["stale", "final"]);
  }, 60_000);
});
