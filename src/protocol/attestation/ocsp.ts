/**
 * OCSP (RFC 6960) responses supplied with the evidence or read from an offline collateral cache:
 * parsed strictly, matched to a certificate by CertID, signature-checked against the issuer (or a
 * delegated responder the issuer certified for OCSP signing), and judged fresh against the injected
 * clock. No network: the verifier never fetches a response itself.
 *
 * The request nonce NVIDIA's online verifier sends cannot be checked on cached responses; freshness
 * is what a cached response can prove, so that is what the policy bounds (thisUpdate age, nextUpdate).
 */
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256, sha384 } from "@noble/hashes/sha2.js";
import {
  children,
  content,
  DerError,
  type DerNode,
  decodeBitString,
  decodeOid,
  decodeTime,
  derInteger,
  derNull,
  derOctetString,
  derOid,
  derSequence,
  encoded,
  expectTag,
  readRoot,
  sequence,
  TAG,
} from "../encoding/der.ts";
import { bytesToHex } from "../encoding/hex.ts";
import { fail, ok, type Verdict } from "../errors.ts";
import { derSignatureToRaw, type EcdsaVerifier } from "./signatures.ts";
import { type Certificate, ECDSA_ALGORITHMS, parseCertificate, sameName } from "./x509.ts";

const BASIC = "1.3.6.1.5.5.7.48.1.1";
const OCSP_SIGNING = "1.3.6.1.5.5.7.3.9";
const EXTENDED_KEY_USAGE = "2.5.29.37";
const HASHES: Readonly<Record<string, (b: Uint8Array) => Uint8Array>> = {
  "1.3.14.3.2.26": sha1,
  "2.16.840.1.101.3.4.2.1": sha256,
  "2.16.840.1.101.3.4.2.2": sha384,
};
const SHA384_OID = "2.16.840.1.101.3.4.2.2";

/** Revocation status as NVIDIA's claims name it. */
export type OcspCertStatus = "good" | "revoked" | "unknown";

/** One parsed single response. */
export interface OcspSingleResponse {
  readonly hashOid: string;
  readonly issuerNameHash: Uint8Array;
  readonly issuerKeyHash: Uint8Array;
  readonly serialNumber: bigint;
  readonly status: OcspCertStatus;
  readonly revokedAt: number | null;
  readonly revocationReason: number | null;
  readonly thisUpdate: number;
  readonly nextUpdate: number | null;
}

/** A parsed basic OCSP response. */
export interface OcspResponse {
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly responderName: Uint8Array | null;
  readonly responderKeyHash: Uint8Array | null;
  readonly producedAt: number;
  readonly responses: readonly OcspSingleResponse[];
  readonly signatureOid: string;
  readonly signature: Uint8Array;
  readonly certificates: readonly Certificate[];
}

