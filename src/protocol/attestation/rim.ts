/**
 * NVIDIA reference integrity manifests (RIMs): ISO/IEC 19770-2 SWID tags listing the golden
 * measurement of each of the 64 indexes (with alternatives and an `active` flag), signed with an
 * enveloped XML signature whose chain ends at the pinned "NVIDIA CoRIM signing Root CA"
 * (../shared/data/nvtrust/README.md §4). The driver RIM covers the driver's indexes, the VBIOS RIM the
 * firmware's; which one a file is follows from its version's form.
 */
import { bytesToHex } from "../encoding/hex.ts";
import { attribute, childElements, parseXml, type XmlElement } from "../encoding/xml.ts";
import { fail, ok, type Verdict } from "../errors.ts";
import type { EcdsaVerifier } from "./signatures.ts";
import { type EnvelopedSignature, verifyEnvelopedSignature } from "./xmlSignature.ts";

const SWID = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd";
const SHA384_NS = "http://www.w3.org/2001/04/xmlenc#sha384";
const TCG_RIM =
  "https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-model/";
/** Measurement indexes a RIM may describe (one per SPDM block). */
export const RIM_INDEXES = 64;

/** One golden measurement. */
export interface RimMeasurement {
  readonly index: number;
  readonly active: boolean;
  readonly size: number;
  /** Accepted values (any one matches). */
  readonly alternatives: readonly Uint8Array[];
}

/** Which component a RIM describes. */
export type RimKind = "driver" | "vbios";

/** A parsed RIM with the result of its signature check (chain checked separately). */
export interface Rim {
  readonly kind: RimKind;
  readonly tagId: string;
  readonly product: string;
  /** Driver version (`550.90.07`) or VBIOS version (`96.00.9F.00.01`). */
  readonly version: string;
  readonly firmwareManufacturerId: string | null;
  readonly measurements: readonly RimMeasurement[];
  readonly signature: EnvelopedSignature;
}

const VBIOS_VERSION = /^[0-9a-f]{2}(\.[0-9a-f]{2}){4}$/i;

class RimShapeError extends Error {}

function measurement(el: XmlElement): RimMeasurement {
  const index = Number(attribute(el, "index"));
  const alternatives = Number(attribute(el, "alternatives") ?? "1");
  const size = Number(attribute(el, "size"));
  const active = attribute(el, "active");
  if (!Number.isInteger(index) || index < 0 || index >= RIM_INDEXES)
    throw new RimShapeError(`bad Resource index "${attribute(el, "index")}"`);
  if (active !== "True" && active !== "False")
    throw new RimShapeError(`Resource ${index}: active must be True or False`);
  if (!Number.isInteger(alternatives) || alternatives < 1 || alternatives > 16) {
    throw new RimShapeError(`Resource ${index}: bad alternatives count`);
  }
  if (!Number.isInteger(size) || size <= 0 || size > 64)
    throw new RimShapeError(`Resource ${index}: bad size`);
  const values: Uint8Array[] = [];
  for (let k = 0; k < alternatives; k++) {
    const hex = attribute(el, `Hash${k}`, SHA384_NS);
    if (!hex || !/^[0-9a-fA-F]+$/.test(hex) || hex.length !== 2 * size) {
      throw new RimShapeError(`Resource ${index}: Hash${k} is missing or not ${size} bytes of hex`);
    }
    values.push(Uint8Array.from(hex.match(/../g) as string[], (h) => Number.parseInt(h, 16)));
  }
  return { index, active: active === "True", size, alternatives: values };
}

/**
 * Parses a RIM and checks its XML signature (digest and SignedInfo signature). The structural checks
 * stand in for XSD validation: the elements and attributes verinfer reads must be present and well
 * formed; anything else in the document is signed but not interpreted.
 */
