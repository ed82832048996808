/**
 * X.509 v3 certificates (RFC 5280), parsed from DER with the strict reader: just what attestation
 * needs — names, validity, the EC public key, extensions, and the signed TBS bytes. Parsing returns a
 * verdict; malformed input never throws.
 */

import { decodeBase64 } from "../encoding/base64.ts";
import {
  children,
  content,
  DerError,
  type DerNode,
  decodeBitString,
  decodeBoolean,
  decodeInteger,
  decodeOid,
  decodeString,
  decodeTime,
  encoded,
  expectTag,
  readRoot,
  sequence,
  TAG,
} from "../encoding/der.ts";
import { bytesToHex } from "../encoding/hex.ts";
import { fail, ok, type Verdict } from "../errors.ts";
import type { EcCurve, HashAlg } from "./signatures.ts";

/** Short names of the attribute types in NVIDIA and dev-TEE names (RFC 4514 where one exists). */
const ATTRIBUTE_NAMES: Readonly<Record<string, string>> = {
  "2.5.4.3": "CN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
};

/** Named curves by OID. */
export const CURVE_OIDS: Readonly<Record<string, EcCurve>> = {
  "1.2.840.10045.3.1.7": "P-256",
  "1.3.132.0.34": "P-384",
  "1.3.132.0.10": "secp256k1",
};

/** ECDSA signature algorithms by OID. */
export const ECDSA_ALGORITHMS: Readonly<Record<string, HashAlg>> = {
  "1.2.840.10045.4.3.2": "SHA-256",
  "1.2.840.10045.4.3.3": "SHA-384",
  "1.2.840.10045.4.3.4": "SHA-512",
};

const EC_PUBLIC_KEY = "1.2.840.10045.2.1";
const BASIC_CONSTRAINTS = "2.5.29.19";

/** One attribute of a distinguished name. */
export interface NameAttribute {
  readonly oid: string;
  readonly value: string;
}

/** A distinguished name: its DER (compared byte for byte when chaining) and a readable form. */
export interface DistinguishedName {
  readonly der: Uint8Array;
  readonly attributes: readonly NameAttribute[];
  /** Attributes in encoded order joined by ", " (OpenSSL's and Node's order), e.g. `CN=NVIDIA Device Identity CA, O=NVIDIA`. */
  readonly text: string;
}

/** One extension. */
export interface CertificateExtension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: Uint8Array;
}

/** A parsed certificate. */
export interface Certificate {
  readonly der: Uint8Array;
  /** The signed TBSCertificate bytes. */
  readonly tbs: Uint8Array;
  readonly version: number;
  readonly serialNumber: bigint;
  /** Serial as upper-case hex without leading zeros (OpenSSL's form). */
  readonly serialHex: string;
  readonly issuer: DistinguishedName;
  readonly subject: DistinguishedName;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly publicKey: { readonly curve: EcCurve; readonly point: Uint8Array };
  /** Hash of the certificate's own signature (its issuer signed with this digest). */
  readonly signatureHash: HashAlg;
  /** DER ECDSA-Sig-Value. */
  readonly signature: Uint8Array;
  readonly extensions: readonly CertificateExtension[];
  /** basicConstraints cA, or null when the extension is absent. */
  readonly isCa: boolean | null;
  readonly pathLength: number | null;
}

function parseName(node: DerNode): DistinguishedName {
  const attributes: NameAttribute[] = [];
  for (const rdn of sequence(node, "name")) {
    for (const atv of children(expectTag(rdn, TAG.SET, "relative distinguished name"))) {
      const [type, value] = sequence(atv, "attribute");
      if (!type || !value) throw new DerError("attribute without type or value");
      attributes.push({ oid: decodeOid(type), value: decodeString(value) });
    }
  }
  const text = attributes.map((a) => `${ATTRIBUTE_NAMES[a.oid] ?? a.oid}=${a.value}`).join(", ");
  return { der: encoded(node), attributes, text };
}

function parseExtensions(node: DerNode): CertificateExtension[] {
  const [list, ...rest] = children(node);
  if (!list || rest.length) throw new DerError("malformed extensions wrapper");
  return sequence(list, "extensions").map((ext) => {
    const parts = sequence(ext, "extension");
    if (parts.length < 2 || parts.length > 3) throw new DerError("malformed extension");
    const oid = decodeOid(parts[0] as DerNode);
    const critical = parts.length === 3 ? decodeBoolean(parts[1] as DerNode) : false;
    const value = content(expectTag(parts[parts.length - 1], TAG.OCTET_STRING, "extension value"));
    return { oid, critical, value };
  });
}

function parseBasicConstraints(value: Uint8Array): { isCa: boolean; pathLength: number | null } {
  const parts = sequence(readRoot(value), "basicConstraints");
  let isCa = false;
  let pathLength: number | null = null;
  for (const p of parts) {
    if (p.tag === TAG.BOOLEAN) isCa = decodeBoolean(p);
    else if (p.tag === TAG.INTEGER) pathLength = Number(decodeInteger(p));
    else throw new DerError("malformed basicConstraints");
  }
  return { isCa, pathLength };
}

