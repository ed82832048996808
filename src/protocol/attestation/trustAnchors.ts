/**
 * NVIDIA's trust anchors, pinned by SHA-256 fingerprint of their DER. verinfer does not ship the
 * certificates themselves; it loads them (from NVIDIA's published files, `../shared/data/nvtrust/roots`
 * here) and refuses any file whose fingerprint is not the pinned one.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "../encoding/hex.ts";
import { fail, ok, type Verdict } from "../errors.ts";
import type { Certificate } from "./x509.ts";

/** "NVIDIA Device Identity CA" (P-384, self-signed, valid to 9999-12-31). */
export const NVIDIA_DEVICE_ROOT_SHA256 = "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48";
/** "NVIDIA CoRIM signing Root CA" (valid 2023-03-16 to 2053-03-08). */
export const NVIDIA_RIM_ROOT_SHA256 = "12977b5115acb0381179279fffeb5a8c4d264971ebb32298023a465fa41df5d1";

/** SHA-256 fingerprint of a certificate's DER, lower-case hex. */
export function fingerprint(cert: Certificate): string {
  return bytesToHex(sha256(cert.der)).slice(2);
}

/** Accepts `cert` only if it is the pinned certificate. */
export function checkPinned(cert: Certificate, expected: string, what: string): Verdict<Certificate> {
  const actual = fingerprint(cert);
  return actual === expected
    ? ok(cert)
    : fail(
        "ATTESTATION_CHAIN_UNTRUSTED_ROOT",
        `${what} has fingerprint ${actual}, not the pinned ${expected}`,
      );
}
