import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nodeEcdsa } from "../../crypto/nodeEcdsa.ts";
import { bytesToHex } from "../encoding/hex.ts";
import { keccak256 } from "../encoding/keccak.ts";
import { parseXml } from "../encoding/xml.ts";
import { addressOf } from "../receipt/receipt.ts";
import { verifyCertificateChain } from "./certChain.ts";
import { buildDevTee, DEV_TEE_FIRMWARE, type DevTeeKeys, devReport } from "./devTee.ts";
import { formatEvidenceBundle, parseEvidenceBundle, verifyEvidenceBundle } from "./evidenceBundle.ts";
import { parseEvidenceJson } from "./evidenceJson.ts";
import { bindingNonce, verifyKeyBinding } from "./keyBinding.ts";
import { checkOcsp, ocspCertId, parseOcspResponse } from "./ocsp.ts";
import { DEFAULT_POLICY, DEVNET_POLICY, validatePolicy } from "./policy.ts";
import { parseRim } from "./rim.ts";
import { publicPoint, pureEcdsa } from "./signatures.ts";
import { decodeReportText, parseSpdmReport } from "./spdmReport.ts";
import { type AttestationResult, type Collateral, verifyGpuEvidence } from "./verifyGpuEvidence.ts";
import { type Certificate, parseCertificate, parsePemChain } from "./x509.ts";
import { buildCertificate, buildOcspResponse, toPem } from "./x509Builder.ts";

// Fixed dev keys: tests are deterministic (real dev TEEs draw theirs from node:crypto).
const key = (n: number) =>
  keccak256(Uint8Array.of(n))
    .slice(0, 32)
    .reduce((acc, b, i) => {
      acc[i] = b;
      acc[i + 16] = b ^ 0x5a;
      return acc;
    }, new Uint8Array(48));
const KEYS: DevTeeKeys = { root: key(1), identity: key(2), attestation: key(3), rimSigner: key(4) };
const ISSUED = Date.UTC(2026, 0, 1);
const NOW = Date.UTC(2026, 0, 2);
const NONCE = keccak256(Uint8Array.of(9));
const RESPONDER = keccak256(Uint8Array.of(10));
const tee = buildDevTee(KEYS, ISSUED);
const root = tee.certificates.root;
const anchors = { deviceRoot: root, rimRoot: root, devRoot: root };

const collateral = (over: Partial<Collateral> = {}): Collateral => ({
  rims: [
    { source: "driver.xml", xml: tee.driverRim },
    { source: "vbios.xml", xml: tee.vbiosRim },
  ],
  ocsp: tee.ocsp.map((der, i) => ({ source: `ocsp-${i}.der`, der })),
  mode: "supplied",
  ...over,
});

function verify(
  report: Uint8Array,
  options: {
    chainPem?: string;
    nonce?: Uint8Array | null;
    at?: number;
    policy?: typeof DEVNET_POLICY;
    collateral?: Collateral;
  } = {},
): AttestationResult {
  return verifyGpuEvidence(
    { report, chainPem: options.chainPem ?? tee.chainPem },
    options.collateral ?? collateral(),
    {
      expectedNonce: options.nonce === undefined ? NONCE : options.nonce,
      at: options.at ?? NOW,
      policy: options.policy ?? DEVNET_POLICY,
      anchors,
      verifier: nodeEcdsa,
    },
  );
}

const goodReport = devReport(KEYS, NONCE, RESPONDER);
const codes = (r: AttestationResult) => r.failures.map((f) => f.code);

