/**
 * Receipt verification for the sequencer: the signature under the worker's registered enclave key,
 * then the PoEA checks (DESIGN.md): the worker is registered, attested and staked, the receipt names
 * the evidence the key was bound to, its model id and weights hash are the worker's registered model,
 * its engine measurement is allowed for that model, and its sequence number was not used before.
 *
 * Signature math sits behind {@link Secp256k1Backend}: the pure backend here (@noble), and a native
 * one in the shell (libsecp256k1 + native keccak) for the ≥ 10k/s path. Verification with the
 * registered public key avoids public-key recovery, which is slower; recovery is offered for tools.
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { bytesToHex, compareBytes, type Hex, hexToBytes, writeHex } from "../encoding/hex.ts";
import { keccak256 } from "../encoding/keccak.ts";
import { fail, ok, type Verdict } from "../errors.ts";
import { addressOf, type Receipt, receiptDigest, type SignedReceipt } from "./receipt.ts";
import type { ReplayGuard } from "./replayGuard.ts";

/** secp256k1 and keccak-256, pluggable. Signatures are 64-byte `r ‖ s`, keys 65-byte uncompressed. */
export interface Secp256k1Backend {
  readonly name: string;
  keccak256(data: Uint8Array): Uint8Array;
  recover(digest: Uint8Array, signature: Uint8Array, recoveryId: number): Uint8Array | null;
}

/** Pure-JS backend (@noble/curves, @noble/hashes). Low s is enforced by splitSignature, as Ethereum does. */
export const pureSecp256k1: Secp256k1Backend = {
  name: "pure-js",
  keccak256,
  recover(digest, signature, recoveryId) {
    try {
      const sig = new Uint8Array(65);
      sig[0] = recoveryId;
      sig.set(signature, 1);
      const compressed = secp256k1.recoverPublicKey(sig, digest, { prehash: false });
      return secp256k1.Point.fromBytes(compressed).toBytes(false);
    } catch {
      return null;
    }
  },
};

/**
 * Signs a 32-byte digest (an EIP-712 digest: a receipt's, an inclusion promise's) with a private key:
 * deterministic, low-s, `r ‖ s ‖ v` with v = 27 + recovery id — what `ecrecover` takes.
 */
export function signDigest(digest: Uint8Array, privateKey: Uint8Array): Hex {
  const recovered = secp256k1.sign(digest, privateKey, { prehash: false, format: "recovered" });
  const out = new Uint8Array(65);
  out.set(recovered.subarray(1), 0);
  out[64] = 27 + (recovered[0] as number);
  return bytesToHex(out);
}

/** Signs a receipt with an enclave private key (32 bytes). */
export function signReceipt(receipt: Receipt, privateKey: Uint8Array): SignedReceipt {
  return { receipt, signature: signDigest(receiptDigest(receipt), privateKey) };
}

/** secp256k1's group order n, halved: the largest `s` a signature may have. */
const HALF_ORDER = hexToBytes("0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0");

/**
 * Splits a 65-byte signature into `r ‖ s` and the recovery id, or null unless v is 27 or 28 and s is
 * low — exactly the signatures `ecrecover` behind OpenZeppelin's ECDSA accepts.
 */
export function splitSignature(signature: Hex): { rs: Uint8Array; recoveryId: number } | null {
  if (signature.length !== 132) return null;
  const bytes = new Uint8Array(65);
  try {
    writeHex(signature, bytes, 0);
  } catch {
    return null;
  }
  const v = bytes[64] as number;
  if (v !== 27 && v !== 28) return null;
  // Low s (EIP-2), as OpenZeppelin's ECDSA and so the contracts require: a valid signature's
  // high-s twin is refused everywhere, not accepted here and refused on chain.
  if (compareBytes(bytes.subarray(32, 64), HALF_ORDER) > 0) return null;
  return { rs: bytes.subarray(0, 64), recoveryId: v - 27 };
}

const SIGNATURE_FORM = "the signature's v must be 27 or 28 and its s in the lower half of the curve order";

/** Recovers the signer's address (what Solidity's `ecrecover` would return). */
export function recoverReceiptSigner(
  signed: SignedReceipt,
  backend: Secp256k1Backend = pureSecp256k1,
): Verdict<Hex> {
  const parts = splitSignature(signed.signature);
  if (!parts) return fail("RECEIPT_SIGNATURE_INVALID", SIGNATURE_FORM);
  const key = backend.recover(receiptDigest(signed.receipt, backend.keccak256), parts.rs, parts.recoveryId);
  if (!key) return fail("RECEIPT_SIGNATURE_INVALID", "no public key recovers from this signature");
  return ok(addressOf(key, backend.keccak256));
}