/** Parses an OCSPResponse; only successful basic responses are accepted. */
export function parseOcspResponse(der: Uint8Array): Verdict<OcspResponse> {
  try {
    const [statusNode, bytesNode, ...rest] = sequence(readRoot(der), "OCSPResponse");
    if (rest.length) throw new DerError("trailing fields in OCSPResponse");
    const status = content(expectTag(statusNode, TAG.ENUMERATED, "responseStatus"));
    if (status.length !== 1 || status[0] !== 0) {
      return fail(
        "ATTESTATION_OCSP_INVALID",
        `the OCSP responder answered with status ${status[0]} (not successful)`,
      );
    }
    const [typeNode, responseNode] = sequence(
      children(expectTag(bytesNode, 0xa0, "responseBytes"))[0],
      "ResponseBytes",
    );
    if (decodeOid(typeNode as DerNode) !== BASIC) throw new DerError("not a basic OCSP response");
    const basicBytes = content(expectTag(responseNode, TAG.OCTET_STRING, "response"));
    const [tbsNode, algNode, sigNode, certsNode] = sequence(readRoot(basicBytes), "BasicOCSPResponse");
    const tbs = sequence(tbsNode, "ResponseData");
    let i = 0;
    if (tbs[0]?.tag === 0xa0) i++;
    const responder = tbs[i++] as DerNode;
    let responderName: Uint8Array | null = null;
    let responderKeyHash: Uint8Array | null = null;
    if (responder.tag === 0xa1) responderName = encoded(children(responder)[0] as DerNode);
    else if (responder.tag === 0xa2)
      responderKeyHash = content(expectTag(children(responder)[0], TAG.OCTET_STRING, "KeyHash"));
    else throw new DerError("malformed ResponderID");
    const producedAt = decodeTime(tbs[i++] as DerNode);
    const responses = sequence(tbs[i++], "responses").map((single): OcspSingleResponse => {
      const parts = sequence(single, "SingleResponse");
      const [alg, nameHash, keyHash, serial] = sequence(parts[0], "CertID");
      const statusNode = parts[1] as DerNode;
      let revokedAt: number | null = null;
      let revocationReason: number | null = null;
      let certStatus: OcspCertStatus;
      if (statusNode.tag === 0x80) certStatus = "good";
      else if (statusNode.tag === 0x82) certStatus = "unknown";
      else if (statusNode.tag === 0xa1) {
        certStatus = "revoked";
        const [when, reason] = children(statusNode);
        revokedAt = decodeTime(when as DerNode);
        if (reason)
          revocationReason = content(expectTag(children(reason)[0], TAG.ENUMERATED, "CRLReason"))[0] ?? null;
      } else throw new DerError("malformed CertStatus");
      const nextNode = parts.slice(3).find((p) => p.tag === 0xa0);
      return {
        hashOid: decodeOid(sequence(alg, "hash algorithm")[0] as DerNode),
        issuerNameHash: content(expectTag(nameHash, TAG.OCTET_STRING, "issuerNameHash")),
        issuerKeyHash: content(expectTag(keyHash, TAG.OCTET_STRING, "issuerKeyHash")),
        serialNumber: BigInt(
          `0x${bytesToHex(content(expectTag(serial, TAG.INTEGER, "serialNumber"))).slice(2) || "0"}`,
        ),
        status: certStatus,
        revokedAt,
        revocationReason,
        thisUpdate: decodeTime(parts[2] as DerNode),
        nextUpdate: nextNode ? decodeTime(children(nextNode)[0] as DerNode) : null,
      };
    });
    const certificates: Certificate[] = [];
    if (certsNode) {
      for (const c of sequence(children(expectTag(certsNode, 0xa0, "certs"))[0], "certs")) {
        const cert = parseCertificate(encoded(c));
        if (!cert.ok) throw new DerError(`responder certificate: ${cert.error.message}`);
        certificates.push(cert.value);
      }
    }
    return ok({
      der,
      tbs: encoded(tbsNode as DerNode),
      responderName,
      responderKeyHash,
      producedAt,
      responses,
      signatureOid: decodeOid(sequence(algNode, "signatureAlgorithm")[0] as DerNode),
      signature: decodeBitString(sigNode as DerNode),
      certificates,
    });
  } catch (e) {
    if (e instanceof DerError)
      return fail("ATTESTATION_OCSP_MALFORMED", `malformed OCSP response: ${e.message}`);
    throw e;
  }
}

/** The DER CertID of `cert` issued by `issuer` (SHA-384, as NVIDIA's verifier requests). */
export function ocspCertId(cert: Certificate, issuer: Certificate, hashOid = SHA384_OID): Uint8Array {
  const hash = HASHES[hashOid] as (b: Uint8Array) => Uint8Array;
  return derSequence(
    derSequence(derOid(hashOid), derNull()),
    derOctetString(hash(issuer.subject.der)),
    derOctetString(hash(issuer.publicKey.point)),
    derInteger(cert.serialNumber),
  );
}

/** Freshness bounds. */
export interface OcspFreshness {
  /** Verification time (epoch ms). */
  readonly at: number;
  /** Oldest acceptable thisUpdate, as an age in milliseconds. */
  readonly maxAgeMs: number;
}

/** What an OCSP check established. */
export interface OcspCheck {
  readonly status: OcspCertStatus;
  readonly thisUpdate: number;
  readonly nextUpdate: number | null;
  readonly revokedAt: number | null;
  readonly revocationReason: number | null;
}

const same = (a: Uint8Array, b: Uint8Array) => bytesToHex(a) === bytesToHex(b);