describe("dev TEE", () => {
  it("produces evidence that passes every claim under the devnet policy, and says it is dev evidence", () => {
    const r = verify(goodReport);
    expect(r.failures).toEqual([]);
    expect(r).toMatchObject({
      evidenceKind: "dev-tee",
      overall: true,
      claims: {
        "nonce-match": true,
        "signature-verified": true,
        "fwid-match": true,
        "measurements-match": true,
        "debug-state": "disabled",
        "cert-chain": { status: "valid", ocspStatus: "good" },
        "driver-rim": {
          signatureVerified: true,
          versionMatch: true,
          certChain: { status: "valid", ocspStatus: "good" },
        },
      },
      values: { driverVersion: DEV_TEE_FIRMWARE.driverVersion, goldenMeasurements: 33 },
    });
    expect(r.warnings).toEqual([]);
    // The same bytes through the pure-JS verifier give the same verdict.
    const pure = verifyGpuEvidence({ report: goodReport, chainPem: tee.chainPem }, collateral(), {
      expectedNonce: NONCE,
      at: NOW,
      policy: DEVNET_POLICY,
      anchors,
      verifier: pureEcdsa,
    });
    expect(pure).toEqual(r);
  });

  it("is rejected by the default policy, and debug or devtools modes are rejected", () => {
    expect(codes(verify(goodReport, { policy: DEFAULT_POLICY }))).toEqual(["ATTESTATION_DEV_TEE_REJECTED"]);
    for (const mode of [1, 2]) {
      const r = verify(devReport(KEYS, NONCE, RESPONDER, { ...DEV_TEE_FIRMWARE, mode }));
      expect(r.claims["debug-state"]).toBe("enabled");
      expect(codes(r)).toContain("ATTESTATION_DEBUG_MODE");
    }
  });

  it("binds an enclave key through the nonce (keccak256(pubkey ‖ challenge))", () => {
    const enclave = publicPoint("secp256k1", key(7).slice(0, 32));
    const other = publicPoint("secp256k1", key(8).slice(0, 32));
    const challenge = keccak256(Uint8Array.of(1, 2, 3));
    const bound = bindingNonce(enclave, challenge);
    const r = verify(devReport(KEYS, bound, RESPONDER), { nonce: bound });
    expect(r.overall).toBe(true);
    expect(verifyKeyBinding(bound, enclave, challenge).ok).toBe(true);
    expect(verifyKeyBinding(bound, other, challenge)).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_KEY_BINDING_MISMATCH" },
    });
    expect(verifyKeyBinding(bound, enclave, keccak256(Uint8Array.of(4)))).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_KEY_BINDING_MISMATCH" },
    });
    expect(
      codes(verify(devReport(KEYS, bound, RESPONDER), { nonce: bindingNonce(other, challenge) })),
    ).toEqual(["ATTESTATION_NONCE_MISMATCH"]);
  });
});

describe("registration bundles", () => {
  const enclaveKey = key(7).slice(0, 32);
  const enclave = publicPoint("secp256k1", enclaveKey);
  const challenge = keccak256(Uint8Array.of(5));
  const report = devReport(KEYS, bindingNonce(enclave, challenge), RESPONDER);
  const bundle = {
    version: 1 as const,
    enclavePublicKey: enclave,
    challenge,
    gpus: [{ arch: "DEV_TEE", nonce: null, report, chainPem: tee.chainPem }],
    cpu: null,
  };
  const options = { at: NOW, policy: DEVNET_POLICY, anchors, verifier: nodeEcdsa };

  it("verify every GPU against the key binding and name the worker and its attestation hash", () => {
    const parsed = parseEvidenceBundle(formatEvidenceBundle(bundle));
    if (!parsed.ok) throw new Error(parsed.error.message);
    const r = verifyEvidenceBundle(parsed.value, () => collateral(), {
      ...options,
      expectedChallenge: challenge,
    });
    expect(r.failures).toEqual([]);
    expect(r.worker).toBe(addressOf(enclave));
    expect(r.attestationHash).toBe(bytesToHex(keccak256(report)));
    const replay = verifyEvidenceBundle(parsed.value, () => collateral(), {
      ...options,
      expectedChallenge: keccak256(Uint8Array.of(6)),
    });
    expect(replay.failures.map((f) => f.code)).toEqual(["ATTESTATION_KEY_BINDING_MISMATCH"]);
    // Another key presenting this evidence fails the nonce check of the GPU.
    const stolen = { ...parsed.value, enclavePublicKey: publicPoint("secp256k1", key(8).slice(0, 32)) };
    expect(
      verifyEvidenceBundle(stolen, () => collateral(), {
        ...options,
        expectedChallenge: challenge,
      }).failures.map((f) => f.code),
    ).toEqual(["ATTESTATION_NONCE_MISMATCH"]);
  });

  it("refuse a filled CPU-quote slot and malformed bundles", () => {
    const json = JSON.parse(formatEvidenceBundle(bundle));
    expect(parseEvidenceBundle(JSON.stringify({ ...json, cpu: { tdx: "..." } }))).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_CPU_QUOTE_UNSUPPORTED" },
    });
    expect(parseEvidenceBundle(JSON.stringify({ ...json, version: 2 }))).toMatchObject({
      ok: false,
      error: { message: /version must be 1/ },
    });
    expect(parseEvidenceBundle(JSON.stringify({ ...json, enclavePublicKey: "0x02" }))).toMatchObject({
      ok: false,
      error: { message: /enclavePublicKey/ },
    });
    expect(parseEvidenceBundle(JSON.stringify({ ...json, extra: 1 }))).toMatchObject({
      ok: false,
      error: { message: /unknown bundle field "extra"/ },
    });
    expect(parseEvidenceBundle("not json")).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_REPORT_MALFORMED" },
    });
  });
});

