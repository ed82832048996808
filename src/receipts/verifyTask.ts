/** Worker task of {@link verifyReceipts}: stateless receipt checks against a registry shared once. */
import { loadNativeSecp256k1 } from "../crypto/nativeSecp256k1.ts";
import { fail, type Verdict } from "../protocol/errors.ts";
import { validateSignedReceipt } from "../protocol/receipt/receipt.ts";
import {
  checkReceipt,
  parseRegistry,
  pureSecp256k1,
  type RegistrySnapshot,
  type Secp256k1Backend,
  type VerifiedReceipt,
} from "../protocol/receipt/verifyReceipt.ts";

/** Shared inputs: the registry as JSON (structured-clone friendly) and the backend choice. */
export interface VerifyTaskData {
  readonly registry: unknown;
  readonly pure: boolean;
}

/** Returns the batch handler: raw JSON receipts in, verdicts out. */
export function setup(data: unknown): (batch: unknown[]) => Verdict<VerifiedReceipt>[] {
  const { registry: json, pure } = data as VerifyTaskData;
  const registry = parseRegistry(json);
  if (!registry.ok) throw new Error(registry.error.message);
  const backend = (pure ? null : loadNativeSecp256k1()) ?? pureSecp256k1;
  return (batch) => batch.map((item) => verifyItem(item, registry.value, backend));
}

/** Verifies one item: a receipt object, or its JSON text (parsed here, so workers share the work). */
export function verifyItem(
  item: unknown,
  registry: RegistrySnapshot,
  backend: Secp256k1Backend,
): Verdict<VerifiedReceipt> {
  let raw = item;
  if (typeof item === "string") {
    try {
      raw = JSON.parse(item);
    } catch (e) {
      return fail("RECEIPT_MALFORMED", `not valid JSON: ${(e as Error).message}`);
    }
  }
  const signed = validateSignedReceipt(raw);
  return signed.ok ? checkReceipt(signed.value, registry, backend) : signed;
}
