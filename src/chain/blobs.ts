/**
 * Batch data in EIP-4844 blobs: a sealed batch's data (protocol/rollup/batchData.ts) cut into blobs with
 * viem, committed with c-kzg, posted with Rollup.postBatchBlob (whose data pointer is keccak256 of the
 * blobs' versioned hashes), and read back from the node. Blob data costs 1 blob gas per byte instead of
 * 16 gas per calldata byte (docs/reproductions/otr.md prices both).
 */
import cKzg from "c-kzg";
import {
  blobsToCommitments,
  commitmentsToVersionedHashes,
  concat,
  defineKzg,
  fromBlobs,
  type Hex,
  type Kzg,
  keccak256,
  parseGwei,
  toBlobs,
} from "viem";
import { bytesToHex, hexToBytes } from "../protocol/encoding/hex.ts";
import type { ChainClients } from "./deploy.ts";
import { rollupAbi } from "./generated/contracts.ts";

let kzg: Kzg | null = null;

/** c-kzg with Ethereum's trusted setup (loaded once per process: about 1.5–2 s). */
function kzgOf(): Kzg {
  if (!kzg) {
    cKzg.loadTrustedSetup(0);
    kzg = defineKzg(cKzg);
  }
  return kzg;
}

/** The blobs that carry `data`, their versioned hashes, and the data pointer the rollup records. */
export function batchBlobs(data: Uint8Array): { blobs: Hex[]; versionedHashes: Hex[]; dataRef: Hex } {
  const blobs = toBlobs({ data: bytesToHex(data) }) as Hex[];
  const commitments = blobsToCommitments({ blobs, kzg: kzgOf() });
  const versionedHashes = commitmentsToVersionedHashes({ commitments }) as Hex[];
  return { blobs, versionedHashes, dataRef: keccak256(concat(versionedHashes)) };
}

/** Posts a sealed batch with its data in blobs (the clients' account must be the bonded sequencer). */
export async function postBatchBlobs(
  c: ChainClients,
  rollup: Hex,
  batch: { readonly index: number; readonly root: Hex; readonly count: number; readonly data: Uint8Array },
): Promise<{ hash: Hex; versionedHashes: Hex[]; dataRef: Hex }> {
  const { blobs, versionedHashes, dataRef } = batchBlobs(batch.data);
  const hash = await c.wallet.writeContract({
    address: rollup,
    abi: rollupAbi,
    functionName: "postBatchBlob",
    args: [BigInt(batch.index), batch.root, batch.count],
    blobs,
    kzg: kzgOf(),
    maxFeePerBlobGas: parseGwei("30"),
  } as never);
  const receipt = await c.public.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`postBatchBlob reverted in ${hash}`);
  return { hash, versionedHashes, dataRef };
}

/** Reads a batch's data back from its blobs (anvil keeps them: `anvil_getBlobByHash`). */
export async function readBatchBlobs(c: ChainClients, versionedHashes: readonly Hex[]): Promise<Uint8Array> {
  const blobs: Hex[] = [];
  for (const h of versionedHashes) {
    const blob = (await c.public.request({
      method: "anvil_getBlobByHash",
      params: [h],
    } as never)) as Hex | null;
    if (!blob) throw new Error(`the node has no blob ${h}`);
    blobs.push(blob);
  }
  return hexToBytes(fromBlobs({ blobs, to: "hex" }));
}
