/**
 * NVIDIA's evidence list format (`gpu_evidence.json` of the attestation SDK): a JSON array of
 * `{ arch, nonce, evidence: base64(report bytes), certificate: base64(PEM chain), ... }`, one per GPU.
 * The dev TEE writes the same format, so one loader serves both.
 */
import { decodeBase64, encodeBase64 } from "../encoding/base64.ts";
import { fail, ok, type Verdict } from "../errors.ts";
import { MAX_REPORT_BYTES } from "./spdmReport.ts";

/** One GPU's evidence. */
export interface GpuEvidenceItem {
  readonly arch: string;
  /** Hex nonce the evidence was requested with (informational: the verifier compares its own). */
  readonly nonce: string | null;
  readonly report: Uint8Array;
  readonly chainPem: string;
}

/** Most GPUs in one evidence list (an 8-GPU HGX plus margin). */
export const MAX_GPUS = 64;

/** Parses an evidence list. */
export function parseEvidenceJson(text: string): Verdict<GpuEvidenceItem[]> {
  if (text.length > MAX_GPUS * 4 * MAX_REPORT_BYTES)
    return fail("INPUT_TOO_LARGE", "the evidence file is too large");
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return fail("ATTESTATION_REPORT_MALFORMED", `the evidence file is not JSON: ${(e as Error).message}`);
  }
  const list = Array.isArray(data) ? data : [data];
  if (list.length === 0 || list.length > MAX_GPUS) {
    return fail(
      "ATTESTATION_REPORT_MALFORMED",
      `the evidence list must hold 1..${MAX_GPUS} GPUs, got ${list.length}`,
    );
  }
  const out: GpuEvidenceItem[] = [];
  for (const [i, item] of list.entries()) {
    const where = `evidence[${i}]`;
    if (typeof item !== "object" || item === null)
      return fail("ATTESTATION_REPORT_MALFORMED", `${where} is not an object`);
    const { evidence, certificate, arch, nonce } = item as Record<string, unknown>;
    if (typeof evidence !== "string" || typeof certificate !== "string") {
      return fail(
        "ATTESTATION_REPORT_MALFORMED",
        `${where} needs base64 "evidence" and "certificate" strings`,
      );
    }
    const report = decodeBase64(evidence);
    const chain = decodeBase64(certificate);
    if (!report.ok || !chain.ok)
      return fail("ATTESTATION_REPORT_MALFORMED", `${where}: evidence or certificate is not base64`);
    let chainPem: string;
    try {
      chainPem = new TextDecoder("utf-8", { fatal: true }).decode(chain.value);
    } catch {
      return fail("ATTESTATION_CERT_MALFORMED", `${where}: the certificate chain is not PEM text`);
    }
    out.push({
      arch: typeof arch === "string" ? arch : "unknown",
      nonce: typeof nonce === "string" ? nonce : null,
      report: report.value,
      chainPem,
    });
  }
  return ok(out);
}

/** Writes an evidence list. */
export function formatEvidenceJson(items: readonly GpuEvidenceItem[]): string {
  return `${JSON.stringify(
    items.map((e) => ({
      arch: e.arch,
      nonce: e.nonce,
      evidence: encodeBase64(e.report),
      certificate: encodeBase64(new TextEncoder().encode(e.chainPem)),
    })),
    null,
    2,
  )}\n`;
}
