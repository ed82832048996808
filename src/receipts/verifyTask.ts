/** Worker task of {@link verifyReceiptStream}: stateless receipt checks against a registry shared once. */
import { loadNativeSecp256k1 } from "../crypto/nativeSecp256k1.ts";
import { bytesToHex } from "../protocol/encoding/hex.ts";
import { fail, ok, type Verdict } from "../protocol/errors.ts";
import { receiptDigest, validateSignedReceipt } from "../protocol/receipt/receipt.ts";
import {
  checkReceipt,
  parseRegistry,
  pureSecp256k1,
  type RegistrySnapshot,
  recoverReceiptSigner,
  type Secp256k1Backend,
  type VerifiedReceipt,
} from "../protocol/receipt/verifyReceipt.ts";

/** Shared inputs: the registry as JSON (structured-clone friendly; null: signature only) and the backend. */
export interface VerifyTaskData {
  readonly registry: unknown;
  readonly pure: boolean;
}

/** Returns the batch handler: JSON texts in, verdicts out. */
export function setup(data: unknown): (batch: unknown[]) => Verdict<VerifiedReceipt>[] {
  const { registry: json, pure } = data as VerifyTaskData;
  const registry = json === null ? null : parseRegistry(json);
  if (registry && !registry.ok) throw new Error(registry.error.message);
  const backend = (pure ? null : loadNativeSecp256k1()) ?? pureSecp256k1;
  return (batch) => batch.map((item) => verifyItem(item as string, registry?.value ?? null, backend));
}

/**
 * Verifies one receipt's JSON text: with a registry, every stateless sequencer check; without, that
 * the signature recovers to the receipt's worker. What passes is ready for the replay rule and a
 * sequencer's admission (its digest included).
 */
export function verifyItem(
  text: string,
  registry: RegistrySnapshot | null,
  backend: Secp256k1Backend,
): Verdict<VerifiedReceipt> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail("RECEIPT_MALFORMED", `not valid JSON: ${(e as Error).message}`);
  }
  const signed = validateSignedReceipt(raw);
  if (!signed.ok) return signed;
  const r = signed.value.receipt;
  if (registry) return checkReceipt(signed.value, registry, backend);
  const signer = recoverReceiptSigner(signed.value, backend);
  if (!signer.ok) return signer;
  return signer.value === r.worker.toLowerCase()
    ? ok({
        digest: bytesToHex(receiptDigest(r, backend.keccak256)),
        worker: signer.value,
        sequence: r.sequence,
        requestId: r.requestId.toLowerCase() as typeof r.requestId,
      })
    : fail("RECEIPT_SIGNATURE_INVALID", `signed by ${signer.value}, not by the receipt's worker ${r.worker}`);
}
