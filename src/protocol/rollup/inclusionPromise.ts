/**
 * The sequencer's signed inclusion promise (docs/spec/otr.md §3.1): EIP-712
 * `InclusionPromise(bytes32 receiptDigest,uint64 batch,uint32 position,uint64 admittedAt)` in the
 * settlement contract's domain (`verinfer`, `1`, chainId, settlement) — what a client holds and what
 * `Rollup.proveBrokenPromise` checks.
 */

import { hashTypedData } from "../encoding/eip712.ts";
import type { Hex } from "../encoding/hex.ts";
import { unwrap } from "../errors.ts";
import { RECEIPT_DOMAIN } from "../receipt/receipt.ts";
import type { ProvisionalFinality } from "./sequencer.ts";

/** The promise's EIP-712 types. */
export const INCLUSION_PROMISE_TYPES = {
  InclusionPromise: [
    { name: "receiptDigest", type: "bytes32" },
    { name: "batch", type: "uint64" },
    { name: "position", type: "uint32" },
    { name: "admittedAt", type: "uint64" },
  ],
} as const;

/** The digest the sequencer signs for `promise` on `chainId` with settlement contract `settlement`. */
export function inclusionPromiseDigest(promise: ProvisionalFinality, chainId: bigint, settlement: Hex): Hex {
  return unwrap(
    hashTypedData({
      domain: { ...RECEIPT_DOMAIN, chainId, verifyingContract: settlement },
      types: INCLUSION_PROMISE_TYPES,
      primaryType: "InclusionPromise",
      message: {
        receiptDigest: promise.receiptDigest,
        batch: BigInt(promise.batch),
        position: BigInt(promise.position),
        admittedAt: BigInt(promise.admittedAt),
      },
    }),
  );
}
