/**
 * What a client can check about an answer on its own: the `verinfer` extension's receipt is well
 * formed, for this network, signed by the worker it names, with the digest the gateway states; and,
 * once its batch is posted, that the rollup's on-chain root includes it (Rollup.includes).
 */
import { type Hex, keccak256 } from "viem";
import type { ChainClients } from "../../chain/deploy.ts";
import { rollupAbi } from "../../chain/generated/contracts.ts";
import { bytesToHex } from "../../protocol/encoding/hex.ts";
import { fail, ok, type Verdict } from "../../protocol/errors.ts";
import { receiptDigest, type SignedReceipt, validateSignedReceipt } from "../../protocol/receipt/receipt.ts";
import { recoverReceiptSigner } from "../../protocol/receipt/verifyReceipt.ts";

/** The `verinfer` field of a gateway answer (and the body of GET /v1/receipts/:id). */
export interface AnswerReceipt {
  readonly requestId: Hex;
  readonly receipt: Record<string, unknown>;
  readonly signature: Hex;
  readonly digest: Hex;
  readonly status?: string;
  readonly batch: number | null;
  readonly position: number | null;
  readonly proof?: readonly Hex[] | null;
}

/** Checks an answer's receipt without trusting the gateway. */
export function checkAnswerReceipt(
  a: AnswerReceipt,
  network: { readonly chainId: number; readonly rollup: Hex },
): Verdict<SignedReceipt> {
  const signed = validateSignedReceipt({ receipt: a.receipt, signature: a.signature });
  if (!signed.ok) return signed;
  const r = signed.value.receipt;
  if (r.chainId !== BigInt(network.chainId) || r.settlement.toLowerCase() !== network.rollup.toLowerCase())
    return fail("RECEIPT_DOMAIN_MISMATCH", `the receipt is for chain ${r.chainId} / ${r.settlement}`);
  const signer = recoverReceiptSigner(signed.value);
  if (!signer.ok) return signer;
  if (signer.value.toLowerCase() !== r.worker.toLowerCase())
    return fail("RECEIPT_SIGNATURE_INVALID", `signed by ${signer.value}, not by the worker ${r.worker}`);
  if (bytesToHex(receiptDigest(r)) !== a.digest.toLowerCase())
    return fail("RECEIPT_SIGNATURE_INVALID", "the stated digest is not the receipt's EIP-712 digest");
  return ok(signed.value);
}

/** Whether the rollup's posted root for the receipt's batch includes it at its position. */
export async function includedOnChain(
  c: Pick<ChainClients, "public">,
  rollup: Hex,
  a: AnswerReceipt,
): Promise<boolean> {
  if (a.batch === null || a.position === null || !a.proof) return false;
  return (await c.public.readContract({
    address: rollup,
    abi: rollupAbi,
    functionName: "includes",
    args: [BigInt(a.batch), a.position, a.digest, keccak256(a.signature), a.proof],
  } as never)) as boolean;
}
