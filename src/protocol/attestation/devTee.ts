/**
 * The development TEE: evidence of the same structure as NVIDIA's, signed by a locally generated P-384
 * chain, so a whole network runs on machines without H100s. It is not a security boundary: its keys
 * are ordinary files. Verifiers accept it only under a policy with `allowDevTee`, and every verdict
 * names the evidence kind.
 *
 *   root "verinfer dev TEE root CA"          signs the identity CA, the RIM signer and OCSP responses
 *   └ "verinfer dev TEE device identity"     per machine, signs each boot's attestation key
 *     └ "verinfer dev TEE attestation key"   signs SPDM reports; carries the FWID extension
 *   └ "verinfer dev TEE RIM signer"          signs the driver and VBIOS RIMs (SWID, XML-DSig)
 */
import { sha384 } from "@noble/hashes/sha2.js";
import { encodeBase64 } from "../encoding/base64.ts";
import { derOctetString, derOid, derSequence } from "../encoding/der.ts";
import { bytesToHex, concatBytes, utf8Bytes } from "../encoding/hex.ts";
import { canonicalize, childElements, parseXml, type XmlElement } from "../encoding/xml.ts";
import { DEV_TEE_MODE_FIELD } from "./devTeeFormat.ts";
import { ocspCertId } from "./ocsp.ts";
import { digest, publicPoint, signEcdsa } from "./signatures.ts";
import { SPDM_REQUEST_BYTES } from "./spdmReport.ts";
import { type Certificate, parseCertificate } from "./x509.ts";
import { buildCertificate, buildOcspResponse, type NameSpec, toPem } from "./x509Builder.ts";
import { DSIG } from "./xmlSignature.ts";

/** The four dev-TEE private keys (P-384 scalars, 48 bytes each). */
export interface DevTeeKeys {
  readonly root: Uint8Array;
  readonly identity: Uint8Array;
  readonly attestation: Uint8Array;
  readonly rimSigner: Uint8Array;
}

/** Software the dev TEE claims to run (what its RIMs and report agree on). */
export interface DevTeeFirmware {
  readonly driverVersion: string;
  /** 8 raw bytes of the VBIOS version field (its display form follows NVIDIA's rule). */
  readonly vbiosBytes: Uint8Array;
  /** 0 production, 1 debug, 2 devtools. */
  readonly mode: number;
}

/** Default firmware: production mode. */
export const DEV_TEE_FIRMWARE: DevTeeFirmware = {
  driverVersion: "570.0.dev",
  vbiosBytes: Uint8Array.of(0x00, 0xde, 0x00, 0x96, 0x01, 0x00, 0x00, 0x00),
  mode: 0,
};

const ROOT_NAME: NameSpec = [
  ["CN", "verinfer dev TEE root CA"],
  ["O", "verinfer"],
];
const IDENTITY_NAME: NameSpec = [
  ["CN", "verinfer dev TEE device identity"],
  ["O", "verinfer"],
];
const LEAF_NAME: NameSpec = [
  ["CN", "verinfer dev TEE attestation key"],
  ["O", "verinfer"],
];
const RIM_NAME: NameSpec = [
  ["CN", "verinfer dev TEE RIM signer"],
  ["O", "verinfer"],
];
const YEAR = 365 * 24 * 3_600_000;

/** The 64 dev measurements (SHA-384 of a label, index and firmware identity). */
export function devMeasurements(firmware: DevTeeFirmware): Uint8Array[] {
  return Array.from({ length: 64 }, (_, i) =>
    sha384(
      utf8Bytes(
        `verinfer dev TEE measurement ${i} ${firmware.driverVersion} ${bytesToHex(firmware.vbiosBytes)}`,
      ),
    ),
  );
}

/** The FWID the dev firmware reports and certifies. */
export function devFwid(firmware: DevTeeFirmware): Uint8Array {
  return sha384(utf8Bytes(`verinfer dev TEE firmware ${firmware.driverVersion}`));
}

/** Everything a dev TEE publishes, except reports (made per challenge with {@link devReport}). */
export interface DevTee {
  readonly rootPem: string;
  /** Leaf first: attestation key, device identity, root. */
  readonly chainPem: string;
  readonly driverRim: string;
  readonly vbiosRim: string;
  /** OCSP responses (DER) for the identity CA and the RIM signer, signed by the root. */
  readonly ocsp: readonly Uint8Array[];
  readonly certificates: {
    readonly root: Certificate;
    readonly identity: Certificate;
    readonly leaf: Certificate;
    readonly rimSigner: Certificate;
  };
}