describe("hostile evidence, each with its own error", () => {
  const flip = (bytes: Uint8Array, offset: number) => {
    const copy = Uint8Array.from(bytes);
    copy[offset] = (copy[offset] as number) ^ 0x01;
    return copy;
  };
  const parsed = parseSpdmReport(goodReport);
  if (!parsed.ok) throw new Error(parsed.error.message);
  const layout = parsed.value;

  it("truncated, padded and oversized reports", () => {
    expect(parseSpdmReport(goodReport.subarray(0, 20))).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_REPORT_TRUNCATED" },
    });
    expect(parseSpdmReport(goodReport.subarray(0, goodReport.length - 1))).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_REPORT_TRUNCATED" },
    });
    expect(parseSpdmReport(new Uint8Array([...goodReport, 0]))).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_REPORT_OVERSIZED" },
    });
    expect(parseSpdmReport(new Uint8Array(70_000))).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_REPORT_OVERSIZED" },
    });
    expect(parseSpdmReport(flip(goodReport, 1))).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_REPORT_MALFORMED" },
    });
    expect(codes(verify(goodReport.subarray(0, 100)))).toContain("ATTESTATION_REPORT_TRUNCATED");
  });

  it("bit flips in the nonce, a measurement, the opaque data and the signature break the signature", () => {
    const recordStart = 37 + 8;
    const offsets = {
      nonce: 4,
      measurement: recordStart + 7 + 10,
      opaque: layout.signatureOffset - 5,
      signature: layout.signatureOffset + 10,
    };
    for (const [where, offset] of Object.entries(offsets)) {
      const r = verify(flip(goodReport, offset));
      expect(codes(r), where).toContain("ATTESTATION_SIGNATURE_INVALID");
      expect(r.overall).toBe(false);
    }
    expect(codes(verify(flip(goodReport, 4)))).toContain("ATTESTATION_NONCE_MISMATCH");
  });

  it("a wrong or missing nonce", () => {
    expect(codes(verify(goodReport, { nonce: keccak256(Uint8Array.of(11)) }))).toEqual([
      "ATTESTATION_NONCE_MISMATCH",
    ]);
    expect(codes(verify(goodReport, { nonce: null }))).toEqual(["ATTESTATION_NONCE_MISMATCH"]);
    expect(
      verify(goodReport, { nonce: null, policy: { ...DEVNET_POLICY, requireNonce: false } }).overall,
    ).toBe(true);
  });

  it("expired and not-yet-valid certificates", () => {
    expect(codes(verify(goodReport, { at: ISSUED - 2 * 3_600_000 }))).toContain(
      "ATTESTATION_CERT_NOT_YET_VALID",
    );
    const late = verify(goodReport, { at: ISSUED + 2 * 365 * 24 * 3_600_000 });
    expect(late.claims["cert-chain"].status).toBe("expired");
    expect(codes(late)).toContain("ATTESTATION_CERT_EXPIRED");
  });

  it("a foreign root, a chain out of order, a chain longer than 5, garbage PEM", () => {
    const other = buildDevTee({ ...KEYS, root: key(20) }, ISSUED);
    expect(codes(verify(goodReport, { chainPem: other.chainPem }))).toContain(
      "ATTESTATION_CHAIN_UNTRUSTED_ROOT",
    );
    const pems = tee.chainPem.split(/(?<=-----END CERTIFICATE-----\n)/);
    const swapped = [pems[1], pems[0], pems[2]].join("");
    const r = verify(goodReport, { chainPem: swapped });
    expect(codes(r)).toContain("ATTESTATION_CHAIN_BROKEN");
    expect(r.failures.find((f) => f.code === "ATTESTATION_CHAIN_BROKEN")?.message).toMatch(/leaf first/);
    // Six certificates: extra CAs between the identity and the root.
    const point = (k: Uint8Array) => ({ curve: "P-384" as const, point: publicPoint("P-384", k) });
    const names = ["CA 1", "CA 2", "CA 3"].map((cn) => [["CN", cn]] as const);
    const rootName = [
      ["CN", "verinfer dev TEE root CA"],
      ["O", "verinfer"],
    ] as const;
    const extra: Uint8Array[] = [];
    let issuerName: readonly (readonly [string, string])[] = rootName;
    let issuerKey = KEYS.root;
    for (const [i, name] of names.entries()) {
      extra.unshift(
        buildCertificate({
          serial: BigInt(100 + i),
          subject: name,
          issuer: issuerName,
          notBefore: ISSUED,
          notAfter: ISSUED + 1e10,
          publicKey: point(key(30 + i)),
          ca: true,
          signer: { curve: "P-384", privateKey: issuerKey },
          hash: "SHA-384",
        }),
      );
      issuerName = name;
      issuerKey = key(30 + i);
    }
    const identity = buildCertificate({
      serial: 200n,
      subject: [["CN", "id"]],
      issuer: issuerName,
      notBefore: ISSUED,
      notAfter: ISSUED + 1e10,
      publicKey: point(KEYS.identity),
      ca: true,
      signer: { curve: "P-384", privateKey: issuerKey },
      hash: "SHA-384",
    });
    const leaf = buildCertificate({
      serial: 201n,
      subject: [["CN", "leaf"]],
      issuer: [["CN", "id"]],
      notBefore: ISSUED,
      notAfter: ISSUED + 1e10,
      publicKey: point(KEYS.attestation),
      ca: false,
      signer: { curve: "P-384", privateKey: KEYS.identity },
      hash: "SHA-384",
    });
    const long = [leaf, identity, ...extra].map(toPem).join("") + toPem(root.der);
    expect(codes(verify(goodReport, { chainPem: long }))).toContain("ATTESTATION_CHAIN_TOO_LONG");
    expect(
      codes(
        verify(goodReport, {
          chainPem: "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----",
        }),
      ),
    ).toContain("ATTESTATION_CERT_MALFORMED");
    expect(codes(verify(goodReport, { chainPem: "garbage" }))).toContain("ATTESTATION_CERT_MALFORMED");
  });

  it("an FWID mismatch between the leaf certificate and the report", () => {
    const report = devReport(KEYS, NONCE, RESPONDER, { ...DEV_TEE_FIRMWARE, driverVersion: "570.1.other" });
    const r = verify(report);
    expect(codes(r)).toContain("ATTESTATION_FWID_MISMATCH");
    // The driver RIM is for another version too, and the measurements differ.
    expect(codes(r)).toContain("ATTESTATION_RIM_MISMATCH");
    expect(codes(r)).toContain("ATTESTATION_MEASUREMENT_MISMATCH");
  });

  it("a tampered RIM, a wrong-version RIM, a missing RIM", () => {
    const tampered = tee.driverRim.replace(
      /ns2:Hash0="([0-9a-f])/,
      (_, c: string) => `ns2:Hash0="${c === "0" ? "1" : "0"}`,
    );
    const r = verify(goodReport, {
      collateral: collateral({
        rims: [
          { source: "driver.xml", xml: tampered },
          { source: "vbios.xml", xml: tee.vbiosRim },
        ],
      }),
    });
    expect(codes(r)).toContain("ATTESTATION_RIM_SIGNATURE_INVALID");
    expect(r.failures.find((f) => f.code === "ATTESTATION_RIM_SIGNATURE_INVALID")?.message).toMatch(
      /reference digest/,
    );
    const other = buildDevTee(KEYS, ISSUED, { ...DEV_TEE_FIRMWARE, driverVersion: "999.0.0" });
    expect(
      codes(
        verify(goodReport, {
          collateral: collateral({
            rims: [
              { source: "d", xml: other.driverRim },
              { source: "v", xml: tee.vbiosRim },
            ],
          }),
        }),
      ),
    ).toContain("ATTESTATION_RIM_MISMATCH");
    expect(
      codes(verify(goodReport, { collateral: collateral({ rims: [{ source: "v", xml: tee.vbiosRim }] }) })),
    ).toEqual(["ATTESTATION_COLLATERAL_MISSING"]);
    expect(parseRim("<not-a-rim/>", pureEcdsa)).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_RIM_MALFORMED" },
    });
    expect(parseRim('<!DOCTYPE x [<!ENTITY a "b">]><x/>', pureEcdsa)).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_RIM_MALFORMED", message: /DTDs are not supported/ },
    });
  });

  it("garbage hex", () => {
    expect(decodeReportText("11e0zz")).toMatchObject({ ok: false, error: { code: "HEX_INVALID" } });
    expect(decodeReportText("abc")).toMatchObject({ ok: false, error: { code: "HEX_INVALID" } });
    expect(decodeReportText("0x11 e0\n01")).toMatchObject({
      ok: true,
      value: Uint8Array.of(0x11, 0xe0, 0x01),
    });
    expect(parseEvidenceJson("[{}]")).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_REPORT_MALFORMED" },
    });
    expect(parseEvidenceJson("{")).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_REPORT_MALFORMED" },
    });
  });
});