export function parseRim(xml: string, verifier: EcdsaVerifier): Verdict<Rim> {
  const doc = parseXml(xml);
  if (!doc.ok) return fail("ATTESTATION_RIM_MALFORMED", `RIM: ${doc.error.message}`);
  const root = doc.value;
  try {
    if (root.namespace !== SWID || root.local !== "SoftwareIdentity") {
      throw new RimShapeError("the document element is not a SWID SoftwareIdentity");
    }
    const [meta] = childElements(root, SWID, "Meta");
    const payloads = childElements(root, SWID, "Payload");
    if (!meta || payloads.length !== 1) throw new RimShapeError("a RIM needs one Meta and one Payload");
    const version = attribute(meta, "colloquialVersion");
    if (!version) throw new RimShapeError("Meta has no colloquialVersion");
    const measurements = childElements(payloads[0] as XmlElement, SWID, "Resource")
      .filter((r) => attribute(r, "type") === "Measurement")
      .map(measurement);
    const indexes = new Set(measurements.map((m) => m.index));
    if (indexes.size !== measurements.length) throw new RimShapeError("a measurement index appears twice");
    if (measurements.length === 0) throw new RimShapeError("the Payload has no measurements");
    const signature = verifyEnvelopedSignature(root, verifier);
    if (!signature.ok) return signature;
    return ok({
      kind: VBIOS_VERSION.test(version) ? "vbios" : "driver",
      tagId: attribute(root, "tagId") ?? "",
      product: attribute(root, "name") ?? "",
      version,
      firmwareManufacturerId: attribute(meta, "FirmwareManufacturerId", TCG_RIM) ?? null,
      measurements,
      signature: signature.value,
    });
  } catch (e) {
    if (e instanceof RimShapeError) return fail("ATTESTATION_RIM_MALFORMED", `RIM: ${e.message}`);
    throw e;
  }
}

/** The result of comparing runtime measurements with the golden ones. */
export interface MeasurementComparison {
  /** Golden indexes that are active (driver ∪ VBIOS). */
  readonly golden: number;
  readonly matched: readonly { readonly index: number; readonly source: RimKind }[];
  readonly mismatched: readonly { readonly index: number; readonly source: RimKind }[];
  /** Indexes not compared, with the reason. */
  readonly skipped: readonly { readonly index: number; readonly reason: string }[];
  /** Indexes active in both RIMs (a failure by itself). */
  readonly conflicts: readonly number[];
}

/**
 * Compares runtime measurements (0-based: `runtime[i]` is SPDM block i+1) with the active golden
 * measurements of the driver and VBIOS RIMs, the way NVIDIA's C++ SDK does: an index matches when
 * any alternative equals the runtime value and the sizes agree; index 35 (NVDEC0) is skipped when
 * the report says NVDEC0 is disabled (0x55).
 */
export function compareMeasurements(
  runtime: readonly Uint8Array[],
  rims: readonly Rim[],
  nvdec0Status: number | null,
): MeasurementComparison {
  const owner = new Map<number, { m: RimMeasurement; source: RimKind }>();
  const conflicts: number[] = [];
  for (const rim of rims) {
    for (const m of rim.measurements) {
      if (!m.active) continue;
      if (owner.has(m.index)) conflicts.push(m.index);
      else owner.set(m.index, { m, source: rim.kind });
    }
  }
  const matched: { index: number; source: RimKind }[] = [];
  const mismatched: { index: number; source: RimKind }[] = [];
  const skipped: { index: number; reason: string }[] = [];
  for (const [index, { m, source }] of [...owner.entries()].sort((a, b) => a[0] - b[0])) {
    if (index === 35 && nvdec0Status === 0x55) {
      skipped.push({ index, reason: "NVDEC0 disabled (opaque field 11 = 0x55)" });
      continue;
    }
    const value = runtime[index];
    const hex = value ? bytesToHex(value) : null;
    const ok =
      value !== undefined && value.length === m.size && m.alternatives.some((a) => bytesToHex(a) === hex);
    (ok ? matched : mismatched).push({ index, source });
  }
  return {
    golden: owner.size,
    matched,
    mismatched,
    skipped,
    conflicts: [...new Set(conflicts)].sort((a, b) => a - b),
  };
}
