/**
 * Certificate chain verification to a pinned root at an injected time. Chains are leaf first. If the
 * chain's last certificate is self-issued it must be the pinned root byte for byte (a foreign root is
 * named as such); otherwise the pinned root is appended, as NVIDIA's verifier does. Every link must be
 * issued (names) and signed (ECDSA) by the next certificate, which must be a CA; every certificate
 * must be within its validity window at the verification time.
 */
import { bytesToHex } from "../encoding/hex.ts";
import { isoTime } from "../encoding/time.ts";
import { fail, ok, type Verdict } from "../errors.ts";
import { derSignatureToRaw, type EcdsaVerifier } from "./signatures.ts";
import { type Certificate, commonName, sameName } from "./x509.ts";

/** Options of a chain check. */
export interface ChainOptions {
  readonly pinnedRoot: Certificate;
  /** Verification time, milliseconds since the epoch. */
  readonly at: number;
  /** Longest accepted chain including the root. */
  readonly maxLength: number;
  readonly verifier: EcdsaVerifier;
}

/** A verified chain. */
export interface VerifiedChain {
  /** Leaf first, ending with the pinned root. */
  readonly certificates: readonly Certificate[];
  /** Earliest notAfter in the chain (NVIDIA's `x-nvidia-cert-expiration-date`). */
  readonly expiresAt: number;
  /** True when the presented chain omitted the root and the pinned one was appended. */
  readonly rootAppended: boolean;
}

const label = (c: Certificate, i: number) =>
  `certificate ${i + 1} (${commonName(c.subject) ?? c.subject.text})`;
/** Verifies `chain` (leaf first) up to the pinned root. */
export function verifyCertificateChain(
  chain: readonly Certificate[],
  options: ChainOptions,
): Verdict<VerifiedChain> {
  if (chain.length === 0) return fail("ATTESTATION_CERT_MALFORMED", "the certificate chain is empty");
  const root = options.pinnedRoot;
  const last = chain[chain.length - 1] as Certificate;
  const certificates = [...chain];
  let rootAppended = false;
  if (sameName(last.subject, last.issuer)) {
    if (bytesToHex(last.der) !== bytesToHex(root.der)) {
      return fail(
        "ATTESTATION_CHAIN_UNTRUSTED_ROOT",
        `the chain ends in "${last.subject.text}", not the pinned root "${root.subject.text}"`,
        { root: last.subject.text },
      );
    }
  } else {
    certificates.push(root);
    rootAppended = true;
  }
  if (certificates.length > options.maxLength) {
    return fail(
      "ATTESTATION_CHAIN_TOO_LONG",
      `the chain has ${certificates.length} certificates including the root; at most ${options.maxLength} are allowed`,
      { length: certificates.length },
    );
  }
  for (const [i, cert] of certificates.entries()) {
    if (options.at < cert.notBefore) {
      return fail(
        "ATTESTATION_CERT_NOT_YET_VALID",
        `${label(cert, i)} is not valid before ${isoTime(cert.notBefore)}`,
        {
          index: i,
          notBefore: cert.notBefore,
        },
      );
    }
    if (options.at > cert.notAfter) {
      return fail("ATTESTATION_CERT_EXPIRED", `${label(cert, i)} expired at ${isoTime(cert.notAfter)}`, {
        index: i,
        notAfter: cert.notAfter,
      });
    }
  }
  for (let i = 0; i + 1 < certificates.length; i++) {
    const child = certificates[i] as Certificate;
    const parent = certificates[i + 1] as Certificate;
    if (!sameName(child.issuer, parent.subject)) {
      return fail(
        "ATTESTATION_CHAIN_BROKEN",
        `${label(parent, i + 1)} is not the issuer of ${label(child, i)} (issuer "${child.issuer.text}"); chains are leaf first, each certificate followed by its issuer`,
        { index: i },
      );
    }
    if (parent.isCa !== true) {
      return fail(
        "ATTESTATION_CHAIN_BROKEN",
        `${label(parent, i + 1)} is not a CA but issues ${label(child, i)}`,
        {
          index: i,
        },
      );
    }
    if (parent.pathLength !== null && i > parent.pathLength) {
      return fail(
        "ATTESTATION_CHAIN_BROKEN",
        `${label(parent, i + 1)} allows ${parent.pathLength} CAs below it, the chain has ${i}`,
        {
          index: i,
        },
      );
    }
    const raw = derSignatureToRaw(child.signature, parent.publicKey.curve);
    if (
      !raw ||
      !options.verifier.verify(
        parent.publicKey.curve,
        child.signatureHash,
        parent.publicKey.point,
        child.tbs,
        raw,
      )
    ) {
      return fail(
        "ATTESTATION_CHAIN_BROKEN",
        `the signature on ${label(child, i)} does not verify with ${label(parent, i + 1)}'s key`,
        {
          index: i,
        },
      );
    }
  }
  return ok({
    certificates,
    expiresAt: Math.min(...certificates.map((c) => c.notAfter)),
    rootAppended,
  });
}