describe("OCSP", () => {
  const identity = tee.certificates.identity;
  const respond = (
    status: Parameters<typeof buildOcspResponse>[0]["status"],
    thisUpdate = ISSUED,
    nextUpdate?: number,
    signer = KEYS.root,
  ) =>
    buildOcspResponse({
      certId: ocspCertId(identity, root),
      status,
      producedAt: thisUpdate,
      thisUpdate,
      nextUpdate,
      responderName: [
        ["CN", "verinfer dev TEE root CA"],
        ["O", "verinfer"],
      ],
      signer: { curve: "P-384", privateKey: signer },
      hash: "SHA-384",
    });
  const check = (der: Uint8Array, at = NOW, maxAgeMs = 7 * 86_400_000) => {
    const parsed = parseOcspResponse(der);
    if (!parsed.ok) return parsed;
    return checkOcsp(identity, root, [parsed.value], { at, maxAgeMs }, pureEcdsa);
  };

  it("good, revoked, stale, expired, forged and missing responses", () => {
    expect(check(respond({ status: "good" }))).toMatchObject({ ok: true, value: { status: "good" } });
    expect(check(respond({ status: "revoked", revokedAt: ISSUED, reason: 1 }))).toMatchObject({
      ok: true,
      value: { status: "revoked", revocationReason: 1 },
    });
    expect(check(respond({ status: "good" }), ISSUED + 10 * 86_400_000)).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_OCSP_STALE" },
    });
    expect(check(respond({ status: "good" }, ISSUED, ISSUED + 3_600_000))).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_OCSP_STALE", message: /nextUpdate/ },
    });
    expect(check(respond({ status: "good" }, ISSUED, undefined, key(40)))).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_OCSP_INVALID" },
    });
    expect(checkOcsp(identity, root, [], { at: NOW, maxAgeMs: 1 }, pureEcdsa)).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_COLLATERAL_MISSING" },
    });
    expect(parseOcspResponse(Uint8Array.of(0x30, 0x03, 0x0a, 0x01, 0x01))).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_OCSP_INVALID" },
    });
    expect(parseOcspResponse(Uint8Array.of(1, 2, 3))).toMatchObject({
      ok: false,
      error: { code: "ATTESTATION_OCSP_MALFORMED" },
    });
  });

  it("a revoked identity CA fails the whole evidence; 'require' needs a response for every certificate", () => {
    const revoked = respond({ status: "revoked", revokedAt: ISSUED });
    const r = verify(goodReport, {
      collateral: collateral({
        ocsp: [
          { source: "revoked.der", der: revoked },
          { source: "rim.der", der: tee.ocsp[1] as Uint8Array },
        ],
      }),
    });
    expect(r.claims["cert-chain"]).toMatchObject({ status: "revoked", ocspStatus: "revoked" });
    expect(codes(r)).toContain("ATTESTATION_CERT_REVOKED");
    const none = verify(goodReport, {
      collateral: collateral({ ocsp: [] }),
      policy: { ...DEVNET_POLICY, ocsp: "require" },
    });
    expect(codes(none)).toContain("ATTESTATION_COLLATERAL_MISSING");
    const offline = verify(goodReport, { collateral: collateral({ mode: "offline-cache" }) });
    expect(offline).toMatchObject({ overall: true, collateral: "offline-cache" });
  });
});

