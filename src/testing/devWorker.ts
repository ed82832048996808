/**
 * One dev worker for the chain tests: its enclave key and address, its model, engine and evidence, its
 * receipts (deterministic per index) and the registry snapshot the TypeScript side checks them with.
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { registerDevWorker } from "../chain/clients.ts";
import type { ChainClients, Deployment } from "../chain/deploy.ts";
import type { WorkerIdentity } from "../node/services/worker/workerService.ts";
import { bytesToHex, type Hex } from "../protocol/encoding/hex.ts";
import { keccak256, keccakUtf8 } from "../protocol/encoding/keccak.ts";
import { addressOf, type Receipt } from "../protocol/receipt/receipt.ts";
import { parseRegistry, type RegistrySnapshot } from "../protocol/receipt/verifyReceipt.ts";

export const ENCLAVE_KEY = keccak256(Uint8Array.of(42));
export const WORKER = addressOf(secp256k1.getPublicKey(ENCLAVE_KEY, false));
export const MODEL = keccakUtf8("model");
export const WEIGHTS = keccakUtf8("weights");
export const ENGINE = keccakUtf8("engine");
export const EVIDENCE = keccakUtf8("evidence");

/** What the dev worker says at `/v1/identity`, presenting the evidence `attestationHash`. */
export function devWorkerIdentity(attestationHash: Hex = EVIDENCE): Partial<WorkerIdentity> {
  return {
    address: WORKER,
    publicKey: bytesToHex(secp256k1.getPublicKey(ENCLAVE_KEY, false)),
    modelName: "verinfer-tiny",
    modelId: MODEL,
    weightsHash: WEIGHTS,
    engineHash: ENGINE,
    attestationHash,
  };
}

/** The worker's receipt number `i` for a chain and settlement contract (fields overridable). */
export function devReceipt(
  i: number,
  chainId: bigint,
  settlement: Hex,
  fields: Partial<Receipt> = {},
): Receipt {
  return {
    version: 1,
    chainId,
    settlement,
    requestId: keccakUtf8(`request ${i}`),
    worker: WORKER,
    modelId: MODEL,
    weightsHash: WEIGHTS,
    engineHash: ENGINE,
    promptHash: keccakUtf8(`prompt ${i}`),
    paramsHash: keccakUtf8(`params ${i}`),
    outputHash: keccakUtf8(`output ${i}`),
    traceRoot: keccakUtf8(`trace ${i}`),
    inputTokens: i % 4096,
    outputTokens: (i * 7) % 4096,
    latencyMs: i % 100_000,
    timestamp: 1_800_000_000_000n + BigInt(i),
    sequence: BigInt(i + 1),
    attestationHash: EVIDENCE,
    ...fields,
  };
}

/** The registry as the TypeScript sequencer sees the worker: `stake` against `minStake`. */
export function devRegistry(
  chainId: bigint,
  settlement: Hex,
  stake: bigint,
  minStake: bigint,
  attested = true,
  weightsHash: Hex = WEIGHTS,
  disputablePositions: number | null = null,
): RegistrySnapshot {
  const r = parseRegistry({
    chainId: String(chainId),
    settlement,
    minStake: String(minStake),
    workers: [
      {
        address: WORKER,
        publicKey: bytesToHex(secp256k1.getPublicKey(ENCLAVE_KEY, false)),
        attested,
        attestationHash: EVIDENCE,
        stake: String(stake),
        modelId: MODEL,
      },
    ],
    models: [{ modelId: MODEL, weightsHash, engines: [ENGINE], disputablePositions }],
  });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

/**
 * Registers the model and this worker on chain (operated by the clients' account), with an attester
 * verdict valid for `validSeconds`, staked with `stake`.
 */
export function registerTheDevWorker(
  c: ChainClients,
  d: Deployment,
  attesterKey: Hex,
  o: {
    readonly stake: bigint;
    readonly validSeconds: bigint;
    readonly stepsPerPosition: number;
    /** The model's commitment (a verifiable model's root; a stand-in by default). */
    readonly weightsHash?: Hex;
    readonly maxDisputePositions?: number;
  },
): Promise<void> {
  return registerDevWorker(
    c,
    d,
    {
      modelId: MODEL,
      weightsHash: o.weightsHash ?? WEIGHTS,
      stepsPerPosition: o.stepsPerPosition,
      ...(o.maxDisputePositions === undefined ? {} : { maxDisputePositions: o.maxDisputePositions }),
      engines: [ENGINE],
    },
    attesterKey,
    { worker: WORKER, attestationHash: EVIDENCE, stake: o.stake, validSeconds: o.validSeconds },
  );
}
