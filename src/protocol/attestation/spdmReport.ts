/**
 * NVIDIA GPU attestation report: the SPDM 1.1 GET_MEASUREMENTS request followed by the signed
 * MEASUREMENTS response, as `nvmlDeviceGetConfComputeGpuAttestationReport` returns it. Layout (all
 * integers little-endian; ../shared/data/nvtrust/README.md §3):
 *
 *   request  (37): version 0x11 · code 0xE0 · param1 · param2 · nonce[32] · slotId
 *   response      : version 0x11 · code 0x60 · param1 · param2 · blockCount · recordLength u24
 *                   · record[recordLength] · responderNonce[32] · opaqueLength u16 · opaque[opaqueLength]
 *                   · signature[96] (raw P-384 r‖s over every byte before it)
 *
 * The parser checks every length against the buffer and requires the signature to end exactly at the
 * end of the report, so truncation, padding and inconsistent lengths each get their own error.
 */
import { bytesToHex } from "../encoding/hex.ts";
import { fail, ok, type Verdict } from "../errors.ts";

/** Bytes of the request part. */
export const SPDM_REQUEST_BYTES = 37;
/** Bytes of a P-384 raw signature. */
export const SPDM_SIGNATURE_BYTES = 96;
/** Reports above this size are rejected before parsing (real H100 reports are about 4 KiB). */
export const MAX_REPORT_BYTES = 64 * 1024;

/** One DMTF measurement block. `index` is 1-based as in the report. */
export interface MeasurementBlock {
  readonly index: number;
  readonly specification: number;
  readonly valueType: number;
  readonly value: Uint8Array;
}

/** One opaque-data TLV. */
export interface OpaqueField {
  readonly type: number;
  readonly name: string;
  readonly value: Uint8Array;
}

/** A parsed report. */
export interface SpdmReport {
  readonly bytes: Uint8Array;
  readonly request: {
    readonly spdmVersion: number;
    readonly code: number;
    readonly param1: number;
    readonly param2: number;
    /** The verifier's challenge, compared with the expected nonce. */
    readonly nonce: Uint8Array;
    readonly slotId: number;
  };
  readonly response: {
    readonly spdmVersion: number;
    readonly code: number;
    readonly param1: number;
    readonly param2: number;
    readonly numberOfBlocks: number;
    readonly measurementRecordLength: number;
    /** The GPU's own random value (not the challenge). */
    readonly nonce: Uint8Array;
    readonly opaqueLength: number;
  };
  readonly blocks: readonly MeasurementBlock[];
  readonly opaque: readonly OpaqueField[];
  /** Offset of the signature in the report. */
  readonly signatureOffset: number;
  /** The bytes the signature covers: everything before it. */
  readonly signedBytes: Uint8Array;
  readonly signature: Uint8Array;
}

/** Opaque field type ids (NVIDIA verifier definitions). */
export const OPAQUE_FIELD_NAMES: Readonly<Record<number, string>> = {
  1: "CERT_ISSUER_NAME",
  2: "CERT_AUTHORITY_KEY_IDENTIFIER",
  3: "DRIVER_VERSION",
  4: "GPU_INFO",
  5: "SKU",
  6: "VBIOS_VERSION",
  7: "MANUFACTURER_ID",
  8: "TAMPER_DETECTION",
  9: "SMC",
  10: "VPR",
  11: "NVDEC0_STATUS",
  12: "MSRSCNT",
  13: "CPRINFO",
  14: "BOARD_ID",
  15: "CHIP_SKU",
  16: "CHIP_SKU_MOD",
  17: "PROJECT",
  18: "PROJECT_SKU",
  19: "PROJECT_SKU_MOD",
  20: "FWID",
  21: "PROTECTED_PCIE_STATUS",
  22: "SWITCH_PDI",
  23: "FLOORSWEPT_PORTS",
  24: "POSITION_ID",
  25: "LOCK_SWITCH_STATUS",
  32: "GPU_LINK_CONN",
  33: "SYS_ENABLE_STATUS",
  34: "OPAQUE_DATA_VERSION",
  35: "CHIP_INFO",
  36: "FEATURE_FLAG",
  255: "INVALID",
};