/** Parses one DER certificate. */
export function parseCertificate(der: Uint8Array): Verdict<Certificate> {
  try {
    const [tbsNode, algNode, sigNode, ...rest] = sequence(readRoot(der), "certificate");
    if (rest.length || !tbsNode || !algNode || !sigNode) throw new DerError("certificate must have 3 parts");
    const tbs = sequence(tbsNode, "TBSCertificate");
    let i = 0;
    let version = 1;
    if (tbs[0]?.tag === 0xa0) {
      const [v] = children(tbs[0]);
      version = Number(decodeInteger(v as DerNode)) + 1;
      i++;
    }
    const serialNumber = decodeInteger(tbs[i++] as DerNode);
    const innerAlg = decodeOid(sequence(tbs[i++], "signature algorithm")[0] as DerNode);
    const issuer = parseName(tbs[i++] as DerNode);
    const [nb, na] = sequence(tbs[i++], "validity");
    if (!nb || !na) throw new DerError("validity needs notBefore and notAfter");
    const subject = parseName(tbs[i++] as DerNode);
    const spkiNode = tbs[i++];
    const [spkiAlg, spkiKey] = sequence(spkiNode, "subjectPublicKeyInfo");
    const [keyType, curveOid] = sequence(spkiAlg, "public key algorithm");
    if (decodeOid(keyType as DerNode) !== EC_PUBLIC_KEY) throw new DerError("public key is not an EC key");
    const curve = CURVE_OIDS[decodeOid(curveOid as DerNode)];
    if (!curve) throw new DerError("unsupported EC curve");
    const point = decodeBitString(spkiKey as DerNode);
    let extensions: CertificateExtension[] = [];
    for (; i < tbs.length; i++) {
      const node = tbs[i] as DerNode;
      if (node.tag === 0xa3) extensions = parseExtensions(node);
      else if (node.tag !== 0x81 && node.tag !== 0x82)
        throw new DerError("unexpected field in TBSCertificate");
    }
    const outerAlg = decodeOid(sequence(algNode, "signature algorithm")[0] as DerNode);
    if (outerAlg !== innerAlg) throw new DerError("inner and outer signature algorithms differ");
    const signatureHash = ECDSA_ALGORITHMS[outerAlg];
    if (!signatureHash) throw new DerError(`unsupported signature algorithm ${outerAlg}`);
    const bc = extensions.find((e) => e.oid === BASIC_CONSTRAINTS);
    const constraints = bc ? parseBasicConstraints(bc.value) : null;
    const serialHex = serialNumber.toString(16).toUpperCase();
    return ok({
      der: encoded(readRoot(der)),
      tbs: encoded(tbsNode),
      version,
      serialNumber,
      serialHex: serialHex.length % 2 ? `0${serialHex}` : serialHex,
      issuer,
      subject,
      notBefore: decodeTime(nb),
      notAfter: decodeTime(na),
      publicKey: { curve, point },
      signatureHash,
      signature: decodeBitString(sigNode),
      extensions,
      isCa: constraints?.isCa ?? null,
      pathLength: constraints?.pathLength ?? null,
    });
  } catch (e) {
    if (e instanceof DerError)
      return fail("ATTESTATION_CERT_MALFORMED", `malformed certificate: ${e.message}`);
    throw e;
  }
}

/** Certificates of a PEM bundle, in file order. Text outside the PEM blocks is ignored. */
export function parsePemChain(text: string, maxCertificates = 16): Verdict<Certificate[]> {
  const blocks = [...text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) return fail("ATTESTATION_CERT_MALFORMED", "no PEM certificate found");
  if (blocks.length > maxCertificates) {
    return fail(
      "ATTESTATION_CHAIN_TOO_LONG",
      `${blocks.length} certificates in the bundle (at most ${maxCertificates})`,
    );
  }
  const out: Certificate[] = [];
  for (const [n, block] of blocks.entries()) {
    const der = decodeBase64(block[1] as string);
    if (!der.ok) return fail("ATTESTATION_CERT_MALFORMED", `PEM certificate ${n + 1}: ${der.error.message}`);
    const cert = parseCertificate(der.value);
    if (!cert.ok) return fail(cert.error.code, `PEM certificate ${n + 1}: ${cert.error.message}`);
    out.push(cert.value);
  }
  return ok(out);
}

/** The common name of a distinguished name, or null. */
export function commonName(name: DistinguishedName): string | null {
  return name.attributes.find((a) => a.oid === "2.5.4.3")?.value ?? null;
}

/** Byte-equality of two names' DER (RFC 5280 name chaining as OpenSSL does it for these chains). */
export function sameName(a: DistinguishedName, b: DistinguishedName): boolean {
  return bytesToHex(a.der) === bytesToHex(b.der);
}