function parsed(der: Uint8Array): Certificate {
  const c = parseCertificate(der);
  if (!c.ok) throw new Error(`dev TEE built an unparsable certificate: ${c.error.message}`);
  return c.value;
}

/** Builds the dev TEE's chain, RIMs and OCSP collateral, valid for a year from `issuedAt`. */
export function buildDevTee(
  keys: DevTeeKeys,
  issuedAt: number,
  firmware: DevTeeFirmware = DEV_TEE_FIRMWARE,
): DevTee {
  const point = (k: Uint8Array) => ({ curve: "P-384" as const, point: publicPoint("P-384", k) });
  const validity = { notBefore: issuedAt - 3_600_000, notAfter: issuedAt + YEAR };
  const rootKey = { curve: "P-384" as const, privateKey: keys.root };
  const rootDer = buildCertificate({
    serial: 1n,
    subject: ROOT_NAME,
    issuer: ROOT_NAME,
    ...validity,
    notAfter: issuedAt + 10 * YEAR,
    publicKey: point(keys.root),
    ca: true,
    signer: rootKey,
    hash: "SHA-384",
  });
  const identityDer = buildCertificate({
    serial: 2n,
    subject: IDENTITY_NAME,
    issuer: ROOT_NAME,
    ...validity,
    publicKey: point(keys.identity),
    ca: true,
    pathLength: 0,
    signer: rootKey,
    hash: "SHA-384",
  });
  // The FWID extension follows NVIDIA's Hopper form: its value ends with the 48-byte FWID.
  const fwidExtension = derSequence(derOid("2.16.840.1.101.3.4.2.2"), derOctetString(devFwid(firmware)));
  const leafDer = buildCertificate({
    serial: 3n,
    subject: LEAF_NAME,
    issuer: IDENTITY_NAME,
    ...validity,
    publicKey: point(keys.attestation),
    ca: false,
    extensions: [{ oid: "2.23.133.5.4.1", critical: false, value: fwidExtension }],
    signer: { curve: "P-384", privateKey: keys.identity },
    hash: "SHA-384",
  });
  const rimSignerDer = buildCertificate({
    serial: 4n,
    subject: RIM_NAME,
    issuer: ROOT_NAME,
    ...validity,
    publicKey: point(keys.rimSigner),
    ca: false,
    signer: rootKey,
    hash: "SHA-384",
  });
  const root = parsed(rootDer);
  const identity = parsed(identityDer);
  const leaf = parsed(leafDer);
  const rimSigner = parsed(rimSignerDer);
  const ocsp = [identity, rimSigner].map((cert) =>
    buildOcspResponse({
      certId: ocspCertId(cert, root),
      status: { status: "good" },
      producedAt: issuedAt,
      thisUpdate: issuedAt,
      nextUpdate: issuedAt + 7 * 24 * 3_600_000,
      responderName: ROOT_NAME,
      signer: rootKey,
      hash: "SHA-384",
    }),
  );
  const measurements = devMeasurements(firmware);
  const vbiosVersion = formatVersion(firmware.vbiosBytes);
  const rim = (version: string, active: (i: number) => boolean) =>
    signRim(buildSwid(version, measurements, active), { curve: "P-384", privateKey: keys.rimSigner }, [
      rimSignerDer,
      rootDer,
    ]);
  return {
    rootPem: toPem(rootDer),
    chainPem: [leafDer, identityDer, rootDer].map(toPem).join(""),
    // Like NVIDIA's: the VBIOS RIM covers the firmware indexes, the driver RIM the driver's.
    driverRim: rim(firmware.driverVersion, (i) => i === 7 || (i >= 21 && i <= 40)),
    vbiosRim: rim(vbiosVersion.toUpperCase(), (i) => i <= 6 || (i >= 8 && i <= 12)),
    ocsp,
    certificates: { root, identity, leaf, rimSigner },
  };
}

function formatVersion(bytes: Uint8Array): string {
  const reversed = bytesToHex(Uint8Array.from(bytes).reverse()).slice(2);
  return ((reversed.slice(8) + reversed.slice(6, 8)).match(/../g) ?? []).join(".");
}

const SWID = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd";

