/**
 * Local verification of GPU evidence — NVIDIA H100/H200/Blackwell reports or dev-TEE reports of the
 * same shape — into granular claims named like NVIDIA's. Pure: the report, chain, collateral, trust
 * anchors, policy, clock and signature backend come in; claims come out. Every check runs and is
 * reported even after an earlier one failed, so a failed verdict says everything that is wrong.
 */
import { bytesToHex } from "../encoding/hex.ts";
import { isoTime } from "../encoding/time.ts";
import type { ErrorCode } from "../errors.ts";
import { verifyCertificateChain } from "./certChain.ts";
import { DEV_TEE_MODE_FIELD, DEV_TEE_MODES } from "./devTeeFormat.ts";
import { certificateFwid } from "./fwid.ts";
import { checkOcsp, type OcspResponse, parseOcspResponse } from "./ocsp.ts";
import type { AttestationPolicy } from "./policy.ts";
import { compareMeasurements, parseRim, type Rim, type RimKind } from "./rim.ts";
import type { EcdsaVerifier } from "./signatures.ts";
import { opaqueField, parseSpdmReport, reportIdentity } from "./spdmReport.ts";
import { type Certificate, commonName, parsePemChain, sameName } from "./x509.ts";

/** Longest device chain (NVIDIA: exactly 5 including the root). */
export const MAX_DEVICE_CHAIN = 5;
/** Longest RIM signing chain (leaf, L3, CA, root). */
export const MAX_RIM_CHAIN = 4;

/** Which kind of evidence was verified. */
export type EvidenceKind = "nvidia-gpu" | "dev-tee" | "unknown";

/** Pinned roots. The dev root is only consulted to recognize (and, by policy, accept) dev evidence. */
export interface TrustAnchors {
  readonly deviceRoot: Certificate;
  readonly rimRoot: Certificate;
  readonly devRoot: Certificate | null;
}

/** Collateral: RIMs and OCSP responses, and where they came from. */
export interface Collateral {
  readonly rims: readonly { readonly source: string; readonly xml: string }[];
  readonly ocsp: readonly { readonly source: string; readonly der: Uint8Array }[];
  /** `supplied` with the evidence or on the command line; `offline-cache` from a local directory only. */
  readonly mode: "supplied" | "offline-cache";
}

/** Verification inputs besides the evidence. */
export interface VerifyOptions {
  readonly expectedNonce: Uint8Array | null;
  /** Verification time, epoch milliseconds. */
  readonly at: number;
  readonly policy: AttestationPolicy;
  readonly anchors: TrustAnchors;
  readonly verifier: EcdsaVerifier;
}

/** Status of a certificate chain, as NVIDIA's `x-nvidia-cert-status` plus the reasons verinfer names. */
export type ChainStatus = "valid" | "invalid" | "expired" | "not-yet-valid" | "revoked" | "untrusted-root";
/** OCSP outcome for a chain. */
export type OcspStatus = "good" | "revoked" | "unknown" | "not-checked";

/** Claims about one certificate chain. */
export interface ChainClaims {
  readonly status: ChainStatus;
  readonly ocspStatus: OcspStatus;
  /** Earliest notAfter in the chain (ISO), when the chain parsed. */
  readonly expirationDate: string | null;
}

/** Claims about one RIM. */
export interface RimClaims {
  readonly source: string | null;
  readonly fetched: boolean;
  readonly schemaValidated: boolean;
  readonly certChain: ChainClaims;
  readonly signatureVerified: boolean;
  readonly versionMatch: boolean;
  readonly measurementsAvailable: boolean;
}

/** All claims. `null` means "does not apply" (e.g. no FWID in older reports). */
export interface AttestationClaims {
  readonly "report-parsed": boolean;
  readonly "nonce-match": boolean | null;
  readonly "signature-verified": boolean;
  readonly "cert-chain": ChainClaims;
  readonly "fwid-match": boolean | null;
  readonly "driver-rim": RimClaims;
  readonly "vbios-rim": RimClaims;
  readonly "vbios-index-no-conflict": boolean | null;
  readonly "measurements-match": boolean | null;
  readonly "debug-state": "disabled" | "enabled" | "unknown";
  readonly "versions-allowed": boolean;
  readonly overall: boolean;
}

/** One reason the overall verdict is false. */
export interface AttestationFailure {
  readonly claim: string;
  readonly code: ErrorCode;
  readonly message: string;
}

