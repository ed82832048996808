import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect } from "vitest";
import { nodeEcdsa } from "../../crypto/nodeEcdsa.ts";
import { DATA_DIR, itWithData } from "../../testing/sharedData.ts";
import { bytesToHex } from "../encoding/hex.ts";
import { parseXml } from "../encoding/xml.ts";
import { verifyCertificateChain } from "./certChain.ts";
import { parseEvidenceJson } from "./evidenceJson.ts";
import { certificateFwid } from "./fwid.ts";
import { DEFAULT_POLICY } from "./policy.ts";
import { compareMeasurements, parseRim } from "./rim.ts";
import { pureEcdsa } from "./signatures.ts";
import { decodeReportText, formatVbiosVersion, parseSpdmReport, type SpdmReport } from "./spdmReport.ts";
import { verifyGpuEvidence } from "./verifyGpuEvidence.ts";
import { type Certificate, parsePemChain } from "./x509.ts";
import { verifyEnvelopedSignature } from "./xmlSignature.ts";

const N = "nvtrust/";
const EXPECTED = `${N}expected.json`;
const file = (p: string) => readFileSync(join(DATA_DIR ?? "", p), "utf8");
const hex = (b: Uint8Array) => bytesToHex(b).slice(2);

interface ExpectedCase {
  name: string;
  report_file: string;
  cert_chain_file: string;
  report_bytes: number;
  report_sha256: string;
  request: Record<string, string>;
  response_header: Record<string, string>;
  number_of_blocks: number;
  measurement_record_length: number;
  response_nonce: string;
  opaque_length: number;
  signature_offset: number;
  signature_hex: string;
  signature_verifies_with_leaf: boolean;
  chain: { subject: string; issuer: string; serial: string }[];
  chain_last_cert_equals_pinned_device_root: boolean;
  chain_links_verify: boolean;
  leaf_fwid_extension_2_23_133_5_4_1_last48: string | null;
  leaf_fwid_tcbinfo_2_23_133_5_4_1_1_fwids0?: string;
  report_fwid_opaque_20: string | null;
  fwid_match: boolean | null;
  opaque: {
    type: number;
    name: string;
    size: number;
    hex: string;
    ascii?: string;
    formatted?: string;
    u32le?: number[];
  }[];
  hwmodel_claim_chain1_cn: string;
  ueid_claim_leaf_serial_decimal: string;
  measurements?: Record<string, string>;
  measurements_sha256_of_concat?: string;
  rim_comparison?: {
    driver_rim: string;
    vbios_rim: string;
    conflict: boolean;
    activeGolden: number;
    matched: string[];
    mismatched: string[];
  };
}

/** The report and chain of a case (plain files, or entry i of an evidence JSON list). */
function loadCase(c: ExpectedCase): { report: Uint8Array; chainPem: string } {
  const m = c.report_file.match(/^(\S+\.json)\[(\d+)\]/);
  if (m) {
    const list = parseEvidenceJson(file(N + m[1]));
    if (!list.ok) throw new Error(list.error.message);
    const item = list.value[Number(m[2])];
    if (!item) throw new Error(`no entry ${m[2]}`);
    return { report: item.report, chainPem: item.chainPem };
  }
  const report = decodeReportText(file(N + c.report_file));
  if (!report.ok) throw new Error(report.error.message);
  return { report: report.value, chainPem: file(N + c.cert_chain_file) };
}

const pinned = (name: string): Certificate => {
  const c = parsePemChain(file(`${N}roots/${name}`));
  if (!c.ok) throw new Error(c.error.message);
  return c.value[0] as Certificate;
};

