/**
 * The attester's verdict on a worker's registration evidence under each policy: the dev TEE passes the
 * devnet policy under its pinned root and is refused by the production one; real H100 evidence is
 * verified against NVIDIA's pinned roots, and evidence collected for another key or challenge is
 * refused for its binding, however genuine the hardware. A worker serving collected evidence checks it
 * is its own before it starts.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { describe, expect, it } from "vitest";
import { writeDevEvidence } from "../attestation/devEvidence.ts";
import { loadTrustAnchors } from "../attestation/evidenceFiles.ts";
import {
  bundleAttestationHash,
  formatEvidenceBundle,
  parseEvidenceBundle,
} from "../protocol/attestation/evidenceBundle.ts";
import { parseEvidenceJson } from "../protocol/attestation/evidenceJson.ts";
import { bindingNonce } from "../protocol/attestation/keyBinding.ts";
import { bytesToHex, hexToBytes } from "../protocol/encoding/hex.ts";
import { keccakUtf8 } from "../protocol/encoding/keccak.ts";
import { itWithData } from "../testing/sharedData.ts";
import { thrownCode } from "../testing/thrownCode.ts";
import { attestWorkerEvidence, pinnedDevRoot, verifyWorkerEvidence } from "./attester.ts";
import { collectedAttestation, evidenceOf } from "./services/worker/workerService.ts";

const challenge = hexToBytes(keccakUtf8("an attester test network"), 32);
const enclavePublicKey = secp256k1.getPublicKey(hexToBytes(keccakUtf8("an enclave key"), 32), false);

function devEvidence() {
  const dir = mkdtempSync(join(tmpdir(), "verinfer-attester-"));
  writeDevEvidence(dir, { binding: { enclavePublicKey, challenge }, mode: 0, at: Date.now() });
  return {
    evidence: evidenceOf(dir),
    devRoot: pinnedDevRoot(readFileSync(join(dir, "dev-root.pem"), "utf8")),
  };
}

describe("attester policies", () => {
  it("accepts the dev TEE under the devnet policy and refuses it under the production one", () => {
    const { evidence, devRoot } = devEvidence();
    const at = Date.now();
    expect(attestWorkerEvidence(evidence, { challenge, devRoot, at }).worker).toMatch(/^0x[0-9a-f]{40}$/);
    expect(
      thrownCode(() => attestWorkerEvidence(evidence, { challenge, devRoot, at, policy: "production" })),
    ).toBe("ATTESTATION_DEV_TEE_REJECTED");
    // Evidence answering another network's challenge is a replay.
    const other = hexToBytes(keccakUtf8("another network"), 32);
    expect(thrownCode(() => attestWorkerEvidence(evidence, { challenge: other, devRoot, at }))).toBe(
      "ATTESTATION_KEY_BINDING_MISMATCH",
    );
    expect(thrownCode(() => verifyWorkerEvidence(evidence, { challenge, at }))).toBe("CONFIG_INVALID");
  });

  it("a worker serving collected evidence refuses to start without it, or with evidence for another key", () => {
    const dir = mkdtempSync(join(tmpdir(), "verinfer-collected-"));
    const nonce = bytesToHex(bindingNonce(enclavePublicKey, challenge));
    expect(() => collectedAttestation(dir, enclavePublicKey, challenge)).toThrow(nonce.slice(2));
    expect(thrownCode(() => collectedAttestation(dir, enclavePublicKey, challenge))).toBe("FILE_NOT_FOUND");
    writeDevEvidence(dir, { binding: { enclavePublicKey, challenge }, mode: 0, at: Date.now() });
    const bundle = parseEvidenceBundle(readFileSync(join(dir, "bundle.json"), "utf8"));
    if (!bundle.ok) throw new Error(bundle.error.message);
    expect(collectedAttestation(dir, enclavePublicKey, challenge)).toBe(bundleAttestationHash(bundle.value));
    const otherKey = secp256k1.getPublicKey(hexToBytes(keccakUtf8("another enclave key"), 32), false);
    expect(thrownCode(() => collectedAttestation(dir, otherKey, challenge))).toBe(
      "ATTESTATION_KEY_BINDING_MISMATCH",
    );
  });

  itWithData(
    "verifies real H100 evidence to NVIDIA's pinned roots and refuses it for a key it was not collected for",
    [
      "nvtrust/roots/verifier_device_root.pem",
      "nvtrust/roots/verifier_RIM_root.pem",
      "nvtrust/ppcie-8gpu/gpu_evidence.json",
    ],
    (deviceRoot, _rimRoot, gpus) => {
      const items = parseEvidenceJson(readFileSync(gpus, "utf8"));
      if (!items.ok) throw new Error(items.error.message);
      // A worker presenting a real GPU's evidence with its own key: the evidence's nonce was not
      // keccak256(this key ‖ this challenge), so the binding fails whatever else verifies.
      const bundle = formatEvidenceBundle({
        version: 1,
        enclavePublicKey,
        challenge,
        gpus: [items.value[0] as (typeof items.value)[number]],
        cpu: null,
      });
      const result = verifyWorkerEvidence(
        { bundle, collateral: { rims: [], ocsp: [] } },
        {
          challenge,
          nvidia: loadTrustAnchors(dirname(deviceRoot)),
          policy: "production",
          at: Date.UTC(2026, 10, 22),
        },
      );
      expect(result.overall).toBe(false);
      const codes = result.failures.map((f) => f.code);
      expect(codes).toContain("ATTESTATION_NONCE_MISMATCH");
      // The hardware itself checks out: its report's signature and its certificate chain to NVIDIA's root.
      expect(result.gpus[0]?.claims).toMatchObject({ "signature-verified": true });
      expect(
        codes.some((c) => c.startsWith("ATTESTATION_CHAIN_") || c === "ATTESTATION_SIGNATURE_INVALID"),
      ).toBe(false);
    },
  );
});
