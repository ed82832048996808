/**
 * The attester's check before it signs a worker's registration verdict (docs/contracts.md: evidence
 * cannot be verified on chain at sane gas, so an attester verifies it off chain and signs): the
 * worker's bundle must verify — report signature, certificate chain to a pinned root, RIMs, golden
 * measurements, OCSP, key binding to the enclave key for this network's challenge — under the devnet
 * policy (the dev TEE accepted, and only when its root is the one pinned here). Without NVIDIA's roots
 * (no data directory) only dev evidence can pass.
 */
import { nodeEcdsa } from "../crypto/nodeEcdsa.ts";
import { VerinferError } from "../errors.ts";
import {
  type BundleResult,
  parseEvidenceBundle,
  verifyEvidenceBundle,
} from "../protocol/attestation/evidenceBundle.ts";
import { DEVNET_POLICY } from "../protocol/attestation/policy.ts";
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

/** What an attester checks a worker's evidence against. */
export interface AttesterOptions {
  readonly challenge: Uint8Array;
  readonly devRoot: Certificate;
  readonly nvidia?: TrustAnchors;
  readonly at: number;
}

/**
 * Verifies a worker's registration evidence and returns every claim's verdict (the dashboard shows
 * them); throws only for a bundle that does not parse.
 */
export function verifyWorkerEvidence(evidence: WorkerEvidence, o: AttesterOptions): BundleResult {
  const bundle = parseEvidenceBundle(evidence.bundle);
  if (!bundle.ok) throw new VerinferError(bundle.error.code, `registration bundle: ${bundle.error.message}`);
  const anchors: TrustAnchors = o.nvidia
    ? { ...o.nvidia, devRoot: o.devRoot }
    : { deviceRoot: o.devRoot, rimRoot: o.devRoot, devRoot: o.devRoot };
  return verifyEvidenceBundle(
    bundle.value,
    () => ({
      rims: evidence.collateral.rims,
      ocsp: evidence.collateral.ocsp.map((r) => ({ source: r.source, der: hexToBytes(r.der) })),
      mode: "supplied",
    }),
    { expectedChallenge: o.challenge, at: o.at, policy: DEVNET_POLICY, anchors, verifier: nodeEcdsa },
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