/** The full result. */
export interface AttestationResult {
  readonly evidenceKind: EvidenceKind;
  readonly overall: boolean;
  readonly claims: AttestationClaims;
  readonly failures: readonly AttestationFailure[];
  readonly warnings: readonly string[];
  readonly values: {
    readonly nonce: string | null;
    readonly driverVersion: string | null;
    readonly vbiosVersion: string | null;
    readonly hwmodel: string | null;
    readonly ueid: string | null;
    readonly oemid: string | null;
    readonly project: string | null;
    readonly projectSku: string | null;
    readonly chipSku: string | null;
    readonly fwid: string | null;
    readonly mismatchedMeasurements: readonly number[];
    readonly skippedMeasurements: readonly number[];
    readonly goldenMeasurements: number;
  };
  readonly collateral: Collateral["mode"];
  readonly verifiedAt: string;
}

const NO_RIM: RimClaims = {
  source: null,
  fetched: false,
  schemaValidated: false,
  certChain: { status: "invalid", ocspStatus: "not-checked", expirationDate: null },
  signatureVerified: false,
  versionMatch: false,
  measurementsAvailable: false,
};

const CHAIN_STATUS: Partial<Record<ErrorCode, ChainStatus>> = {
  ATTESTATION_CERT_EXPIRED: "expired",
  ATTESTATION_CERT_NOT_YET_VALID: "not-yet-valid",
  ATTESTATION_CHAIN_UNTRUSTED_ROOT: "untrusted-root",
};

