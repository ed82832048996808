/**
 * Putting a worker on the registry (used by `verinfer devnet` and `verinfer node register`): the
 * network owner registers the model once; the attester fetches the worker's identity and evidence,
 * verifies the evidence (attester.ts) and signs a verdict; the worker's operator registers the worker
 * with it and deposits its stake.
 */
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { attesterVerdict, send } from "../chain/clients.ts";
import type { ChainClients, Deployment } from "../chain/deploy.ts";
import { registryAbi, verinferTokenAbi } from "../chain/generated/contracts.ts";
import { stakeState } from "../chain/stake.ts";
import { VerinferError } from "../errors.ts";
import { type AttesterOptions, attestWorkerEvidence } from "./attester.ts";
import {
  registrationChallenge,
  type WorkerEvidence,
  type WorkerIdentity,
} from "./services/worker/workerService.ts";

/** A worker's identity and evidence, fetched from it. */
export async function fetchWorker(
  url: string,
): Promise<{ identity: WorkerIdentity; evidence: WorkerEvidence }> {
  const get = async (path: string) => {
    const response = await fetch(`${url.replace(/\/$/, "")}${path}`, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok)
      throw new VerinferError("WORKER_UNAVAILABLE", `${url}${path} answered HTTP ${response.status}`);
    return response.json();
  };
  return {
    identity: (await get("/v1/identity")) as WorkerIdentity,
    evidence: (await get("/v1/evidence")) as WorkerEvidence,
  };
}

/** Registers the worker's model (owner), unless it is registered already; makes `attester` an attester. */
export async function registerModelOf(
  owner: ChainClients,
  d: Pick<Deployment, "registry">,
  identity: WorkerIdentity,
  attester: Hex,
): Promise<void> {
  const [, , , registered] = (await owner.public.readContract({
    address: d.registry,
    abi: registryAbi,
    functionName: "models",
    args: [identity.modelId],
  } as never)) as [Hex, number, number, boolean];
  if (!registered)
    await send(owner, d.registry, registryAbi, "registerModel", [
      identity.modelId,
      identity.weightsHash,
      identity.stepsPerPosition,
      identity.maxDisputePositions,
      [identity.engineHash],
    ]);
  await send(owner, d.registry, registryAbi, "setAttester", [attester, true]);
}

/**
 * Verifies the worker's evidence as the attester, signs the verdict (valid `validSeconds`), and
 * registers and stakes the worker as its operator. With `faucet` (the token owner, on a devnet) the
 * stake is minted to the operator first; otherwise the operator must hold it. A worker already
 * registered is re-attested instead (`Registry.reattest`: its evidence verified again now, a new
 * expiry; its stake untouched): attestations expire, and a worker past its expiry is routed nothing.
 */
export async function registerWorker(o: {
  readonly deployment: Deployment;
  readonly identity: WorkerIdentity;
  readonly evidence: WorkerEvidence;
  readonly operator: ChainClients;
  readonly attesterKey: Hex;
  /** What the attester pins and accepts (attester.ts). */
  readonly attest: Pick<AttesterOptions, "devRoot" | "nvidia" | "policy">;
  readonly stake: bigint;
  readonly validSeconds: bigint;
  readonly faucet?: ChainClients;
}): Promise<{ readonly reattested: boolean; readonly expiresAt: number }> {
  const d = o.deployment;
  const attested = attestWorkerEvidence(o.evidence, {
    challenge: registrationChallenge(d.chainId, d.registry),
    ...o.attest,
    at: Date.now(),
  });
  if (attested.worker !== o.identity.address || attested.attestationHash !== o.identity.attestationHash)
    throw new VerinferError(
      "ATTESTATION_KEY_BINDING_MISMATCH",
      `worker ${o.identity.address} presents the evidence of ${attested.worker}`,
    );
  const operator = o.operator.wallet.account.address;
  const registered = await stakeState(o.operator.public, d, attested.worker);
  if (registered.role !== "none" && registered.role !== "worker")
    throw new VerinferError("CONFIG_INVALID", `${attested.worker} is registered as a ${registered.role}`);
  if (registered.role === "worker" && registered.operator?.toLowerCase() !== operator.toLowerCase())
    throw new VerinferError(
      "CONFIG_INVALID",
      `worker ${attested.worker} is operated by ${registered.operator}, not by the key's ${operator}`,
    );
  const expiresAt = (await o.operator.public.getBlock()).timestamp + o.validSeconds;
  const verdict = await attesterVerdict(o.attesterKey, d, {
    worker: attested.worker,
    operator,
    modelId: o.identity.modelId,
    attestationHash: attested.attestationHash,
    expiresAt,
  });
  if (registered.role === "worker") {
    await send(o.operator, d.registry, registryAbi, "reattest", [
      attested.worker,
      attested.attestationHash,
      expiresAt,
      verdict,
    ]);
    return { reattested: true, expiresAt: Number(expiresAt) };
  }
  if (o.faucet) await send(o.faucet, d.token, verinferTokenAbi, "mint", [operator, o.stake]);
  await send(o.operator, d.token, verinferTokenAbi, "approve", [d.registry, o.stake]);
  await send(o.operator, d.registry, registryAbi, "registerWorker", [
    attested.worker,
    o.identity.modelId,
    attested.attestationHash,
    expiresAt,
    verdict,
  ]);
  await send(o.operator, d.registry, registryAbi, "deposit", [attested.worker, o.stake]);
  return { reattested: false, expiresAt: Number(expiresAt) };
}

/** The attester's address for its key. */
export const attesterAddress = (key: Hex): Hex => privateKeyToAccount(key).address;