describe("NVIDIA evidence: every case of expected.json", () => {
  itWithData("parses, verifies and decodes each report exactly as recorded", [EXPECTED], (path) => {
    const cases = (JSON.parse(readFileSync(path, "utf8")) as { cases: ExpectedCase[] }).cases;
    expect(cases).toHaveLength(17);
    const deviceRoot = pinned("verifier_device_root.pem");
    for (const c of cases) {
      const { report: bytes, chainPem } = loadCase(c);
      expect(bytes.length, c.name).toBe(c.report_bytes);
      expect(createHash("sha256").update(bytes).digest("hex"), c.name).toBe(c.report_sha256);
      const parsed = parseSpdmReport(bytes);
      if (!parsed.ok) throw new Error(`${c.name}: ${parsed.error.message}`);
      const r: SpdmReport = parsed.value;
      expect(
        {
          spdmVersion: r.request.spdmVersion.toString(16),
          code: r.request.code.toString(16),
          param1: r.request.param1.toString(16),
          param2: r.request.param2.toString(16),
          nonce: hex(r.request.nonce),
          slotIdParam: r.request.slotId.toString(16),
        },
        c.name,
      ).toEqual(c.request);
      expect({
        spdmVersion: r.response.spdmVersion.toString(16),
        code: r.response.code.toString(16),
        param1: r.response.param1.toString(16),
        param2: r.response.param2.toString(16),
      }).toEqual(c.response_header);
      expect(r.response.numberOfBlocks).toBe(c.number_of_blocks);
      expect(r.response.measurementRecordLength).toBe(c.measurement_record_length);
      expect(hex(r.response.nonce)).toBe(c.response_nonce);
      expect(r.response.opaqueLength).toBe(c.opaque_length);
      expect(r.signatureOffset).toBe(c.signature_offset);
      expect(hex(r.signature)).toBe(c.signature_hex);
      // Opaque fields, in order, with their decoded forms.
      expect(
        r.opaque.map((f) => ({ type: f.type, name: f.name, size: f.value.length, hex: hex(f.value) })),
      ).toEqual(c.opaque.map(({ type, name, size, hex: h }) => ({ type, name, size, hex: h })));
      for (const f of c.opaque) {
        if (f.formatted)
          expect(formatVbiosVersion(r.opaque.find((o) => o.type === 6)?.value as Uint8Array)).toBe(
            f.formatted,
          );
      }
      // Measurements: every value, or the hash of their concatenation.
      if (c.measurements) {
        expect(Object.fromEntries(r.blocks.map((b) => [String(b.index), hex(b.value)]))).toEqual(
          c.measurements,
        );
      } else {
        const concat = createHash("sha256");
        for (const b of r.blocks) concat.update(b.value);
        expect(concat.digest("hex"), c.name).toBe(c.measurements_sha256_of_concat);
      }
      // Chain, signature, FWID, claims values.
      const chain = parsePemChain(chainPem);
      if (!chain.ok) throw new Error(chain.error.message);
      expect(
        chain.value.map((x) => ({ subject: x.subject.text, issuer: x.issuer.text, serial: x.serialHex })),
      ).toEqual(c.chain.map(({ subject, issuer, serial }) => ({ subject, issuer, serial })));
      const leaf = chain.value[0] as Certificate;
      expect(
        pureEcdsa.verify("P-384", "SHA-384", leaf.publicKey.point, r.signedBytes, r.signature),
        c.name,
      ).toBe(c.signature_verifies_with_leaf);
      expect(nodeEcdsa.verify("P-384", "SHA-384", leaf.publicKey.point, r.signedBytes, r.signature)).toBe(
        c.signature_verifies_with_leaf,
      );
      const verified = verifyCertificateChain(chain.value, {
        pinnedRoot: deviceRoot,
        at: Date.UTC(2026, 10, 22),
        maxLength: 5,
        verifier: nodeEcdsa,
      });
      expect(verified.ok && !verified.value.rootAppended, c.name).toBe(
        c.chain_links_verify && c.chain_last_cert_equals_pinned_device_root,
      );
      const fwid = certificateFwid(leaf);
      const expectedFwid =
        c.leaf_fwid_extension_2_23_133_5_4_1_last48 ?? c.leaf_fwid_tcbinfo_2_23_133_5_4_1_1_fwids0;
      expect(fwid ? hex(fwid.fwid) : null, c.name).toBe(expectedFwid ?? null);
      const reportFwid = r.opaque.find((f) => f.type === 20)?.value;
      expect(reportFwid ? hex(reportFwid) : null).toBe(c.report_fwid_opaque_20);
      if (c.fwid_match !== null)
        expect(reportFwid !== undefined && hex(reportFwid) === expectedFwid).toBe(c.fwid_match);
      expect(chain.value[1]?.subject.attributes.find((a) => a.oid === "2.5.4.3")?.value).toBe(
        c.hwmodel_claim_chain1_cn,
      );
      expect(leaf.serialNumber.toString(10)).toBe(c.ueid_claim_leaf_serial_decimal);
      // RIM comparison. We follow the C++ SDK, which skips index 35 when NVDEC0 is disabled; the
      // recorded comparison does not skip, so skipped indexes are left out of both sides.
      if (c.rim_comparison) {
        const rims = [c.rim_comparison.driver_rim, c.rim_comparison.vbios_rim].map((f) => {
          const rim = parseRim(file(N + f), nodeEcdsa);
          if (!rim.ok) throw new Error(rim.error.message);
          return rim.value;
        });
        const runtime: Uint8Array[] = [];
        for (const b of r.blocks) runtime[b.index - 1] = b.value;
        const nvdec = r.opaque.find((f) => f.type === 11)?.value[0] ?? null;
        const cmp = compareMeasurements(runtime, rims, nvdec);
        const label = (x: { index: number; source: string }) =>
          `${x.index}:${x.source === "driver" ? "Driver" : "Firmware"}`;
        const skipped = cmp.skipped.map((s) => s.index);
        expect(skipped.every((i) => i === 35 && nvdec === 0x55)).toBe(true);
        const compared = (list: string[]) =>
          list.filter((m) => !skipped.includes(Number(m.split(":")[0]))).sort();
        expect(cmp.golden, c.name).toBe(c.rim_comparison.activeGolden);
        expect(cmp.conflicts.length > 0).toBe(c.rim_comparison.conflict);
        expect(cmp.mismatched.map(label).sort(), c.name).toEqual(compared(c.rim_comparison.mismatched));
        expect(cmp.matched.map(label).sort(), c.name).toEqual(compared(c.rim_comparison.matched));
      }
    }
  });

  itWithData(
    "matches NVIDIA's golden SPDM parse field for field",
    [`${N}attestation-sdk/spdm_parsed_output.json`, `${N}attestation-sdk/spdm_req_parsed_output.json`],
    (responsePath, requestPath) => {
      const golden = JSON.parse(readFileSync(responsePath, "utf8"));
      const goldenRequest = JSON.parse(readFileSync(requestPath, "utf8"));
      const bytes = decodeReportText(file(`${N}attestation-sdk/hopperAttestationReport_580.159.03.txt`));
      if (!bytes.ok) throw new Error(bytes.error.message);
      const r = parseSpdmReport(bytes.value);
      if (!r.ok) throw new Error(r.error.message);
      const b = (v: number) => `0x${v.toString(16).padStart(2, "0")}`;
      const x = (v: Uint8Array) => `0x${hex(v)}`;
      expect({
        SPDMVersion: b(r.value.request.spdmVersion),
        RequestResponseCode: b(r.value.request.code),
        Param1: b(r.value.request.param1),
        Param2: b(r.value.request.param2),
        Nonce: x(r.value.request.nonce),
        SlotIDParam: b(r.value.request.slotId),
      }).toEqual(goldenRequest);
      expect(b(r.value.response.spdmVersion)).toBe(golden.SPDMVersion);
      expect(b(r.value.response.code)).toBe(golden.RequestResponseCode);
      expect(b(r.value.response.param1)).toBe(golden.Param1);
      expect(b(r.value.response.param2)).toBe(golden.Param2);
      expect(r.value.response.numberOfBlocks).toBe(golden.NumberOfBlocks);
      expect(r.value.response.measurementRecordLength).toBe(golden.MeasurementRecordLength);
      expect(x(r.value.response.nonce)).toBe(golden.Nonce);
      expect(r.value.response.opaqueLength).toBe(golden.OpaqueLength);
      expect(x(r.value.signature)).toBe(golden.Signature);
      expect(golden.MeasurementRecord.NumberOfBlocks).toBe(r.value.blocks.length);
      for (const block of r.value.blocks) {
        expect(golden.MeasurementRecord.MeasurementBlocks[String(block.index)]).toEqual({
          DMTFSpecMeasurementValueType: block.valueType,
          DMTFSpecMeasurementValueSize: block.value.length,
          DMTFSpecMeasurementValue: x(block.value),
        });
      }
      // Every field NVIDIA's parser printed, in order; that SDK version did not know ids 34 and 36.
      const fields = golden.OpaqueData.OpaqueDataField as Record<string, unknown>;
      const known = r.value.opaque.filter((f) => f.type !== 34 && f.type !== 36);
      expect(Object.keys(fields)).toEqual(known.map((f) => `OPAQUE_FIELD_ID_${f.name}`));
      for (const f of known) {
        const v = fields[`OPAQUE_FIELD_ID_${f.name}`];
        if (f.name === "MSRSCNT") {
          const counters = Array.from({ length: f.value.length / 4 }, (_, i) =>
            new DataView(f.value.buffer, f.value.byteOffset + 4 * i, 4).getUint32(0, true),
          );
          expect(v).toEqual(counters);
        } else expect(v, f.name).toBe(x(f.value));
      }
    },
  );
});

