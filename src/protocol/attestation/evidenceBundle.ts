/**
 * What a worker presents to register: its secp256k1 enclave public key, the verifier's challenge, the
 * evidence of every GPU it runs on (requested with nonce = keccak256(key ‖ challenge)), and a slot for
 * a CPU TEE quote. Verifying the bundle verifies every GPU against that binding nonce; the outcome is
 * the worker's address and the attestation hash its receipts must name.
 *
 * CPU quotes (Intel TDX, AMD SEV-SNP) are a later issue: the slot exists in the format, and a bundle
 * that fills it is refused with its own error rather than accepted unchecked.
 */
import { bytesToHex, concatBytes, type Hex, parseHex } from "../encoding/hex.ts";
import { keccak256 } from "../encoding/keccak.ts";
import { fail, ok, type Verdict } from "../errors.ts";
import { addressOf } from "../receipt/receipt.ts";
import { formatEvidenceJson, type GpuEvidenceItem, parseEvidenceJson } from "./evidenceJson.ts";
import { bindingNonce } from "./keyBinding.ts";
import {
  type AttestationFailure,
  type AttestationResult,
  type Collateral,
  type VerifyOptions,
  verifyGpuEvidence,
} from "./verifyGpuEvidence.ts";

/** A registration bundle. */
export interface EvidenceBundle {
  readonly version: 1;
  /** Uncompressed secp256k1 public key (65 bytes). */
  readonly enclavePublicKey: Uint8Array;
  readonly challenge: Uint8Array;
  readonly gpus: readonly GpuEvidenceItem[];
  /** CPU TEE quote slot (always null until CPU quotes are verified). */
  readonly cpu: null;
}

/** Parses a bundle from JSON text. */
export function parseEvidenceBundle(text: string): Verdict<EvidenceBundle> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return fail("ATTESTATION_REPORT_MALFORMED", `the evidence bundle is not JSON: ${(e as Error).message}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return fail("ATTESTATION_REPORT_MALFORMED", "an evidence bundle is a JSON object");
  }
  const { version, enclavePublicKey, challenge, gpus, cpu, ...rest } = data as Record<string, unknown>;
  if (Object.keys(rest).length)
    return fail("ATTESTATION_REPORT_MALFORMED", `unknown bundle field "${Object.keys(rest)[0]}"`);
  if (version !== 1)
    return fail("ATTESTATION_REPORT_MALFORMED", `bundle version must be 1, got ${JSON.stringify(version)}`);
  if (cpu !== null && cpu !== undefined) {
    return fail(
      "ATTESTATION_CPU_QUOTE_UNSUPPORTED",
      "CPU TEE quotes (TDX, SEV-SNP) are not verified yet; remove the cpu field",
    );
  }
  const key = typeof enclavePublicKey === "string" ? parseHex(enclavePublicKey, 65) : null;
  if (!key?.ok || key.value[0] !== 4) {
    return fail(
      "ATTESTATION_REPORT_MALFORMED",
      "enclavePublicKey must be an uncompressed secp256k1 key (65 bytes of 0x hex)",
    );
  }
  const ch = typeof challenge === "string" ? parseHex(challenge, 32) : null;
  if (!ch?.ok) return fail("ATTESTATION_REPORT_MALFORMED", "challenge must be 32 bytes of 0x hex");
  const list = parseEvidenceJson(JSON.stringify(gpus ?? null));
  if (!list.ok) return list;
  return ok({ version: 1, enclavePublicKey: key.value, challenge: ch.value, gpus: list.value, cpu: null });
}

/** Writes a bundle as JSON text. */
export function formatEvidenceBundle(bundle: EvidenceBundle): string {
  return `${JSON.stringify(
    {
      version: 1,
      enclavePublicKey: bytesToHex(bundle.enclavePublicKey),
      challenge: bytesToHex(bundle.challenge),
      gpus: JSON.parse(formatEvidenceJson(bundle.gpus)),
      cpu: null,
    },
    null,
    2,
  )}\n`;
}

/** The attestation hash receipts name: keccak256 of the GPUs' reports, concatenated in bundle order. */
export function bundleAttestationHash(bundle: EvidenceBundle): Hex {
  return bytesToHex(keccak256(concatBytes(...bundle.gpus.map((g) => g.report))));
}

/** The outcome of verifying a bundle. */
export interface BundleResult {
  readonly overall: boolean;
  /** The worker's address (of its enclave key) and the hash its receipts must carry. */
  readonly worker: Hex;
  readonly attestationHash: Hex;
  readonly failures: readonly AttestationFailure[];
  readonly gpus: readonly AttestationResult[];
}

/**
 * Verifies every GPU of a bundle with nonce = keccak256(enclave key ‖ challenge). `expectedChallenge`
 * is the challenge this verifier issued; a bundle answering another challenge is a replay.
 */
export function verifyEvidenceBundle(
  bundle: EvidenceBundle,
  collateralFor: (gpu: GpuEvidenceItem) => Collateral,
  options: Omit<VerifyOptions, "expectedNonce"> & { readonly expectedChallenge: Uint8Array | null },
): BundleResult {
  const failures: AttestationFailure[] = [];
  if (options.expectedChallenge === null) {
    if (options.policy.requireNonce) {
      failures.push({
        claim: "key-binding",
        code: "ATTESTATION_KEY_BINDING_MISMATCH",
        message: "the policy requires the verifier's challenge and none was given",
      });
    }
  } else if (bytesToHex(options.expectedChallenge) !== bytesToHex(bundle.challenge)) {
    failures.push({
      claim: "key-binding",
      code: "ATTESTATION_KEY_BINDING_MISMATCH",
      message: `the bundle answers challenge ${bytesToHex(bundle.challenge)}, not ${bytesToHex(options.expectedChallenge)}`,
    });
  }
  const nonce = bindingNonce(bundle.enclavePublicKey, bundle.challenge);
  const gpus = bundle.gpus.map((gpu) =>
    verifyGpuEvidence(gpu, collateralFor(gpu), { ...options, expectedNonce: nonce }),
  );
  for (const [i, g] of gpus.entries())
    for (const f of g.failures) failures.push({ ...f, claim: `gpu ${i + 1}: ${f.claim}` });
  return {
    overall: failures.length === 0,
    worker: addressOf(bundle.enclavePublicKey),
    attestationHash: bundleAttestationHash(bundle),
    failures,
    gpus,
  };
}
