/**
 * The FWID that binds the attestation key's certificate to the firmware that generated it. The leaf
 * certificate carries it in the TCG DICE extension (README §4):
 * - Hopper: OID 2.23.133.5.4.1 (or .1.1); NVIDIA's verifier takes the last 48 bytes of the value;
 * - Blackwell: OID 2.23.133.5.4.1.1, a standard DiceTcbInfo whose fwids[0].digest is the FWID.
 * The report's copy is opaque field 20; when the report has none, the check does not apply.
 */
import { children, content, DerError, decodeOid, readRoot, sequence } from "../encoding/der.ts";
import type { Certificate } from "./x509.ts";

const TCB_INFO = "2.23.133.5.4.1";
const TCB_INFO_STANDARD = "2.23.133.5.4.1.1";
const FWID_BYTES = 48;

/** How the FWID was read from the certificate. */
export type FwidSource = "last-48-bytes" | "tcb-info-fwids0";

/** The certificate's FWID, or null when it has no DICE TcbInfo extension (or an unreadable one). */
export function certificateFwid(cert: Certificate): { fwid: Uint8Array; source: FwidSource } | null {
  const hopper = cert.extensions.find((e) => e.oid === TCB_INFO);
  if (hopper && hopper.value.length >= FWID_BYTES) {
    return { fwid: hopper.value.subarray(hopper.value.length - FWID_BYTES), source: "last-48-bytes" };
  }
  const standard = cert.extensions.find((e) => e.oid === TCB_INFO_STANDARD);
  if (!standard) return null;
  try {
    // DiceTcbInfo ::= SEQUENCE { ..., fwids [6] IMPLICIT SEQUENCE OF FWID, ... }; FWID ::= SEQUENCE { hashAlg, digest }
    const fields = children(readRoot(standard.value));
    const fwids = fields.find((f) => f.tag === 0xa6);
    if (!fwids) return null;
    const [first] = children(fwids);
    const [alg, value] = sequence(first, "FWID");
    if (!alg || !value) return null;
    decodeOid(alg);
    return { fwid: content(value), source: "tcb-info-fwids0" };
  } catch (e) {
    if (e instanceof DerError) return null;
    throw e;
  }
}