/**
 * Finds the response covering `cert` (issued by `issuer`) among `responses`, checks its signature and
 * freshness, and returns the certificate's status. A revoked status is a successful check whose
 * status says "revoked"; the caller decides (it always fails the chain).
 */
export function checkOcsp(
  cert: Certificate,
  issuer: Certificate,
  responses: readonly OcspResponse[],
  freshness: OcspFreshness,
  verifier: EcdsaVerifier,
): Verdict<OcspCheck> {
  for (const response of responses) {
    const single = response.responses.find((r) => {
      const hash = HASHES[r.hashOid];
      return (
        hash !== undefined &&
        r.serialNumber === cert.serialNumber &&
        same(r.issuerNameHash, hash(issuer.subject.der)) &&
        same(r.issuerKeyHash, hash(issuer.publicKey.point))
      );
    });
    if (!single) continue;
    const signer = responderKey(response, issuer, verifier, freshness.at);
    if (!signer.ok) return signer;
    const hash = ECDSA_ALGORITHMS[response.signatureOid];
    const raw = derSignatureToRaw(response.signature, signer.value.publicKey.curve);
    if (
      !hash ||
      !raw ||
      !verifier.verify(signer.value.publicKey.curve, hash, signer.value.publicKey.point, response.tbs, raw)
    ) {
      return fail(
        "ATTESTATION_OCSP_INVALID",
        `the OCSP response for serial ${cert.serialHex} is not validly signed`,
      );
    }
    if (single.thisUpdate > freshness.at + 5 * 60_000) {
      return fail(
        "ATTESTATION_OCSP_STALE",
        `the OCSP response for serial ${cert.serialHex} is from the future`,
      );
    }
    if (single.nextUpdate !== null && freshness.at > single.nextUpdate) {
      return fail(
        "ATTESTATION_OCSP_STALE",
        `the OCSP response for serial ${cert.serialHex} expired (nextUpdate passed)`,
      );
    }
    if (freshness.at - single.thisUpdate > freshness.maxAgeMs) {
      return fail(
        "ATTESTATION_OCSP_STALE",
        `the OCSP response for serial ${cert.serialHex} is ${Math.round((freshness.at - single.thisUpdate) / 3_600_000)} h old; the policy accepts ${Math.round(freshness.maxAgeMs / 3_600_000)} h`,
      );
    }
    return ok({
      status: single.status,
      thisUpdate: single.thisUpdate,
      nextUpdate: single.nextUpdate,
      revokedAt: single.revokedAt,
      revocationReason: single.revocationReason,
    });
  }
  return fail(
    "ATTESTATION_COLLATERAL_MISSING",
    `no OCSP response covers certificate serial ${cert.serialHex}`,
  );
}

/** The responder's certificate: the issuer itself, or a delegated responder the issuer signed for OCSP signing. */
function responderKey(
  response: OcspResponse,
  issuer: Certificate,
  verifier: EcdsaVerifier,
  at: number,
): Verdict<Certificate> {
  const matches = (c: Certificate) =>
    (response.responderName !== null && same(response.responderName, c.subject.der)) ||
    (response.responderKeyHash !== null && same(response.responderKeyHash, sha1(c.publicKey.point)));
  if (matches(issuer)) return ok(issuer);
  const delegate = response.certificates.find(matches);
  if (!delegate)
    return fail(
      "ATTESTATION_OCSP_INVALID",
      "the OCSP responder is neither the issuer nor a certificate it includes",
    );
  const raw = derSignatureToRaw(delegate.signature, issuer.publicKey.curve);
  const eku = delegate.extensions.find((e) => e.oid === EXTENDED_KEY_USAGE);
  const forOcsp =
    eku !== undefined && bytesToHex(eku.value).includes(bytesToHex(derOid(OCSP_SIGNING)).slice(2));
  if (
    !sameName(delegate.issuer, issuer.subject) ||
    !raw ||
    !verifier.verify(
      issuer.publicKey.curve,
      delegate.signatureHash,
      issuer.publicKey.point,
      delegate.tbs,
      raw,
    ) ||
    !forOcsp ||
    at < delegate.notBefore ||
    at > delegate.notAfter
  ) {
    return fail(
      "ATTESTATION_OCSP_INVALID",
      "the delegated OCSP responder is not certified for OCSP signing by the issuer",
    );
  }
  return ok(delegate);
}
