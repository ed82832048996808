/**
 * Enveloped XML-DSig verification, as NVIDIA signs its RIMs: one `Reference URI=""` with the
 * enveloped-signature and Canonical XML 1.1 transforms, an ECDSA-SHA384 (or -SHA256) SignedInfo
 * signature in raw `r‖s` form (RFC 6931), and the signer's chain in `KeyInfo/X509Data`, leaf first.
 * Only that profile is accepted; any other algorithm or shape is reported, not guessed at.
 */
import { decodeBase64 } from "../encoding/base64.ts";
import { bytesToHex, utf8Bytes } from "../encoding/hex.ts";
import { attribute, canonicalize, childElements, textContent, type XmlElement } from "../encoding/xml.ts";
import { fail, ok, type Verdict } from "../errors.ts";
import { digest, type EcdsaVerifier, type HashAlg } from "./signatures.ts";
import { type Certificate, parseCertificate } from "./x509.ts";

/** The XML-DSig namespace. */
export const DSIG = "http://www.w3.org/2000/09/xmldsig#";
const C14N_METHODS = new Set([
  "http://www.w3.org/2006/12/xml-c14n11",
  "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
]);
const ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const SIGNATURE_METHODS: Readonly<Record<string, HashAlg>> = {
  "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": "SHA-384",
  "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": "SHA-256",
};
const DIGEST_METHODS: Readonly<Record<string, HashAlg>> = {
  "http://www.w3.org/2001/04/xmldsig-more#sha384": "SHA-384",
  "http://www.w3.org/2001/04/xmlenc#sha256": "SHA-256",
};

/** What an enveloped signature checked. */
export interface EnvelopedSignature {
  /** The reference digest over the canonical document without the signature matched. */
  readonly digestValid: boolean;
  /** The SignedInfo signature verified with the first certificate's key. */
  readonly signatureValid: boolean;
  /** Certificates from KeyInfo, leaf first. */
  readonly certificates: readonly Certificate[];
}

function one(parent: XmlElement, local: string): XmlElement {
  const found = childElements(parent, DSIG, local);
  if (found.length !== 1)
    throw new SignatureShapeError(`expected one ds:${local} in ds:${parent.local}, found ${found.length}`);
  return found[0] as XmlElement;
}

class SignatureShapeError extends Error {}

/**
 * Checks the enveloped signature of `root` (the document element). Shape problems fail with
 * ATTESTATION_RIM_MALFORMED; a wrong digest or signature is reported in the result, so the caller can
 * name which of the two failed.
 */
export function verifyEnvelopedSignature(
  root: XmlElement,
  verifier: EcdsaVerifier,
): Verdict<EnvelopedSignature> {
  try {
    const signatures = childElements(root, DSIG, "Signature");
    if (signatures.length !== 1)
      throw new SignatureShapeError(`expected one enveloped ds:Signature, found ${signatures.length}`);
    const signature = signatures[0] as XmlElement;
    const signedInfo = one(signature, "SignedInfo");
    const c14n = attribute(one(signedInfo, "CanonicalizationMethod"), "Algorithm") ?? "";
    if (!C14N_METHODS.has(c14n)) throw new SignatureShapeError(`unsupported canonicalization ${c14n}`);
    const signatureHash = SIGNATURE_METHODS[attribute(one(signedInfo, "SignatureMethod"), "Algorithm") ?? ""];
    if (!signatureHash)
      throw new SignatureShapeError("unsupported SignatureMethod (ECDSA-SHA384/256 expected)");
    const reference = one(signedInfo, "Reference");
    if (attribute(reference, "URI") !== "")
      throw new SignatureShapeError('the Reference must be URI="" (the whole document)');
    const transforms = childElements(one(reference, "Transforms"), DSIG, "Transform").map(
      (t) => attribute(t, "Algorithm") ?? "",
    );
    if (
      transforms.length !== 2 ||
      transforms[0] !== ENVELOPED ||
      !C14N_METHODS.has(transforms[1] as string)
    ) {
      throw new SignatureShapeError(`unsupported transforms ${transforms.join(", ")}`);
    }
    const digestHash = DIGEST_METHODS[attribute(one(reference, "DigestMethod"), "Algorithm") ?? ""];
    if (!digestHash) throw new SignatureShapeError("unsupported DigestMethod (SHA-384/256 expected)");
    const expectedDigest = decodeBase64(textContent(one(reference, "DigestValue")));
    const signatureValue = decodeBase64(textContent(one(signature, "SignatureValue")));
    if (!expectedDigest.ok || !signatureValue.ok)
      throw new SignatureShapeError("DigestValue or SignatureValue is not base64");
    const x509Data = one(one(signature, "KeyInfo"), "X509Data");
    const certificates: Certificate[] = [];
    for (const [i, el] of childElements(x509Data, DSIG, "X509Certificate").entries()) {
      const der = decodeBase64(textContent(el));
      if (!der.ok) throw new SignatureShapeError(`X509Certificate ${i + 1} is not base64`);
      const cert = parseCertificate(der.value);
      if (!cert.ok) return fail(cert.error.code, `RIM signer certificate ${i + 1}: ${cert.error.message}`);
      certificates.push(cert.value);
    }
    const leaf = certificates[0];
    if (!leaf) throw new SignatureShapeError("KeyInfo has no X509Certificate");
    const documentDigest = digest(digestHash, utf8Bytes(canonicalize(root, signature)));
    const digestValid = bytesToHex(documentDigest) === bytesToHex(expectedDigest.value);
    const signatureValid = verifier.verify(
      leaf.publicKey.curve,
      signatureHash,
      leaf.publicKey.point,
      utf8Bytes(canonicalize(signedInfo)),
      signatureValue.value,
    );
    return ok({ digestValid, signatureValid, certificates });
  } catch (e) {
    if (e instanceof SignatureShapeError)
      return fail("ATTESTATION_RIM_MALFORMED", `XML signature: ${e.message}`);
    throw e;
  }
}