/** A registered worker. */
export interface WorkerEntry {
  readonly address: Hex;
  /** Uncompressed secp256k1 enclave public key (65 bytes). */
  readonly publicKey: Uint8Array;
  /** The worker's key was bound to accepted evidence (attestation verified at registration). */
  readonly attested: boolean;
  /** keccak256 of that evidence's report. */
  readonly attestationHash: Hex;
  readonly stake: bigint;
  readonly modelId: Hex;
  /**
   * The evidence before a re-attestation last changed it, and when (chain seconds): a receipt naming it
   * and signed before then is admissible (Registry.previousEvidence). Absent: never changed.
   */
  readonly previousEvidence?: { readonly attestationHash: Hex; readonly changedAt: number } | null;
}

/**
 * Whether a receipt names its worker's evidence before the last change, signed (by its own timestamp)
 * before that change: admissible, as it was when signed. Backdating gains a worker nothing its key
 * could not sign anyway, and a receipt older than the rollup's maxReceiptAge is stale.
 */
function signedUnderPreviousEvidence(r: Receipt, worker: WorkerEntry): boolean {
  const previous = worker.previousEvidence;
  return (
    !!previous &&
    previous.changedAt !== 0 &&
    r.attestationHash.toLowerCase() === previous.attestationHash &&
    r.timestamp < BigInt(previous.changedAt) * 1000n
  );
}

/** A registered model. */
export interface ModelEntry {
  readonly modelId: Hex;
  readonly weightsHash: Hex;
  /** Engine measurements allowed to serve it. */
  readonly engines: readonly Hex[];
  /**
   * The longest receipt (prompt + output − 1 positions) its dispute game accepts (the registry's
   * maxDisputePositions); null or absent: no limit, or no dispute game at all (a model without trace).
   */
  readonly disputablePositions?: number | null;
}

/** What the sequencer knows when it checks receipts. Addresses and hashes are lower-case. */
export interface RegistrySnapshot {
  readonly chainId: bigint;
  readonly settlement: Hex;
  readonly minStake: bigint;
  readonly workers: ReadonlyMap<string, WorkerEntry>;
  readonly models: ReadonlyMap<string, ModelEntry>;
}

/** A receipt that passed every stateless check. */
export interface VerifiedReceipt {
  readonly digest: Hex;
  readonly worker: Hex;
  readonly sequence: bigint;
  readonly requestId: Hex;
}

/**
 * Every check that does not depend on other receipts (a {@link ReplayGuard} checks replays).
 * Safe to run in parallel.
 */
export function checkReceipt(
  signed: SignedReceipt,
  registry: RegistrySnapshot,
  backend: Secp256k1Backend = pureSecp256k1,
): Verdict<VerifiedReceipt> {
  const r = signed.receipt;
  if (r.chainId !== registry.chainId || r.settlement.toLowerCase() !== registry.settlement) {
    return fail(
      "RECEIPT_DOMAIN_MISMATCH",
      `the receipt is for chain ${r.chainId} / ${r.settlement}, this network is ${registry.chainId} / ${registry.settlement}`,
    );
  }
  const worker = registry.workers.get(r.worker.toLowerCase());
  if (!worker) return fail("RECEIPT_WORKER_UNKNOWN", `worker ${r.worker} is not registered`);
  // Recover and compare, as the contracts' ecrecover does: a signature that verifies against the key
  // with the wrong v would pass `verify` here and fail on chain.
  const parts = splitSignature(signed.signature);
  const digest = receiptDigest(r, backend.keccak256);
  if (!parts) return fail("RECEIPT_SIGNATURE_INVALID", SIGNATURE_FORM);
  const key = backend.recover(digest, parts.rs, parts.recoveryId);
  if (!key || compareBytes(key, worker.publicKey) !== 0) {
    return fail(
      "RECEIPT_SIGNATURE_INVALID",
      `the signature does not recover to worker ${r.worker}'s enclave key`,
    );
  }
  if (!worker.attested)
    return fail("RECEIPT_WORKER_NOT_ATTESTED", `worker ${r.worker} has no accepted attestation`);
  if (r.attestationHash.toLowerCase() !== worker.attestationHash && !signedUnderPreviousEvidence(r, worker)) {
    return fail(
      "RECEIPT_ATTESTATION_MISMATCH",
      `the receipt names evidence ${r.attestationHash}, the worker registered ${worker.attestationHash}`,
    );
  }
  if (worker.stake < registry.minStake) {
    return fail(
      "RECEIPT_WORKER_UNSTAKED",
      `worker ${r.worker} stakes ${worker.stake}, the minimum is ${registry.minStake}`,
    );
  }
  const modelId = r.modelId.toLowerCase();
  const model = registry.models.get(modelId);
  if (modelId !== worker.modelId || !model || model.weightsHash !== r.weightsHash.toLowerCase()) {
    return fail(
      "RECEIPT_MODEL_MISMATCH",
      `the receipt claims model ${r.modelId} with weights ${r.weightsHash}; worker ${r.worker} is registered for ${worker.modelId}${model ? ` (weights ${model.weightsHash})` : ""}`,
    );
  }
  if (!model.engines.includes(r.engineHash.toLowerCase() as Hex)) {
    return fail(
      "RECEIPT_ENGINE_NOT_ALLOWED",
      `engine ${r.engineHash} is not allowed to serve model ${r.modelId}`,
    );
  }
  const positions = r.inputTokens + Math.max(r.outputTokens, 1) - 1;
  if (model.disputablePositions != null && positions > model.disputablePositions) {
    return fail(
      "RECEIPT_NOT_DISPUTABLE",
      `the receipt spans ${positions} positions; model ${r.modelId}'s dispute game accepts at most ${model.disputablePositions}`,
    );
  }
  return ok({
    digest: bytesToHex(digest),
    worker: r.worker.toLowerCase() as Hex,
    sequence: r.sequence,
    requestId: r.requestId.toLowerCase() as Hex,
  });
}

