/**
 * ECDSA verification behind one interface, so that the pure verifier (this file, @noble/curves) and
 * the shell's fast path (`src/attestation/nodeEcdsa.ts`, node:crypto) are interchangeable and can be
 * benchmarked side by side. Signatures are raw `r‖s`; DER-encoded ones (X.509, OCSP) are converted
 * first with {@link derSignatureToRaw}.
 */
import { p256, p384 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import {
  content,
  DerError,
  derInteger,
  derSequence,
  expectTag,
  integerBytes,
  readRoot,
  sequence,
  TAG,
} from "../encoding/der.ts";

/** Curves verinfer meets: NVIDIA evidence (P-384), dev and OCSP chains (P-384/P-256), enclave keys (secp256k1). */
export type EcCurve = "P-256" | "P-384" | "secp256k1";
/** Digests paired with ECDSA. */
export type HashAlg = "SHA-256" | "SHA-384" | "SHA-512";

/** Byte length of a scalar on each curve. */
export const SCALAR_BYTES: Readonly<Record<EcCurve, number>> = { "P-256": 32, "P-384": 48, secp256k1: 32 };

/** An ECDSA verifier. `publicKey` is a SEC1 point (uncompressed or compressed). */
export interface EcdsaVerifier {
  readonly name: string;
  verify(
    curve: EcCurve,
    hash: HashAlg,
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
  ): boolean;
}

/** Digest of a message. */
export function digest(hash: HashAlg, message: Uint8Array): Uint8Array {
  return hash === "SHA-256" ? sha256(message) : hash === "SHA-384" ? sha384(message) : sha512(message);
}

const CURVES = { "P-256": p256, "P-384": p384, secp256k1 } as const;

/** Pure-JS ECDSA (@noble/curves). High-S signatures are accepted, as X.509 and SPDM allow them. */
export const pureEcdsa: EcdsaVerifier = {
  name: "pure-js",
  verify(curve, hash, publicKey, message, signature) {
    if (signature.length !== 2 * SCALAR_BYTES[curve]) return false;
    try {
      return CURVES[curve].verify(signature, digest(hash, message), publicKey, {
        prehash: false,
        lowS: false,
      });
    } catch {
      return false;
    }
  },
};

/** Converts a DER `ECDSA-Sig-Value` to raw `r‖s` for `curve`, or null when malformed. */
export function derSignatureToRaw(der: Uint8Array, curve: EcCurve): Uint8Array | null {
  const n = SCALAR_BYTES[curve];
  try {
    const [r, s, ...rest] = sequence(readRoot(der), "ECDSA signature");
    if (rest.length) return null;
    const out = new Uint8Array(2 * n);
    for (const [i, node] of [r, s].entries()) {
      const v = integerBytes(expectTag(node, TAG.INTEGER, "ECDSA scalar"));
      if (v.length > n || content(node as NonNullable<typeof node>).length > n + 1) return null;
      out.set(v, (i + 1) * n - v.length);
    }
    return out;
  } catch (e) {
    if (e instanceof DerError) return null;
    throw e;
  }
}

/**
 * Signs with deterministic ECDSA (RFC 6979, no randomness needed), returning raw `r‖s`. Used by the
 * dev TEE and by tests that build hostile evidence; production signing happens inside real TEEs.
 */
export function signEcdsa(
  curve: EcCurve,
  hash: HashAlg,
  privateKey: Uint8Array,
  message: Uint8Array,
): Uint8Array {
  return CURVES[curve].sign(digest(hash, message), privateKey, {
    prehash: false,
    lowS: curve === "secp256k1",
  });
}

/** The uncompressed SEC1 public point of a private key. */
export function publicPoint(curve: EcCurve, privateKey: Uint8Array): Uint8Array {
  return CURVES[curve].getPublicKey(privateKey, false);
}

/** Converts raw `r‖s` to a DER `ECDSA-Sig-Value`. */
export function rawSignatureToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  const scalar = (b: Uint8Array) =>
    BigInt(`0x${Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("") || "0"}`);
  return derSequence(derInteger(scalar(raw.subarray(0, half))), derInteger(scalar(raw.subarray(half))));
}