describe("policy", () => {
  it("rejects versions it does not allow, and invalid policies", () => {
    const r = verify(goodReport, { policy: { ...DEVNET_POLICY, allowedDriverVersions: ["550.90.07"] } });
    expect(codes(r)).toEqual(["ATTESTATION_POLICY_VIOLATION"]);
    expect(
      validatePolicy({ ...DEFAULT_POLICY, ocsp: "maybe" as never, maxCollateralAgeMs: -1 }),
    ).toMatchObject({
      ok: false,
      error: { code: "PARAMS_INVALID", message: /ocsp must be.*maxCollateralAgeMs/ },
    });
  });
});

describe("parsers never throw on arbitrary bytes", () => {
  it("SPDM reports, certificates, PEM, OCSP, XML, evidence JSON", () => {
    const arbitraryReport = fc.oneof(
      fc.uint8Array({ maxLength: 5000 }),
      // Valid prefixes with random tails reach the deeper parsing paths.
      fc
        .tuple(fc.nat({ max: goodReport.length }), fc.uint8Array({ maxLength: 200 }))
        .map(([cut, tail]) => new Uint8Array([...goodReport.subarray(0, cut), ...tail])),
    );
    fc.assert(
      fc.property(arbitraryReport, (bytes) => {
        const r = parseSpdmReport(bytes);
        expect(typeof r.ok).toBe("boolean");
        const v = verify(bytes);
        expect(v.overall).toBe(false);
      }),
      { numRuns: 120, seed: 1 },
    );
    const certDer = root.der;
    fc.assert(
      fc.property(
        fc.nat({ max: certDer.length - 1 }),
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ maxLength: 64 }),
        (i, b, junk) => {
          const mutated = Uint8Array.from(certDer);
          mutated[i] = b;
          expect(typeof parseCertificate(mutated).ok).toBe("boolean");
          expect(typeof parseCertificate(junk).ok).toBe("boolean");
          expect(typeof parseOcspResponse(junk).ok).toBe("boolean");
          expect(typeof parseOcspResponse(mutated).ok).toBe("boolean");
        },
      ),
      { numRuns: 500, seed: 2 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        expect(typeof parseXml(text).ok).toBe("boolean");
        expect(typeof parsePemChain(text).ok).toBe("boolean");
        expect(typeof parseEvidenceJson(text).ok).toBe("boolean");
        expect(typeof decodeReportText(text).ok).toBe("boolean");
      }),
      { numRuns: 500, seed: 3 },
    );
  });

  it("a valid chain still verifies after the fuzzing helpers ran (sanity)", () => {
    const chain = parsePemChain(tee.chainPem);
    if (!chain.ok) throw new Error(chain.error.message);
    expect(
      verifyCertificateChain(chain.value, {
        pinnedRoot: root as Certificate,
        at: NOW,
        maxLength: 5,
        verifier: pureEcdsa,
      }).ok,
    ).toBe(true);
  });
});