describe("NVIDIA RIMs: XML signatures as xmlsec1 judged them", () => {
  itWithData("every signed RIM verifies; the negative RIMs fail the right check", [EXPECTED], () => {
    const rimRoot = pinned("verifier_RIM_root.pem");
    const check = (f: string, at: number) => {
      const doc = parseXml(file(N + f));
      if (!doc.ok) throw new Error(doc.error.message);
      const sig = verifyEnvelopedSignature(doc.value, pureEcdsa);
      if (!sig.ok) throw new Error(sig.error.message);
      const chain = verifyCertificateChain(sig.value.certificates, {
        pinnedRoot: rimRoot,
        at,
        maxLength: 4,
        verifier: pureEcdsa,
      });
      return {
        digest: sig.value.digestValid,
        signature: sig.value.signatureValid,
        chain: chain.ok ? "ok" : chain.error.code,
      };
    };
    const mid2024 = Date.UTC(2024, 5, 1);
    const signed = [
      "1010_0200_882_96005E0001_PROD",
      "1010_0200_882_96005E0001_test_no_gpu",
      "g520_0228_889_96006D0029_PROD",
    ];
    for (const f of signed)
      expect(check(`nvtrust-samples/${f}.swidtag`, mid2024)).toEqual({
        digest: true,
        signature: true,
        chain: "ok",
      });
    expect(check("nvtrust-samples/Driver_RIM_test_no_gpu.swidtag", mid2024)).toEqual({
      digest: true,
      signature: true,
      chain: "ok",
    });
    expect(
      check("attestation-sdk/rims/NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml", mid2024)
        .chain,
    ).toBe("ok");
    // Valid from 2024-09: not yet valid at mid-2024, valid in 2025.
    expect(check("attestation-sdk/rims/NV_GPU_DRIVER_GH100_550.144.03.xml", mid2024).chain).toBe(
      "ATTESTATION_CERT_NOT_YET_VALID",
    );
    expect(check("attestation-sdk/rims/NV_GPU_DRIVER_GH100_550.144.03.xml", Date.UTC(2025, 0, 1))).toEqual({
      digest: true,
      signature: true,
      chain: "ok",
    });
    // Every nvtrust RIM has expired by now (its L4 signer expired in 2025).
    expect(check("nvtrust-samples/Driver_RIM_test_no_gpu.swidtag", Date.UTC(2026, 10, 22)).chain).toBe(
      "ATTESTATION_CERT_EXPIRED",
    );
    // Negative RIMs.
    expect(
      check("attestation-sdk/rims/incorrect_signature_driver_rim.xml", Date.UTC(2025, 0, 1)),
    ).toMatchObject({ digest: true, signature: false });
    expect(
      check("attestation-sdk/rims/NV_GPU_DRIVER_GH100_535.86.09_measurement_mismatch.xml", mid2024).digest,
    ).toBe(false);
    expect(
      check("attestation-sdk/rims/NV_GPU_DRIVER_GH100_570.124.03_expired.xml", Date.UTC(2025, 0, 1, 12))
        .digest,
    ).toBe(false);
    // Two certificates ending in a self-signed root that is not NVIDIA's.
    expect(
      check("attestation-sdk/rims/incorrect_cert_chain_driver_rim.xml", Date.UTC(2025, 0, 1)).chain,
    ).toBe("ATTESTATION_CHAIN_UNTRUSTED_ROOT");
    // A foreign RIM root does not anchor NVIDIA's RIMs.
    const foreign = parsePemChain(file(`${N}attestation-sdk/rims/incorrect_rim_root.crt`));
    if (!foreign.ok) throw new Error(foreign.error.message);
    const doc = parseXml(file(`${N}nvtrust-samples/Driver_RIM_test_no_gpu.swidtag`));
    if (!doc.ok) throw new Error(doc.error.message);
    const sig = verifyEnvelopedSignature(doc.value, pureEcdsa);
    if (!sig.ok) throw new Error(sig.error.message);
    const chain = verifyCertificateChain(sig.value.certificates, {
      pinnedRoot: foreign.value[0] as Certificate,
      at: mid2024,
      maxLength: 4,
      verifier: pureEcdsa,
    });
    expect(chain.ok ? "ok" : chain.error.code).toBe("ATTESTATION_CHAIN_UNTRUSTED_ROOT");
  });
});