class Reader {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {}
  need(n: number, field: string): void {
    if (this.pos + n > this.bytes.length) {
      throw new ReportError(
        "ATTESTATION_REPORT_TRUNCATED",
        `${this.what}: ${field} needs ${n} bytes at offset ${this.pos}, the report has ${this.bytes.length - this.pos} left`,
      );
    }
  }
  u8(field: string): number {
    this.need(1, field);
    return this.bytes[this.pos++] as number;
  }
  u16(field: string): number {
    this.need(2, field);
    const v = (this.bytes[this.pos] as number) | ((this.bytes[this.pos + 1] as number) << 8);
    this.pos += 2;
    return v;
  }
  u24(field: string): number {
    this.need(3, field);
    const b = this.bytes;
    const v =
      (b[this.pos] as number) | ((b[this.pos + 1] as number) << 8) | ((b[this.pos + 2] as number) << 16);
    this.pos += 3;
    return v;
  }
  take(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

class ReportError extends Error {
  constructor(
    readonly code:
      | "ATTESTATION_REPORT_TRUNCATED"
      | "ATTESTATION_REPORT_MALFORMED"
      | "ATTESTATION_REPORT_OVERSIZED",
    message: string,
  ) {
    super(message);
  }
}

function expectByte(value: number, expected: number, field: string): void {
  if (value !== expected) {
    throw new ReportError(
      "ATTESTATION_REPORT_MALFORMED",
      `${field} is 0x${value.toString(16).padStart(2, "0")}, expected 0x${expected.toString(16).padStart(2, "0")}`,
    );
  }
}

/** Parses a report. Never throws on any input. */
export function parseSpdmReport(bytes: Uint8Array): Verdict<SpdmReport> {
  if (bytes.length > MAX_REPORT_BYTES) {
    return fail(
      "ATTESTATION_REPORT_OVERSIZED",
      `report is ${bytes.length} bytes; the limit is ${MAX_REPORT_BYTES}`,
      {
        bytes: bytes.length,
      },
    );
  }
  try {
    const r = new Reader(bytes, "request");
    const request = {
      spdmVersion: r.u8("SPDMVersion"),
      code: r.u8("RequestResponseCode"),
      param1: r.u8("Param1"),
      param2: r.u8("Param2"),
      nonce: r.take(32, "Nonce"),
      slotId: r.u8("SlotIDParam"),
    };
    expectByte(request.spdmVersion, 0x11, "request SPDMVersion");
    expectByte(request.code, 0xe0, "request code (GET_MEASUREMENTS)");
    if ((request.param1 & 1) === 0) {
      throw new ReportError(
        "ATTESTATION_REPORT_MALFORMED",
        "the request did not ask for a signature (Param1 bit 0)",
      );
    }
    const s = new Reader(bytes, "response");
    s.pos = r.pos;
    const head = {
      spdmVersion: s.u8("SPDMVersion"),
      code: s.u8("RequestResponseCode"),
      param1: s.u8("Param1"),
      param2: s.u8("Param2"),
      numberOfBlocks: s.u8("NumberOfBlocks"),
      measurementRecordLength: s.u24("MeasurementRecordLength"),
    };
    expectByte(head.spdmVersion, 0x11, "response SPDMVersion");
    expectByte(head.code, 0x60, "response code (MEASUREMENTS)");
    const record = new Reader(
      s.take(head.measurementRecordLength, "MeasurementRecord"),
      "measurement record",
    );
    const blocks: MeasurementBlock[] = [];
    while (record.pos < record.bytes.length) {
      const index = record.u8("block Index");
      const specification = record.u8("MeasurementSpecification");
      const size = record.u16("MeasurementSize");
      const body = new Reader(record.take(size, `block ${index} measurement`), `block ${index}`);
      if (specification !== 0x01) {
        throw new ReportError(
          "ATTESTATION_REPORT_MALFORMED",
          `block ${index} has measurement specification 0x${specification.toString(16)}, not DMTF (0x01)`,
        );
      }
      const valueType = body.u8("DMTFSpecMeasurementValueType");
      const valueSize = body.u16("DMTFSpecMeasurementValueSize");
      if (valueSize + 3 !== size) {
        throw new ReportError(
          "ATTESTATION_REPORT_MALFORMED",
          `block ${index}: value size ${valueSize} does not fit measurement size ${size}`,
        );
      }
      blocks.push({
        index,
        specification,
        valueType,
        value: body.take(valueSize, "DMTFSpecMeasurementValue"),
      });
    }
    if (blocks.length !== head.numberOfBlocks) {
      throw new ReportError(
        "ATTESTATION_REPORT_MALFORMED",
        `the record holds ${blocks.length} blocks, the header says ${head.numberOfBlocks}`,
      );
    }
    const seen = new Set<number>();
    for (const b of blocks) {
      if (b.index === 0 || seen.has(b.index)) {
        throw new ReportError(
          "ATTESTATION_REPORT_MALFORMED",
          `measurement block index ${b.index} is zero or repeated`,
        );
      }
      seen.add(b.index);
    }
    const responseNonce = s.take(32, "responder Nonce");
    const opaqueLength = s.u16("OpaqueLength");
    const opaqueBytes = new Reader(s.take(opaqueLength, "OpaqueData"), "opaque data");
    const opaque: OpaqueField[] = [];
    while (opaqueBytes.pos < opaqueBytes.bytes.length) {
      const type = opaqueBytes.u16("opaque field type");
      const length = opaqueBytes.u16("opaque field length");
      opaque.push({
        type,
        name: OPAQUE_FIELD_NAMES[type] ?? `UNKNOWN_${type}`,
        value: opaqueBytes.take(length, `opaque field ${type}`),
      });
    }
    const signatureOffset = s.pos;
    s.need(SPDM_SIGNATURE_BYTES, "Signature");
    if (signatureOffset + SPDM_SIGNATURE_BYTES !== bytes.length) {
      throw new ReportError(
        "ATTESTATION_REPORT_OVERSIZED",
        `${bytes.length - signatureOffset - SPDM_SIGNATURE_BYTES} bytes follow the signature`,
      );
    }
    return ok({
      bytes,
      request,
      response: { ...head, nonce: responseNonce, opaqueLength },
      blocks,
      opaque,
      signatureOffset,
      signedBytes: bytes.subarray(0, signatureOffset),
      signature: bytes.subarray(signatureOffset),
    });
  } catch (e) {
    if (e instanceof ReportError) return fail(e.code, e.message);
    throw e;
  }
}

/** The first opaque field of a type, or undefined. */
export function opaqueField(report: SpdmReport, type: number): Uint8Array | undefined {
  return report.opaque.find((f) => f.type === type)?.value;
}

function asciiField(value: Uint8Array | undefined): string | null {
  if (!value) return null;
  let end = value.indexOf(0);
  if (end < 0) end = value.length;
  let out = "";
  for (const b of value.subarray(0, end)) {
    if (b < 0x20 || b > 0x7e) return null;
    out += String.fromCharCode(b);
  }
  return out;
}

/** VBIOS version display form (`96.00.9f.00.01`) from the 8 raw bytes of opaque field 6. */
export function formatVbiosVersion(value: Uint8Array): string | null {
  if (value.length !== 8) return null;
  const reversed = bytesToHex(Uint8Array.from(value).reverse()).slice(2);
  const digits = reversed.slice(8) + reversed.slice(6, 8);
  return (digits.match(/../g) ?? []).join(".");
}

/** Values the verifier and policy read from the opaque data. */
export interface ReportIdentity {
  readonly driverVersion: string | null;
  readonly vbiosVersion: string | null;
  readonly project: string | null;
  readonly projectSku: string | null;
  readonly chipSku: string | null;
  readonly chipInfo: string | null;
  /** 0xAA enabled, 0x55 disabled; null when absent. */
  readonly nvdec0Status: number | null;
  readonly fwid: Uint8Array | null;
  /** 0 SPT, 1 MPT, 2 PPCIE; null when absent. */
  readonly featureFlag: number | null;
}

function littleEndian(value: Uint8Array | undefined): number | null {
  if (!value || value.length === 0 || value.length > 6) return null;
  let v = 0;
  for (let i = value.length - 1; i >= 0; i--) v = v * 256 + (value[i] as number);
  return v;
}

/** Decodes the identity fields of a report. */
export function reportIdentity(report: SpdmReport): ReportIdentity {
  const vbios = opaqueField(report, 6);
  const nvdec = opaqueField(report, 11);
  return {
    driverVersion: asciiField(opaqueField(report, 3)),
    vbiosVersion: vbios ? formatVbiosVersion(vbios) : null,
    project: asciiField(opaqueField(report, 17)),
    projectSku: asciiField(opaqueField(report, 18)),
    chipSku: asciiField(opaqueField(report, 15)),
    chipInfo: asciiField(opaqueField(report, 35)),
    nvdec0Status: nvdec?.length === 1 ? (nvdec[0] as number) : null,
    fwid: opaqueField(report, 20) ?? null,
    featureFlag: littleEndian(opaqueField(report, 36)),
  };
}

/**
 * Decodes a report as NVIDIA's tools write it: lowercase hex, possibly with `0x`/`\x` prefixes,
 * spaces or newlines (all stripped, as nvtrust does).
 */
export function decodeReportText(text: string): Verdict<Uint8Array> {
  if (text.length > 4 * MAX_REPORT_BYTES) {
    return fail(
      "ATTESTATION_REPORT_OVERSIZED",
      `report text of ${text.length} characters exceeds the size limit`,
    );
  }
  const clean = text.replace(/0x|\\x|\s+/g, "");
  const bad = clean.search(/[^0-9a-fA-F]/);
  if (bad >= 0)
    return fail("HEX_INVALID", `the report is not hex: character "${clean[bad]}" at position ${bad}`);
  if (clean.length % 2) return fail("HEX_INVALID", "the report hex has an odd number of digits");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return ok(out);
}
