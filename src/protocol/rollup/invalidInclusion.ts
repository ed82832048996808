/**
 * Invalid-inclusion proofs (docs/spec/otr.md §3.3): a posted receipt whose fault no later change can
 * mend shows the sequencer admitted what it should have refused — the receipt is voided and the
 * sequencer's bond slashed. Only such faults count: the worker's registration and registered model
 * are permanent and the signature is a fact of the bytes, whereas expiry, stake, evidence, weights and
 * engines can change after admission, and an honest sequencer must never be slashed for what happened
 * later. Rollup.proveInvalidInclusion (with Registry.invariantFault) decides the same on chain.
 */
import type { ErrorCode } from "../errors.ts";
import type { SignedReceipt } from "../receipt/receipt.ts";
import {
  checkReceipt,
  pureSecp256k1,
  type RegistrySnapshot,
  type Secp256k1Backend,
} from "../receipt/verifyReceipt.ts";

/** The faults that prove an invalid inclusion, in the order the contract checks them. */
export const INVALID_INCLUSION_FAULTS = [
  "RECEIPT_WORKER_UNKNOWN",
  "RECEIPT_SIGNATURE_INVALID",
  "RECEIPT_MODEL_MISMATCH",
] as const satisfies readonly ErrorCode[];

/** The fault that proves `signed` should never have been admitted, or null when none does. */
export function invalidInclusionFault(
  signed: SignedReceipt,
  registry: RegistrySnapshot,
  backend: Secp256k1Backend = pureSecp256k1,
): (typeof INVALID_INCLUSION_FAULTS)[number] | null {
  const verdict = checkReceipt(signed, registry, backend);
  if (verdict.ok) return null;
  const code = verdict.error.code;
  // A receipt for another chain or settlement contract does not verify under this one's domain.
  if (code === "RECEIPT_DOMAIN_MISMATCH") return "RECEIPT_SIGNATURE_INVALID";
  if (code === "RECEIPT_WORKER_UNKNOWN" || code === "RECEIPT_SIGNATURE_INVALID") return code;
  const worker = registry.workers.get(signed.receipt.worker.toLowerCase());
  return worker && worker.modelId !== signed.receipt.modelId.toLowerCase() ? "RECEIPT_MODEL_MISMATCH" : null;
}
