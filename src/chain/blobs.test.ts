/**
 * Batches with their data in EIP-4844 blobs on anvil: a batch sealed by the protocol's sequencer,
 * too big for one blob, is posted with its blobs; the rollup records keccak256 of their versioned hashes
 * as its data pointer, the node gives the blobs back, and the data decodes to the very receipts whose
 * inclusion proofs hold against the posted root.
 */
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes } from "../protocol/encoding/hex.ts";
import { keccak256 } from "../protocol/encoding/keccak.ts";
import { DEFAULT_OTR_PARAMS } from "../protocol/params/otr.ts";
import { checkReceipt, pureSecp256k1, signReceipt } from "../protocol/receipt/verifyReceipt.ts";
import { decodeBatchData } from "../protocol/rollup/batchData.ts";
import { type SealedBatch, Sequencer } from "../protocol/rollup/sequencer.ts";
import { startDevChain, TOKEN } from "../testing/devChain.ts";
import { devReceipt, devRegistry, ENCLAVE_KEY } from "../testing/devWorker.ts";
import type { LocalChain } from "./anvil.ts";
import { postBatchBlobs, readBatchBlobs } from "./blobs.ts";
import type { ChainClients, Deployment } from "./deploy.ts";
import { rollupAbi } from "./generated/contracts.ts";
import { postingLog } from "./postedBatches.ts";

const RECEIPTS = 600; // 257 bytes each: about 154 KB, two blobs

let chain: LocalChain;
let c: ChainClients;
let d: Deployment;

beforeAll(async () => {
  ({ chain, owner: c, d } = await startDevChain());
}, 60_000);

afterAll(() => chain?.stop());

describe("batch data in blobs", () => {
  it("posts a two-blob batch whose data comes back and proves every receipt against the root", async () => {
    const chainId = BigInt(chain.chainId);
    const registry = devRegistry(chainId, d.rollup, 10n * TOKEN, TOKEN);
    const sequencer = new Sequencer({ ...DEFAULT_OTR_PARAMS.rollup, maxBatchReceipts: RECEIPTS + 1 }, 4096);
    for (let i = 0; i < RECEIPTS; i++) {
      const signed = signReceipt(devReceipt(i, chainId, d.rollup), ENCLAVE_KEY);
      const admitted = sequencer.admit(signed, checkReceipt(signed, registry, pureSecp256k1), i);
      if (!admitted.ok) throw new Error(admitted.error.message);
    }
    const batch = sequencer.flush(RECEIPTS) as SealedBatch;
    const posted = await postBatchBlobs(c, d.rollup, batch);
    expect(posted.versionedHashes).toHaveLength(2);
    const onChain = (await c.public.readContract({
      address: d.rollup,
      abi: rollupAbi,
      functionName: "batch",
      args: [0n],
    })) as { root: Hex; count: number; kind: number };
    expect(onChain).toMatchObject({ root: batch.root, count: RECEIPTS, kind: 1 });
    expect((await postingLog(c, d.rollup, 0))?.args.dataRef).toBe(posted.dataRef);
    const tx = await c.public.getTransaction({ hash: posted.hash });
    expect(tx.blobVersionedHashes).toEqual(posted.versionedHashes);
    // Anyone rebuilds the batch from the blobs alone.
    const data = await readBatchBlobs(c, posted.versionedHashes);
    expect(bytesToHex(data)).toBe(bytesToHex(batch.data));
    const decoded = decodeBatchData(data);
    if (!decoded.ok) throw new Error(decoded.error.message);
    expect(decoded.value).toHaveLength(RECEIPTS);
    for (const p of [0, 299, RECEIPTS - 1]) {
      const s = decoded.value[p]!;
      expect(
        await c.public.readContract({
          address: d.rollup,
          abi: rollupAbi,
          functionName: "includes",
          args: [
            0n,
            p,
            batch.digests[p] as Hex,
            bytesToHex(keccak256(hexToBytes(s.signature))),
            batch.tree.proof(p),
          ],
        }),
      ).toBe(true);
    }
  }, 120_000);
});