function isHex(v: unknown, bytes: number): v is string {
  return typeof v === "string" && v.length === 2 + 2 * bytes && /^0x[0-9a-fA-F]*$/.test(v);
}

/**
 * Parses a registry snapshot from JSON: `{ chainId, settlement, minStake, workers: [{ address,
 * publicKey, attested, attestationHash, stake, modelId, previousEvidence?: { attestationHash, changedAt }
 * }], models: [{ modelId, weightsHash, engines, disputablePositions? }] }`.
 * Each worker's address must be the address of its public key.
 */
export function parseRegistry(value: unknown): Verdict<RegistrySnapshot> {
  const problems: string[] = [];
  const v = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  const big = (x: unknown, name: string): bigint => {
    if (
      (typeof x === "number" && Number.isSafeInteger(x) && x >= 0) ||
      (typeof x === "string" && /^\d+$/.test(x))
    )
      return BigInt(x);
    problems.push(`${name} must be a non-negative integer`);
    return 0n;
  };
  const hex = (x: unknown, bytes: number, name: string): Hex => {
    if (isHex(x, bytes)) return x.toLowerCase() as Hex;
    problems.push(`${name} must be ${bytes} bytes of 0x hex`);
    return "0x";
  };
  const chainId = big(v.chainId, "chainId");
  const settlement = hex(v.settlement, 20, "settlement");
  const minStake = big(v.minStake ?? 0, "minStake");
  const previousEvidenceOf = (
    x: unknown,
    i: number,
  ): { readonly attestationHash: Hex; readonly changedAt: number } | null => {
    if (x === undefined || x === null) return null;
    const e = (typeof x === "object" ? x : {}) as Record<string, unknown>;
    return {
      attestationHash: hex(e.attestationHash, 32, `workers[${i}].previousEvidence.attestationHash`),
      changedAt: Number(big(e.changedAt, `workers[${i}].previousEvidence.changedAt`)),
    };
  };
  const workers = new Map<string, WorkerEntry>();
  for (const [i, w] of (Array.isArray(v.workers) ? v.workers : []).entries()) {
    const x = (w ?? {}) as Record<string, unknown>;
    const address = hex(x.address, 20, `workers[${i}].address`);
    const publicKeyHex = hex(x.publicKey, 65, `workers[${i}].publicKey`);
    const publicKey = publicKeyHex === "0x" ? new Uint8Array() : hexToBytes(publicKeyHex);
    if (publicKey.length === 65 && (publicKey[0] !== 4 || addressOf(publicKey) !== address)) {
      problems.push(`workers[${i}]: the address is not the address of the public key`);
    }
    workers.set(address, {
      address,
      publicKey,
      attested: x.attested === true,
      attestationHash: hex(x.attestationHash, 32, `workers[${i}].attestationHash`),
      stake: big(x.stake, `workers[${i}].stake`),
      modelId: hex(x.modelId, 32, `workers[${i}].modelId`),
      previousEvidence: previousEvidenceOf(x.previousEvidence, i),
    });
  }
  const models = new Map<string, ModelEntry>();
  for (const [i, m] of (Array.isArray(v.models) ? v.models : []).entries()) {
    const x = (m ?? {}) as Record<string, unknown>;
    const modelId = hex(x.modelId, 32, `models[${i}].modelId`);
    models.set(modelId, {
      modelId,
      weightsHash: hex(x.weightsHash, 32, `models[${i}].weightsHash`),
      engines: (Array.isArray(x.engines) ? x.engines : []).map((e, j) =>
        hex(e, 32, `models[${i}].engines[${j}]`),
      ),
      disputablePositions:
        x.disputablePositions === undefined || x.disputablePositions === null
          ? null
          : Number(big(x.disputablePositions, `models[${i}].disputablePositions`)),
    });
  }
  if (!Array.isArray(v.workers)) problems.push("workers must be a list");
  if (!Array.isArray(v.models)) problems.push("models must be a list");
  return problems.length
    ? fail("CONFIG_INVALID", `invalid registry: ${problems.join("; ")}`, { problems })
    : ok({ chainId, settlement, minStake, workers, models });
}
