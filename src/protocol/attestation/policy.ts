/**
 * What a verifier accepts. The defaults are strict: real NVIDIA evidence only, the caller's nonce
 * required, both RIMs required and matching, OCSP checked when responses are available, debug states
 * rejected. Networks relax them explicitly (a devnet allows the dev TEE; an offline auditor may accept
 * older collateral).
 */
import { fail, ok, type Verdict } from "../errors.ts";

/** OCSP handling: require a fresh response for every certificate, use those present, or skip. */
export type OcspMode = "require" | "if-present" | "skip";

/** A verification policy. */
export interface AttestationPolicy {
  /** Accept dev-TEE evidence (devnet, tests). Never true by default. */
  readonly allowDevTee: boolean;
  /** The caller must supply the expected nonce, and the report must carry it. */
  readonly requireNonce: boolean;
  /** Accepted driver versions (null: any). */
  readonly allowedDriverVersions: readonly string[] | null;
  /** Accepted VBIOS versions, compared case-insensitively (null: any). */
  readonly allowedVbiosVersions: readonly string[] | null;
  /** Golden measurements from signed driver and VBIOS RIMs must match. */
  readonly requireRims: boolean;
  readonly ocsp: OcspMode;
  /** Oldest accepted OCSP response (age of thisUpdate at verification time). */
  readonly maxCollateralAgeMs: number;
  /** Reject evidence that shows a debug or developer-tools state. */
  readonly rejectDebug: boolean;
}

/** Strict production defaults. */
export const DEFAULT_POLICY: AttestationPolicy = {
  allowDevTee: false,
  requireNonce: true,
  allowedDriverVersions: null,
  allowedVbiosVersions: null,
  requireRims: true,
  ocsp: "if-present",
  maxCollateralAgeMs: 7 * 24 * 3_600_000,
  rejectDebug: true,
};

/** The devnet policy: as strict, but the dev TEE is accepted. */
export const DEVNET_POLICY: AttestationPolicy = { ...DEFAULT_POLICY, allowDevTee: true };

/** Checks a policy, reporting every problem at once. */
export function validatePolicy(p: AttestationPolicy): Verdict<AttestationPolicy> {
  const problems: string[] = [];
  if (!["require", "if-present", "skip"].includes(p.ocsp))
    problems.push(`ocsp must be require, if-present or skip, got "${p.ocsp}"`);
  if (!(Number.isFinite(p.maxCollateralAgeMs) && p.maxCollateralAgeMs > 0)) {
    problems.push("maxCollateralAgeMs must be a positive number of milliseconds");
  }
  for (const [name, list] of [
    ["allowedDriverVersions", p.allowedDriverVersions],
    ["allowedVbiosVersions", p.allowedVbiosVersions],
  ] as const) {
    if (
      list !== null &&
      (!Array.isArray(list) || list.length === 0 || list.some((v) => typeof v !== "string" || v === ""))
    ) {
      problems.push(`${name} must be null or a non-empty list of versions`);
    }
  }
  return problems.length
    ? fail("PARAMS_INVALID", `invalid attestation policy: ${problems.join("; ")}`, { problems })
    : ok(p);
}
