/**
 * Builds X.509 certificates and OCSP responses (DER). The dev TEE uses it for its local P-384 chain
 * and OCSP collateral; tests use it to make hostile certificates (expired, foreign roots, long chains)
 * that real evidence cannot provide. Signing is deterministic ECDSA, so builds are reproducible.
 */
import { encodeBase64 } from "../encoding/base64.ts";
import {
  derBitString,
  derBoolean,
  derContext,
  derInteger,
  derOctetString,
  derOid,
  derPrintable,
  derSequence,
  derSet,
  derTime,
  derUtf8,
  TAG,
  tlv,
} from "../encoding/der.ts";
import { type EcCurve, type HashAlg, rawSignatureToDer, signEcdsa } from "./signatures.ts";

const CURVE_OID: Readonly<Record<EcCurve, string>> = {
  "P-256": "1.2.840.10045.3.1.7",
  "P-384": "1.3.132.0.34",
  secp256k1: "1.3.132.0.10",
};
const SIGNATURE_OID: Readonly<Record<HashAlg, string>> = {
  "SHA-256": "1.2.840.10045.4.3.2",
  "SHA-384": "1.2.840.10045.4.3.3",
  "SHA-512": "1.2.840.10045.4.3.4",
};
const ATTRIBUTE_OID: Readonly<Record<string, string>> = {
  CN: "2.5.4.3",
  serialNumber: "2.5.4.5",
  C: "2.5.4.6",
  O: "2.5.4.10",
  OU: "2.5.4.11",
};

/** A name as ordered [attribute, value] pairs, e.g. [["CN", "verinfer dev root"], ["O", "verinfer"]]. */
export type NameSpec = readonly (readonly [keyof typeof ATTRIBUTE_OID | string, string])[];

/** Encodes a distinguished name (one attribute per RDN, in the given order). */
export function encodeName(name: NameSpec): Uint8Array {
  return derSequence(
    ...name.map(([type, value]) => {
      const oid = ATTRIBUTE_OID[type] ?? type;
      const encodedValue = type === "C" || type === "serialNumber" ? derPrintable(value) : derUtf8(value);
      return derSet(derSequence(derOid(oid), encodedValue));
    }),
  );
}

/** A signing key. */
export interface SigningKey {
  readonly curve: EcCurve;
  readonly privateKey: Uint8Array;
}

/** What a certificate says and who signs it. */
export interface CertificateSpec {
  readonly serial: bigint;
  readonly subject: NameSpec;
  readonly issuer: NameSpec;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly publicKey: { readonly curve: EcCurve; readonly point: Uint8Array };
  /** basicConstraints cA (always written, critical). */
  readonly ca: boolean;
  readonly pathLength?: number;
  readonly extensions?: readonly {
    readonly oid: string;
    readonly critical: boolean;
    readonly value: Uint8Array;
  }[];
  readonly signer: SigningKey;
  readonly hash: HashAlg;
}

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return derSequence(derOid(oid), ...(critical ? [derBoolean(true)] : []), derOctetString(value));
}

/** Builds and signs a v3 certificate, returning its DER. */
export function buildCertificate(spec: CertificateSpec): Uint8Array {
  const algorithm = derSequence(derOid(SIGNATURE_OID[spec.hash]));
  const basicConstraints = derSequence(
    ...(spec.ca ? [derBoolean(true)] : []),
    ...(spec.ca && spec.pathLength !== undefined ? [derInteger(BigInt(spec.pathLength))] : []),
  );
  const extensions = [
    extension("2.5.29.19", true, basicConstraints),
    ...(spec.extensions ?? []).map((e) => extension(e.oid, e.critical, e.value)),
  ];
  const tbs = derSequence(
    derContext(0, true, derInteger(2n)),
    derInteger(spec.serial),
    algorithm,
    encodeName(spec.issuer),
    derSequence(derTime(spec.notBefore), derTime(spec.notAfter)),
    encodeName(spec.subject),
    derSequence(
      derSequence(derOid("1.2.840.10045.2.1"), derOid(CURVE_OID[spec.publicKey.curve])),
      derBitString(spec.publicKey.point),
    ),
    derContext(3, true, derSequence(...extensions)),
  );
  const signature = rawSignatureToDer(signEcdsa(spec.signer.curve, spec.hash, spec.signer.privateKey, tbs));
  return derSequence(tbs, algorithm, derBitString(signature));
}

/** PEM armour for one DER certificate. */
export function toPem(der: Uint8Array): string {
  const body =
    encodeBase64(der)
      .match(/.{1,64}/g)
      ?.join("\n") ?? "";
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

/** OCSP certificate status. */
export type OcspStatusSpec =
  | { readonly status: "good" }
  | { readonly status: "unknown" }
  | {
      readonly status: "revoked";
      readonly revokedAt: number;
      readonly reason?: number;
    };

/** What an OCSP response says about one certificate. */
export interface OcspResponseSpec {
  /** CertID fields, computed by the caller with {@link ocspCertId} for the certificate and its issuer. */
  readonly certId: Uint8Array;
  readonly status: OcspStatusSpec;
  readonly producedAt: number;
  readonly thisUpdate: number;
  readonly nextUpdate?: number | undefined;
  /** Responder name (byName) and key; responder certificates to embed (delegated responders). */
  readonly responderName: NameSpec;
  readonly signer: SigningKey;
  readonly hash: HashAlg;
  readonly responderCertificates?: readonly Uint8Array[];
}

/** Builds a signed OCSPResponse (successful, id-pkix-ocsp-basic). */
export function buildOcspResponse(spec: OcspResponseSpec): Uint8Array {
  const generalized = (ms: number) => {
    const t = derTime(ms);
    // OCSP times are GeneralizedTime; derTime writes UTCTime for 1950–2049, so widen the year.
    if (t[0] === TAG.GENERALIZED_TIME) return t;
    const text = new TextDecoder().decode(t.subarray(2));
    return tlv(TAG.GENERALIZED_TIME, new TextEncoder().encode(`20${text}`));
  };
  const status =
    spec.status.status === "good"
      ? derContext(0, false, new Uint8Array())
      : spec.status.status === "unknown"
        ? derContext(2, false, new Uint8Array())
        : derContext(
            1,
            true,
            new Uint8Array([
              ...generalized(spec.status.revokedAt),
              ...(spec.status.reason !== undefined
                ? derContext(0, true, tlv(TAG.ENUMERATED, Uint8Array.of(spec.status.reason)))
                : []),
            ]),
          );
  const single = derSequence(
    spec.certId,
    status,
    generalized(spec.thisUpdate),
    ...(spec.nextUpdate !== undefined ? [derContext(0, true, generalized(spec.nextUpdate))] : []),
  );
  const responseData = derSequence(
    derContext(1, true, encodeName(spec.responderName)),
    generalized(spec.producedAt),
    derSequence(single),
  );
  const algorithm = derSequence(derOid(SIGNATURE_OID[spec.hash]));
  const signature = rawSignatureToDer(
    signEcdsa(spec.signer.curve, spec.hash, spec.signer.privateKey, responseData),
  );
  const basic = derSequence(
    responseData,
    algorithm,
    derBitString(signature),
    ...(spec.responderCertificates?.length
      ? [derContext(0, true, derSequence(...spec.responderCertificates))]
      : []),
  );
  return derSequence(
    tlv(TAG.ENUMERATED, Uint8Array.of(0)),
    derContext(0, true, derSequence(derOid("1.3.6.1.5.5.7.48.1.1"), derOctetString(basic))),
  );
}
