/**
 * The attester's check before it signs a worker's registration verdict (docs/contracts.md: evidence
 * cannot be verified on chain at sane gas, so an attester verifies it off chain and signs): the
 * worker's bundle must verify — report signature, certificate chain to a pinned root, RIMs, golden
 * measurements, OCSP, key binding to the enclave key for this network's challenge. Under the devnet
 * policy the dev TEE is accepted, and only when its root is the one pinned here; under the production
 * policy only NVIDIA hardware, verified to NVIDIA's pinned roots, is. Without NVIDIA's roots only dev
 * evidence can pass.
 */
import { nodeEcdsa } from "../crypto/nodeEcdsa.ts";
import { VerinferError } from "../errors.ts";
import {
  type BundleResult,
  parseEvidenceBundle,
  verifyEvidenceBundle,
} from "../protocol/attestation/evidenceBundle.ts";
import { DEFAULT_POLICY, DEVNET_POLICY } from "../protocol/attestation/policy.ts";
import type { TrustAnchors } from "../protocol/attestation/verifyGpuEvidence.ts";
import { type Certificate, parsePemChain } from "../protocol/attestation/x509.ts";
import { type Hex, hexToBytes } from "../protocol/encoding/hex.ts";
import type { WorkerEvidence } from "./services/worker/workerService.ts";

/** The dev root an attester pins, from its PEM. */
export function pinnedDevRoot(pem: string): Certificate {
  const chain = parsePemChain(pem);
  if (!chain.ok || chain.value.length !== 1)
    throw new VerinferError(
      "CONFIG_INVALID",
      `the dev root must be one PEM certificate${chain.ok ? "" : `: ${chain.error.message}`}`,
    );
  return chain.value[0] as Certificate;
}

/** What an attester checks a worker's evidence against: a pinned dev root, NVIDIA's roots, or both. */
export interface AttesterOptions {
  readonly challenge: Uint8Array;
  readonly devRoot?: Certificate | undefined;
  readonly nvidia?: TrustAnchors | undefined;
  /** `devnet` (the default) accepts the dev TEE under `devRoot`; `production` refuses it. */
  readonly policy?: "devnet" | "production";
  readonly at: number;
}

/**
 * Verifies a worker's registration evidence and returns every claim's verdict (the dashboard shows
 * them); throws only for a bundle that does not parse.
 */
export function verifyWorkerEvidence(evidence: WorkerEvidence, o: AttesterOptions): BundleResult {
  const bundle = parseEvidenceBundle(evidence.bundle);
  if (!bundle.ok) throw new VerinferError(bundle.error.code, `registration bundle: ${bundle.error.message}`);
  let anchors: TrustAnchors;
  if (o.nvidia) anchors = { ...o.nvidia, devRoot: o.devRoot ?? null };
  else if (o.devRoot) anchors = { deviceRoot: o.devRoot, rimRoot: o.devRoot, devRoot: o.devRoot };
  else throw new VerinferError("CONFIG_INVALID", "an attester pins a dev root, NVIDIA's roots, or both");
  const policy = o.policy === "production" ? DEFAULT_POLICY : DEVNET_POLICY;
  return verifyEvidenceBundle(
    bundle.value,
    () => ({
      rims: evidence.collateral.rims,
      ocsp: evidence.collateral.ocsp.map((r) => ({ source: r.source, der: hexToBytes(r.der) })),
      mode: "supplied",
    }),
    { expectedChallenge: o.challenge, at: o.at, policy, anchors, verifier: nodeEcdsa },
  );
}

/**
 * Verifies a worker's registration evidence; returns the enclave address and the attestation hash its
 * receipts must carry, or throws the first failure's code with every failure listed.
 */
export function attestWorkerEvidence(
  evidence: WorkerEvidence,
  o: AttesterOptions,
): { worker: Hex; attestationHash: Hex } {
  const result = verifyWorkerEvidence(evidence, o);
  if (!result.overall) {
    const first = result.failures[0];
    throw new VerinferError(
      first?.code ?? "ATTESTATION_KEY_BINDING_MISMATCH",
      `the worker's evidence does not verify: ${result.failures.map((f) => `[${f.code}] ${f.claim}: ${f.message}`).join("; ")}`,
    );
  }
  return { worker: result.worker, attestationHash: result.attestationHash };
}
