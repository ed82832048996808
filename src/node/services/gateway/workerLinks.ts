/**
 * The gateway's view of its workers: each one's identity (fetched from the worker, its address checked
 * against its public key), its registry facts read from the chain (stake, model, attestation, allowed
 * engine), its health and load — the registry snapshot the pure `checkReceipt` verifies receipts with,
 * and the routing rule: among healthy, registered, attested, staked workers of the requested model,
 * the fewest requests in flight per unit of stake, then the lowest recent latency.
 */
import type { Hex } from "viem";
import type { ChainClients } from "../../../chain/deploy.ts";
import type { DeploymentFile } from "../../../chain/deploymentFile.ts";
import { registryAbi } from "../../../chain/generated/contracts.ts";
import { VerinferError } from "../../../errors.ts";
import { parseRegistry, type RegistrySnapshot } from "../../../protocol/receipt/verifyReceipt.ts";
import type { Logger } from "../../observability.ts";
import type { WorkerIdentity } from "../worker/workerService.ts";

/** One worker as the gateway tracks it. */
export interface WorkerLink {
  readonly url: string;
  identity: WorkerIdentity | null;
  /** Active stake on chain (wei), 0 when unregistered. */
  stake: bigint;
  attested: boolean;
  healthy: boolean;
  inFlight: number;
  served: number;
  failed: number;
  /** Exponentially weighted generation latency (ms). */
  latencyMs: number;
}

export class WorkerLinks {
  readonly links: WorkerLink[];
  private snapshot: RegistrySnapshot | null = null;

  constructor(
    urls: readonly string[],
    private readonly chain: Pick<ChainClients, "public">,
    private readonly deployment: Pick<DeploymentFile, "chainId" | "registry" | "rollup">,
    private readonly logger: Logger,
  ) {
    this.links = urls.map((url) => ({
      url: url.replace(/\/$/, ""),
      identity: null,
      stake: 0n,
      attested: false,
      healthy: false,
      inFlight: 0,
      served: 0,
      failed: 0,
      latencyMs: 0,
    }));
  }

  /** The registry as last refreshed (receipts are checked against it). */
  get registry(): RegistrySnapshot {
    if (!this.snapshot)
      throw new VerinferError("WORKER_UNAVAILABLE", "the gateway has not read the registry yet");
    return this.snapshot;
  }

  /** Re-reads every worker's identity and health and the registry on chain. Never throws. */
  async refresh(nowMs: number): Promise<void> {
    const read = (functionName: string, args: readonly unknown[]) =>
      this.chain.public.readContract({
        address: this.deployment.registry,
        abi: registryAbi,
        functionName,
        args,
      } as never) as Promise<unknown>;
    const workers: unknown[] = [];
    const models = new Map<string, { modelId: Hex; weightsHash: Hex; engines: Hex[] }>();
    let minStake = 0n;
    try {
      minStake = (await read("minStake", [1n])) as bigint;
    } catch (e) {
      this.logger.warn({ err: (e as Error).message }, "cannot read the registry; keeping the last snapshot");
      return;
    }
    await Promise.all(
      this.links.map(async (link) => {
        try {
          const response = await fetch(`${link.url}/v1/identity`, { signal: AbortSignal.timeout(2000) });
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          link.identity = (await response.json()) as WorkerIdentity;
          link.healthy = true;
        } catch (e) {
          if (link.healthy)
            this.logger.warn({ worker: link.url, err: (e as Error).message }, "worker unreachable");
          link.healthy = false;
        }
        const id = link.identity;
        if (!id) return;
        try {
          const [, role, modelId, attestationHash, attestedUntil, active] = (await read("participant", [
            id.address,
          ])) as [Hex, number, Hex, Hex, bigint, bigint];
          link.stake = role === 1 ? active : 0n;
          link.attested = role === 1 && Number(attestedUntil) * 1000 > nowMs;
          if (role !== 1) return;
          const [weightsHash] = (await read("models", [modelId])) as [Hex, number, number, boolean];
          const engineAllowed = (await read("engineAllowed", [modelId, id.engineHash])) as boolean;
          const model = models.get(modelId) ?? { modelId, weightsHash, engines: [] };
          if (engineAllowed && !model.engines.includes(id.engineHash)) model.engines.push(id.engineHash);
          models.set(modelId, model);
          workers.push({
            address: id.address,
            publicKey: id.publicKey,
            attested: link.attested,
            attestationHash,
            stake: String(active),
            modelId,
          });
        } catch (e) {
          this.logger.warn(
            { worker: link.url, err: (e as Error).message },
            "cannot read the worker's registration",
          );
        }
      }),
    );
    const parsed = parseRegistry({
      chainId: String(this.deployment.chainId),
      settlement: this.deployment.rollup,
      minStake: String(minStake),
      workers,
      models: [...models.values()],
    });
    if (parsed.ok) this.snapshot = parsed.value;
    else
      this.logger.error({ err: parsed.error.message }, "a worker's identity does not match its registration");
  }

  /** The worker to send the next request for `modelName` to, or WORKER_UNAVAILABLE. */
  pick(modelName: string, exclude: ReadonlySet<string> = new Set()): WorkerLink {
    const minStake = this.snapshot?.minStake ?? 0n;
    const eligible = this.links.filter(
      (l) =>
        l.healthy &&
        l.identity?.modelName === modelName &&
        l.attested &&
        l.stake > 0n &&
        l.stake >= minStake &&
        !exclude.has(l.url),
    );
    if (eligible.length === 0)
      throw new VerinferError(
        "WORKER_UNAVAILABLE",
        `no healthy, registered, attested and staked worker serves ${modelName} now`,
        { model: modelName },
      );
    // Load per unit of stake (in whole tokens), then latency: more stake earns proportionally more traffic.
    const load = (l: WorkerLink) => (l.inFlight + 1) / Number(l.stake / 10n ** 18n || 1n);
    return eligible.reduce((best, l) =>
      load(l) < load(best) || (load(l) === load(best) && l.latencyMs < best.latencyMs) ? l : best,
    );
  }

  /** The model names the healthy workers serve. */
  servedModels(): string[] {
    return [...new Set(this.links.filter((l) => l.identity).map((l) => l.identity?.modelName as string))];
  }
}