describe("end-to-end verification of real evidence", () => {
  const nonce = Uint8Array.from(
    Buffer.from("4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e", "hex"),
  );
  const rims = () =>
    [
      "nvtrust-samples/Driver_RIM_test_no_gpu.swidtag",
      "nvtrust-samples/1010_0200_882_96005E0001_test_no_gpu.swidtag",
    ].map((source) => ({ source, xml: file(N + source) }));
  const anchors = () => ({
    deviceRoot: pinned("verifier_device_root.pem"),
    rimRoot: pinned("verifier_RIM_root.pem"),
    devRoot: null,
  });
  const evidence = () =>
    loadCase({
      report_file: "nvtrust-v1.0-samples/attestationReport.txt",
      cert_chain_file: "nvtrust-v1.0-samples/gpuAkCertChain.txt",
    } as ExpectedCase);

  itWithData("the 2023 H100 sample passes every claim while its RIMs were valid", [EXPECTED], () => {
    for (const verifier of [pureEcdsa, nodeEcdsa]) {
      const r = verifyGpuEvidence(
        evidence(),
        { rims: rims(), ocsp: [], mode: "supplied" },
        {
          expectedNonce: nonce,
          at: Date.UTC(2024, 5, 1),
          policy: DEFAULT_POLICY,
          anchors: anchors(),
          verifier,
        },
      );
      expect(r.failures).toEqual([]);
      expect(r).toMatchObject({
        evidenceKind: "nvidia-gpu",
        overall: true,
        claims: {
          "nonce-match": true,
          "signature-verified": true,
          "cert-chain": { status: "valid", expirationDate: "9999-12-31T23:59:59Z" },
          "fwid-match": null,
          "measurements-match": true,
          "debug-state": "disabled",
        },
        values: {
          driverVersion: "545.00",
          vbiosVersion: "96.00.5e.00.01",
          hwmodel: "GH100 A01 GSP BROM",
          oemid: "5703",
          goldenMeasurements: 33,
        },
      });
      expect(r.warnings.join(" ")).toMatch(/revocation not checked/);
    }
  });

  itWithData("today the same evidence fails only on its expired RIM signers, and says so", [EXPECTED], () => {
    const r = verifyGpuEvidence(
      evidence(),
      { rims: rims(), ocsp: [], mode: "supplied" },
      {
        expectedNonce: nonce,
        at: Date.UTC(2026, 10, 22),
        policy: DEFAULT_POLICY,
        anchors: anchors(),
        verifier: nodeEcdsa,
      },
    );
    expect(r.overall).toBe(false);
    expect(r.claims["measurements-match"]).toBe(true);
    expect(r.claims["driver-rim"].certChain.status).toBe("expired");
    expect(r.failures.map((f) => f.code)).toEqual(["ATTESTATION_CERT_EXPIRED", "ATTESTATION_CERT_EXPIRED"]);
  });

  itWithData("the PROD VBIOS RIM names the four mismatching firmware indexes", [EXPECTED], () => {
    const withProd = [
      rims()[0] as { source: string; xml: string },
      { source: "prod", xml: file(`${N}nvtrust-samples/1010_0200_882_96005E0001_PROD.swidtag`) },
    ];
    const r = verifyGpuEvidence(
      evidence(),
      { rims: withProd, ocsp: [], mode: "supplied" },
      {
        expectedNonce: nonce,
        at: Date.UTC(2024, 5, 1),
        policy: DEFAULT_POLICY,
        anchors: anchors(),
        verifier: nodeEcdsa,
      },
    );
    expect(r.overall).toBe(false);
    expect(r.values.mismatchedMeasurements).toEqual([1, 2, 3, 9]);
    expect(r.failures.map((f) => f.code)).toEqual(["ATTESTATION_MEASUREMENT_MISMATCH"]);
  });

  itWithData("any flipped bit in the real report breaks its signature or its layout", [EXPECTED], () => {
    const base = evidence();
    const parsed = parseSpdmReport(base.report);
    if (!parsed.ok) throw new Error(parsed.error.message);
    for (const offset of [
      4,
      100,
      3000,
      parsed.value.signatureOffset - 10,
      parsed.value.signatureOffset + 40,
    ]) {
      const report = Uint8Array.from(base.report);
      report[offset] = (report[offset] as number) ^ 0x80;
      const r = verifyGpuEvidence(
        { ...base, report },
        { rims: rims(), ocsp: [], mode: "supplied" },
        {
          expectedNonce: nonce,
          at: Date.UTC(2024, 5, 1),
          policy: DEFAULT_POLICY,
          anchors: anchors(),
          verifier: nodeEcdsa,
        },
      );
      expect(r.overall, `offset ${offset}`).toBe(false);
      const codes = r.failures.map((f) => f.code);
      const detected = codes.some(
        (c) => c === "ATTESTATION_SIGNATURE_INVALID" || c.startsWith("ATTESTATION_REPORT_"),
      );
      expect(detected, `offset ${offset}: ${codes.join(", ")}`).toBe(true);
    }
  });

  itWithData(
    "all eight GPUs of the PPCIE system verify (no RIMs required)",
    [`${N}ppcie-8gpu/gpu_evidence.json`],
    (path) => {
      const list = parseEvidenceJson(readFileSync(path, "utf8"));
      if (!list.ok) throw new Error(list.error.message);
      for (const item of list.value) {
        const r = verifyGpuEvidence(
          item,
          { rims: [], ocsp: [], mode: "supplied" },
          {
            expectedNonce: Uint8Array.from(Buffer.from(item.nonce ?? "", "hex")),
            at: Date.UTC(2026, 10, 22),
            policy: { ...DEFAULT_POLICY, requireRims: false },
            anchors: anchors(),
            verifier: nodeEcdsa,
          },
        );
        expect(r.failures).toEqual([]);
        expect(r.claims).toMatchObject({
          "signature-verified": true,
          "fwid-match": true,
          "measurements-match": null,
        });
      }
    },
  );
});
