/**
 * The batch poster against a real anvil: it sends sealed batches back to back and learns they are
 * posted from the rollup's `BatchPosted` events (no receipt polling), and a send the chain dropped
 * (an anvil that lost its mempool) is noticed after a few blocks and sent again, posting the batch once.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rollupAbi } from "../../../chain/generated/contracts.ts";
import { deployedFrom } from "../../../chain/logs.ts";
import { DEVNET_OTR_PARAMS } from "../../../protocol/params/otr.ts";
import { checkReceipt, pureSecp256k1, signReceipt } from "../../../protocol/receipt/verifyReceipt.ts";
import { type SealedBatch, Sequencer } from "../../../protocol/rollup/sequencer.ts";
import { type DevChain, startDevChain, TOKEN } from "../../../testing/devChain.ts";
import { devReceipt, devRegistry, ENCLAVE_KEY } from "../../../testing/devWorker.ts";
import { ReceiptStore } from "../../store/receiptStore.ts";
import { BatchPoster } from "./batchPoster.ts";

let dev: DevChain;
beforeAll(async () => {
  dev = await startDevChain();
}, 120_000);
afterAll(() => dev?.chain.stop());

/** A poster over a fresh store, its log lines kept, and a way to seal batches of `perBatch` receipts. */
function posterOn(perBatch: number) {
  const store = ReceiptStore.open(join(mkdtempSync(join(tmpdir(), "verinfer-poster-")), "r.sqlite"));
  const lines: { msg: string; outcome?: string; batch?: number }[] = [];
  const logger = pino(
    { level: "info" },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  const posted: number[] = [];
  const poster = new BatchPoster(
    store,
    dev.owner,
    dev.d.rollup,
    logger,
    { posted: (i) => posted.push(i), forced: () => {} },
    deployedFrom(dev.d),
  );
  const chainId = BigInt(dev.chain.chainId);
  const registry = devRegistry(chainId, dev.d.rollup, 10n * TOKEN, 10n * TOKEN);
  const sequencer = new Sequencer({ ...DEVNET_OTR_PARAMS.rollup, maxBatchReceipts: perBatch }, 1 << 16);
  let next = 0;
  /** Admits receipts until a batch seals, as the gateway does (stored, then recorded as sealed). */
  const seal = (): SealedBatch => {
    for (;;) {
      const signed = signReceipt(devReceipt(next++, chainId, dev.d.rollup), ENCLAVE_KEY);
      const verified = checkReceipt(signed, registry, pureSecp256k1);
      if (!verified.ok) throw new Error(verified.error.message);
      const admitted = sequencer.admit(signed, verified, 0);
      if (!admitted.ok) throw new Error(admitted.error.message);
      store.admit({ signed, digest: verified.value.digest, client: "test", admittedAtMs: 0 });
      if (admitted.value.sealed) {
        poster.record(admitted.value.sealed);
        return admitted.value.sealed;
      }
    }
  };
  return { store, poster, posted, lines, seal };
}

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

describe("BatchPoster", () => {
  it("sends sealed batches back to back and marks them posted from the rollup's events", async () => {
    const { store, poster, posted, seal } = posterOn(2);
    const batches = [seal(), seal(), seal()];
    await rpc("evm_setAutomine", [false]);
    try {
      await poster.step(); // sends all three; no block yet, so nothing is posted
      expect(batches.map((b) => store.batch(b.index)?.status)).toEqual(["sealed", "sealed", "sealed"]);
      const pending = (await rpc("txpool_content")) as { pending: Record<string, Record<string, unknown>> };
      expect(Object.values(pending.pending).flatMap((byNonce) => Object.keys(byNonce))).toHaveLength(3);
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
    const { store, poster, posted, lines, seal } = posterOn(2);
    // A fresh store on the same chain starts its indices at 0: it recognises the earlier test's batches.
    const before = await batchCount();
    for (let i = 0; i < before; i++) seal();
    await poster.step();
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
      expect(lines.filter((l) => l.msg === "batch transaction failed; sending again")).toMatchObject([
        { batch: batch.index, outcome: "dropped" },
      ]);
      await poster.step(); // sends it again
      await rpc("anvil_mine", ["0x1"]);
      await poster.step();
    } finally {
      await rpc("evm_setAutomine", [true]);
    }
    expect(store.batch(batch.index)?.status).toBe("posted");
    expect(posted).toEqual([batch.index]);
    expect(await batchCount()).toBe(batch.index + 1);
  }, 60_000);
});
