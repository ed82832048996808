/**
 * Binding a worker's secp256k1 enclave key to its hardware evidence (DESIGN.md): the evidence is
 * requested with nonce = keccak256(enclavePublicKey ‖ verifierChallenge), so evidence that verifies
 * with that nonce proves the key was presented to the TEE for this challenge, and cannot be replayed
 * for another key or another challenge.
 */
import { bytesToHex, concatBytes } from "../encoding/hex.ts";
import { keccak256 } from "../encoding/keccak.ts";
import { fail, ok, type Verdict } from "../errors.ts";

/** The nonce binding an uncompressed secp256k1 public key (65 bytes) to a 32-byte challenge. */
export function bindingNonce(enclavePublicKey: Uint8Array, challenge: Uint8Array): Uint8Array {
  if (enclavePublicKey.length !== 65 || enclavePublicKey[0] !== 4) {
    throw new RangeError("the enclave key must be an uncompressed secp256k1 public key (65 bytes)");
  }
  if (challenge.length !== 32) throw new RangeError("the verifier challenge must be 32 bytes");
  return keccak256(concatBytes(enclavePublicKey, challenge));
}

/** Checks that a report's nonce binds `enclavePublicKey` to `challenge`. */
export function verifyKeyBinding(
  reportNonce: Uint8Array,
  enclavePublicKey: Uint8Array,
  challenge: Uint8Array,
): Verdict<Uint8Array> {
  if (enclavePublicKey.length !== 65 || enclavePublicKey[0] !== 4 || challenge.length !== 32) {
    return fail(
      "ATTESTATION_KEY_BINDING_MISMATCH",
      "the enclave key must be 65 bytes (uncompressed) and the challenge 32 bytes",
    );
  }
  const expected = bindingNonce(enclavePublicKey, challenge);
  return bytesToHex(expected) === bytesToHex(reportNonce)
    ? ok(expected)
    : fail(
        "ATTESTATION_KEY_BINDING_MISMATCH",
        `the evidence nonce ${bytesToHex(reportNonce)} is not keccak256(enclave key ‖ challenge) = ${bytesToHex(expected)}`,
      );
}