/** Verifies one GPU's evidence. */
export function verifyGpuEvidence(
  evidence: { readonly report: Uint8Array; readonly chainPem: string },
  collateral: Collateral,
  options: VerifyOptions,
): AttestationResult {
  const { policy, verifier, at } = options;
  const failures: AttestationFailure[] = [];
  const warnings: string[] = [];
  const failed = (claim: string, code: ErrorCode, message: string) => failures.push({ claim, code, message });

  // OCSP responses are parsed once; malformed ones are reported and ignored.
  const ocspResponses: OcspResponse[] = [];
  for (const r of collateral.ocsp) {
    const parsed = parseOcspResponse(r.der);
    if (parsed.ok) ocspResponses.push(parsed.value);
    else failed("ocsp", parsed.error.code, `${r.source}: ${parsed.error.message}`);
  }

  // Report.
  const parsed = parseSpdmReport(evidence.report);
  if (!parsed.ok) failed("report-parsed", parsed.error.code, parsed.error.message);
  const report = parsed.ok ? parsed.value : null;
  const identity = report ? reportIdentity(report) : null;

  // Device chain and evidence kind.
  const chain = parsePemChain(evidence.chainPem, 16);
  if (!chain.ok) failed("cert-chain", chain.error.code, chain.error.message);
  const certs = chain.ok ? chain.value : [];
  const devRoot = options.anchors.devRoot;
  const chainRoot = certs.length ? (certs[certs.length - 1] as Certificate) : null;
  const isDev =
    devRoot !== null &&
    chainRoot !== null &&
    (bytesToHex(chainRoot.der) === bytesToHex(devRoot.der) || sameName(chainRoot.issuer, devRoot.subject));
  const evidenceKind: EvidenceKind = certs.length === 0 ? "unknown" : isDev ? "dev-tee" : "nvidia-gpu";
  if (isDev && !policy.allowDevTee) {
    failed(
      "dev-tee",
      "ATTESTATION_DEV_TEE_REJECTED",
      "dev-TEE evidence is not accepted by this policy (allowDevTee is false)",
    );
  }
  const deviceRoot = isDev && devRoot ? devRoot : options.anchors.deviceRoot;
  const rimRoot = isDev && devRoot ? devRoot : options.anchors.rimRoot;

  const chainClaims = (
    list: readonly Certificate[],
    root: Certificate,
    maxLength: number,
    claim: string,
    what: string,
  ): ChainClaims => {
    if (list.length === 0) return { status: "invalid", ocspStatus: "not-checked", expirationDate: null };
    const verified = verifyCertificateChain(list, { pinnedRoot: root, at, maxLength, verifier });
    if (!verified.ok) {
      failed(claim, verified.error.code, `${what}: ${verified.error.message}`);
      return {
        status: CHAIN_STATUS[verified.error.code] ?? "invalid",
        ocspStatus: "not-checked",
        expirationDate: null,
      };
    }
    const full = verified.value.certificates;
    let ocspStatus: OcspStatus = "not-checked";
    if (policy.ocsp !== "skip") {
      // As NVIDIA's verifier: every certificate below the root, except a GPU attestation leaf (per boot).
      const first = claim === "cert-chain" ? 1 : 0;
      const statuses: OcspStatus[] = [];
      for (let i = first; i + 1 < full.length; i++) {
        const check = checkOcsp(
          full[i] as Certificate,
          full[i + 1] as Certificate,
          ocspResponses,
          { at, maxAgeMs: policy.maxCollateralAgeMs },
          verifier,
        );
        if (check.ok) {
          statuses.push(check.value.status);
          if (check.value.status !== "good") {
            failed(
              claim,
              check.value.status === "revoked" ? "ATTESTATION_CERT_REVOKED" : "ATTESTATION_OCSP_INVALID",
              `${what}: OCSP says ${commonName((full[i] as Certificate).subject)} is ${check.value.status}`,
            );
          }
        } else if (check.error.code === "ATTESTATION_COLLATERAL_MISSING" && policy.ocsp === "if-present") {
          statuses.push("not-checked");
        } else {
          statuses.push("unknown");
          failed(claim, check.error.code, `${what}: ${check.error.message}`);
        }
      }
      ocspStatus = statuses.includes("revoked")
        ? "revoked"
        : statuses.includes("unknown")
          ? "unknown"
          : statuses.length > 0 && statuses.every((s) => s === "good")
            ? "good"
            : "not-checked";
      if (ocspStatus === "not-checked" && policy.ocsp === "if-present")
        warnings.push(`${what}: no OCSP response available; revocation not checked`);
    }
    return {
      status: ocspStatus === "revoked" ? "revoked" : "valid",
      ocspStatus,
      expirationDate: isoTime(verified.value.expiresAt),
    };
  };
  const certChain = chainClaims(certs, deviceRoot, MAX_DEVICE_CHAIN, "cert-chain", "device chain");

  // Nonce.
  let nonceMatch: boolean | null = null;
  if (options.expectedNonce) {
    nonceMatch = report !== null && bytesToHex(report.request.nonce) === bytesToHex(options.expectedNonce);
    if (report && !nonceMatch) {
      failed(
        "nonce-match",
        "ATTESTATION_NONCE_MISMATCH",
        `the report carries nonce ${bytesToHex(report.request.nonce)}, expected ${bytesToHex(options.expectedNonce)}`,
      );
    }
  } else if (policy.requireNonce) {
    nonceMatch = false;
    failed("nonce-match", "ATTESTATION_NONCE_MISMATCH", "the policy requires a nonce and none was given");
  }

  // Report signature with the leaf key.
  const leaf = certs[0];
  let signatureVerified = false;
  if (report && leaf) {
    signatureVerified =
      leaf.publicKey.curve === "P-384" &&
      verifier.verify("P-384", "SHA-384", leaf.publicKey.point, report.signedBytes, report.signature);
    if (!signatureVerified)
      failed(
        "signature-verified",
        "ATTESTATION_SIGNATURE_INVALID",
        "the report signature does not verify with the leaf certificate's key",
      );
  }

  // FWID binding between leaf certificate and report.
  let fwidMatch: boolean | null = null;
  const certFwid = leaf ? certificateFwid(leaf) : null;
  if (identity?.fwid) {
    fwidMatch = certFwid !== null && bytesToHex(certFwid.fwid) === bytesToHex(identity.fwid);
    if (!fwidMatch)
      failed(
        "fwid-match",
        "ATTESTATION_FWID_MISMATCH",
        "the report's FWID (opaque field 20) differs from the leaf certificate's",
      );
  }

  // RIMs.
  const rims: Rim[] = [];
  const rimClaims: Record<RimKind, RimClaims> = { driver: NO_RIM, vbios: NO_RIM };
  for (const file of collateral.rims) {
    const rim = parseRim(file.xml, verifier);
    if (!rim.ok) {
      failed("rim", rim.error.code, `${file.source}: ${rim.error.message}`);
      continue;
    }
    const kind = rim.value.kind;
    if (rimClaims[kind].fetched) {
      failed(`${kind}-rim`, "ATTESTATION_RIM_MISMATCH", `${file.source}: a second ${kind} RIM was supplied`);
      continue;
    }
    const expected = kind === "driver" ? identity?.driverVersion : identity?.vbiosVersion;
    const versionMatch =
      expected !== null &&
      expected !== undefined &&
      expected.toLowerCase() === rim.value.version.toLowerCase();
    if (!versionMatch) {
      failed(
        `${kind}-rim`,
        "ATTESTATION_RIM_MISMATCH",
        `${file.source}: the ${kind} RIM is for version ${rim.value.version}, the report has ${expected ?? "none"}`,
      );
    }
    const signatureVerified = rim.value.signature.digestValid && rim.value.signature.signatureValid;
    if (!signatureVerified) {
      failed(
        `${kind}-rim`,
        "ATTESTATION_RIM_SIGNATURE_INVALID",
        `${file.source}: ${rim.value.signature.digestValid ? "the XML signature value" : "the reference digest (content was changed after signing)"} does not verify`,
      );
    }
    rimClaims[kind] = {
      source: file.source,
      fetched: true,
      schemaValidated: true,
      certChain: chainClaims(
        rim.value.signature.certificates,
        rimRoot,
        MAX_RIM_CHAIN,
        `${kind}-rim`,
        `${kind} RIM chain`,
      ),
      signatureVerified,
      versionMatch,
      measurementsAvailable: rim.value.measurements.length > 0,
    };
    rims.push(rim.value);
  }

  // Measurements.
  let measurementsMatch: boolean | null = null;
  let noConflict: boolean | null = null;
  let comparison: ReturnType<typeof compareMeasurements> | null = null;
  // Compared whenever the RIM's own signature holds, so a chain problem (reported above) does not hide
  // what the measurements say.
  const usable = rims.filter((r) => rimClaims[r.kind].signatureVerified);
  if (report && usable.length > 0) {
    const runtime: Uint8Array[] = [];
    for (const b of report.blocks) runtime[b.index - 1] = b.value;
    comparison = compareMeasurements(runtime, usable, identity?.nvdec0Status ?? null);
    noConflict = comparison.conflicts.length === 0;
    if (!noConflict)
      failed(
        "vbios-index-no-conflict",
        "ATTESTATION_MEASUREMENT_CONFLICT",
        `indexes ${comparison.conflicts.join(", ")} are active in both RIMs`,
      );
    measurementsMatch = comparison.mismatched.length === 0 && noConflict;
    if (comparison.mismatched.length > 0) {
      failed(
        "measurements-match",
        "ATTESTATION_MEASUREMENT_MISMATCH",
        `runtime measurements differ from the golden values at indexes ${comparison.mismatched.map((m) => `${m.index} (${m.source})`).join(", ")}`,
      );
    }
  }
  if (policy.requireRims) {
    for (const kind of ["driver", "vbios"] as const) {
      if (!rimClaims[kind].fetched)
        failed(
          `${kind}-rim`,
          "ATTESTATION_COLLATERAL_MISSING",
          `no ${kind} RIM was supplied; the policy requires both RIMs`,
        );
    }
  } else if (measurementsMatch === null) {
    warnings.push(
      "measurements were not compared with golden values (no usable RIM; the policy does not require them)",
    );
  }

  // Debug state: dev evidence says it; NVIDIA's verifier derives "disabled" from matching golden values.
  let debugState: AttestationClaims["debug-state"] = "unknown";
  if (isDev && report) {
    const mode = opaqueField(report, DEV_TEE_MODE_FIELD);
    const name = mode?.length === 1 ? DEV_TEE_MODES[mode[0] as number] : undefined;
    debugState = name === "production" ? "disabled" : name ? "enabled" : "unknown";
    if (name && name !== "production" && policy.rejectDebug)
      failed("debug-state", "ATTESTATION_DEBUG_MODE", `the dev TEE reports ${name} mode`);
  } else if (measurementsMatch === true) debugState = "disabled";

  // Versions allowed by the policy.
  const allowed = (list: readonly string[] | null, v: string | null | undefined) =>
    list === null || (v !== null && v !== undefined && list.some((x) => x.toLowerCase() === v.toLowerCase()));
  const versionsAllowed =
    allowed(policy.allowedDriverVersions, identity?.driverVersion) &&
    allowed(policy.allowedVbiosVersions, identity?.vbiosVersion);
  if (!versionsAllowed) {
    failed(
      "versions-allowed",
      "ATTESTATION_POLICY_VIOLATION",
      `driver ${identity?.driverVersion ?? "?"} / VBIOS ${identity?.vbiosVersion ?? "?"} is not in the policy's allowed versions`,
    );
  }

  const overall = failures.length === 0;
  return {
    evidenceKind,
    overall,
    claims: {
      "report-parsed": report !== null,
      "nonce-match": nonceMatch,
      "signature-verified": signatureVerified,
      "cert-chain": certChain,
      "fwid-match": fwidMatch,
      "driver-rim": rimClaims.driver,
      "vbios-rim": rimClaims.vbios,
      "vbios-index-no-conflict": noConflict,
      "measurements-match": measurementsMatch,
      "debug-state": debugState,
      "versions-allowed": versionsAllowed,
      overall,
    },
    failures,
    warnings,
    values: {
      nonce: report ? bytesToHex(report.request.nonce).slice(2) : null,
      driverVersion: identity?.driverVersion ?? null,
      vbiosVersion: identity?.vbiosVersion ?? null,
      hwmodel: certs[1] ? commonName(certs[1].subject) : null,
      ueid: leaf ? leaf.serialNumber.toString(10) : null,
      oemid: rims.find((r) => r.firmwareManufacturerId)?.firmwareManufacturerId ?? null,
      project: identity?.project ?? null,
      projectSku: identity?.projectSku ?? null,
      chipSku: identity?.chipSku ?? null,
      fwid: identity?.fwid ? bytesToHex(identity.fwid).slice(2) : null,
      mismatchedMeasurements: comparison?.mismatched.map((m) => m.index) ?? [],
      skippedMeasurements: comparison?.skipped.map((m) => m.index) ?? [],
      goldenMeasurements: comparison?.golden ?? 0,
    },
    collateral: collateral.mode,
    verifiedAt: isoTime(at),
  };
}