function buildSwid(
  version: string,
  measurements: readonly Uint8Array[],
  active: (i: number) => boolean,
): string {
  const resources = measurements
    .map(
      (m, i) =>
        `        <ns0:Resource type="Measurement" index="${i}" active="${active(i) ? "True" : "False"}" alternatives="1" ns2:Hash0="${bytesToHex(m).slice(2)}" name="Measurement_${i}" size="48"/>`,
    )
    .join("\n");
  return `<SoftwareIdentity xmlns="${SWID}" xmlns:ns0="${SWID}" xmlns:ns2="http://www.w3.org/2001/04/xmlenc#sha384" corpus="false" name="DEVTEE" patch="false" supplemental="false" tagId="${bytesToHex(sha384(utf8Bytes(version))).slice(2)}" version="1.0" tagVersion="0">
    <ns0:Entity name="verinfer" role="softwareCreator tagCreator"/>
    <ns0:Meta xmlns:ns1="https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-model/" colloquialVersion="${version}" edition="DEV" product="DEVTEE" revision="r1" PayloadType="direct" ns1:FirmwareManufacturerId="0"/>
    <ns0:Payload>
${resources}
    </ns0:Payload>
<ds:Signature xmlns:ds="${DSIG}"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2006/12/xml-c14n11"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"/><ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2006/12/xml-c14n11"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#sha384"/><ds:DigestValue>DIGEST</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>SIGNATURE</ds:SignatureValue><ds:KeyInfo><ds:X509Data>CERTIFICATES</ds:X509Data></ds:KeyInfo></ds:Signature></SoftwareIdentity>`;
}

/** Fills in the enveloped signature of a SWID document built with placeholders. */
export function signRim(
  template: string,
  signer: { readonly curve: "P-384"; readonly privateKey: Uint8Array },
  chain: readonly Uint8Array[],
): string {
  const certificates = chain
    .map((der) => `<ds:X509Certificate>${encodeBase64(der)}</ds:X509Certificate>`)
    .join("");
  const parse = (xml: string): { root: XmlElement; signature: XmlElement } => {
    const doc = parseXml(xml);
    if (!doc.ok) throw new Error(`dev RIM template does not parse: ${doc.error.message}`);
    const signature = childElements(doc.value, DSIG, "Signature")[0] as XmlElement;
    return { root: doc.value, signature };
  };
  let xml = template.replace("CERTIFICATES", certificates);
  const first = parse(xml);
  const documentDigest = digest("SHA-384", utf8Bytes(canonicalize(first.root, first.signature)));
  xml = xml.replace("DIGEST", encodeBase64(documentDigest));
  const second = parse(xml);
  const signedInfo = childElements(second.signature, DSIG, "SignedInfo")[0] as XmlElement;
  const value = signEcdsa("P-384", "SHA-384", signer.privateKey, utf8Bytes(canonicalize(signedInfo)));
  return xml.replace("SIGNATURE", encodeBase64(value));
}

/** An SPDM 1.1 GET_MEASUREMENTS report answering `nonce`, signed with the attestation key. */
export function devReport(
  keys: Pick<DevTeeKeys, "attestation">,
  nonce: Uint8Array,
  responderNonce: Uint8Array,
  firmware: DevTeeFirmware = DEV_TEE_FIRMWARE,
  measurements: readonly Uint8Array[] = devMeasurements(firmware),
): Uint8Array {
  if (nonce.length !== 32 || responderNonce.length !== 32) throw new RangeError("nonces are 32 bytes");
  const u16 = (v: number) => Uint8Array.of(v & 0xff, v >> 8);
  const request = concatBytes(Uint8Array.of(0x11, 0xe0, 0x01, 0xff), nonce, Uint8Array.of(0));
  const record = concatBytes(
    ...measurements.map((m, i) =>
      concatBytes(Uint8Array.of(i + 1, 0x01), u16(m.length + 3), Uint8Array.of(0x01), u16(m.length), m),
    ),
  );
  const field = (type: number, value: Uint8Array) => concatBytes(u16(type), u16(value.length), value);
  const opaque = concatBytes(
    field(6, firmware.vbiosBytes),
    field(15, utf8Bytes("000\u0000")),
    field(17, utf8Bytes("DEV0\u0000")),
    field(18, utf8Bytes("0000\u0000")),
    field(3, utf8Bytes(`${firmware.driverVersion}\u0000`)),
    field(11, Uint8Array.of(0x55)),
    field(20, devFwid(firmware)),
    field(DEV_TEE_MODE_FIELD, Uint8Array.of(firmware.mode)),
  );
  const response = concatBytes(
    Uint8Array.of(0x11, 0x60, 0, 0, measurements.length),
    Uint8Array.of(record.length & 0xff, (record.length >> 8) & 0xff, record.length >> 16),
    record,
    responderNonce,
    u16(opaque.length),
    opaque,
  );
  const signed = concatBytes(request, response);
  if (request.length !== SPDM_REQUEST_BYTES) throw new Error("request layout");
  return concatBytes(signed, signEcdsa("P-384", "SHA-384", keys.attestation, signed));
}
