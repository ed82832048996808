/**
 * The gateway's view of its workers: each one's identity (fetched from the worker, its address checked
 * against its public key), its registry facts read from the chain (stake, model, attestation, allowed
 * engine), its health and load — the registry snapshot the pure `checkReceipt` verifies receipts with,
 * and the routing rule: among healthy, registered, attested, staked workers of the requested model
 * (attested for the evidence they present: a worker restarted with new evidence signs receipts naming
 * it, which no check admits until its operator has re-attested it),
 * a seeded random choice weighted by stake, by its PoQ quality and cost efficiency in the last settled
 * epoch (from the settler, when the gateway knows one), by how few requests each has in flight and by
 * its recent latency — more stake and better, cheaper answers earn proportionally more traffic, a busy
 * or slow worker less, and none is starved (a purely greedy rule would send all sequential traffic to
 * the fastest worker; a worker scored 0 keeps a tenth of its share, so it can be scored again).
 */
import type { Hex } from "viem";
import type { ChainClients } from "../../../chain/deploy.ts";
import type { DeploymentFile } from "../../../chain/deploymentFile.ts";
import { registryAbi } from "../../../chain/generated/contracts.ts";
import { VerinferError } from "../../../errors.ts";
import type { AttestationClaims, EvidenceKind } from "../../../protocol/attestation/verifyGpuEvidence.ts";
import { parseRegistry, type RegistrySnapshot } from "../../../protocol/receipt/verifyReceipt.ts";
import { deriveSeed } from "../../../protocol/rng/deriveSeed.ts";
import { createRng, type Rng } from "../../../protocol/rng/prng.ts";
import type { Logger } from "../../observability.ts";
import type { WorkerEvidence, WorkerIdentity } from "../worker/workerService.ts";

/** How long before a worker's attestation expires the gateway starts to warn of it. */
const EXPIRY_WARNING_MS = 3 * 86_400_000;

/** One worker as the gateway tracks it. */
export interface WorkerLink {
  readonly url: string;
  identity: WorkerIdentity | null;
  /** Active stake on chain (wei), 0 when unregistered. */
  stake: bigint;
  attested: boolean;
  /**
   * Whether the evidence it presents (its identity's attestation hash, which its receipts carry) is
   * the one its registration names.
   */
  evidenceRegistered: boolean;
  /** When its attestation on chain expires (seconds since the epoch); null before it is read. */
  attestedUntil: number | null;
  healthy: boolean;
  inFlight: number;
  served: number;
  failed: number;
  /** Exponentially weighted generation latency (ms). */
  latencyMs: number;
  /** PoQ quality (0–10) in the last settled epoch; null when unknown (no settler or no work yet). */
  quality: number | null;
  /** The epoch's cheapest cost per token over this worker's (0–1]; null when unknown. */
  efficiency: number | null;
  /** Its evidence as this gateway verified it (when it pins a dev root); null when not checked. */
  attestation: WorkerAttestation | null;
}

/** A worker's evidence, verified: the kind and every claim's verdict, per GPU. */
export interface WorkerAttestation {
  readonly attestationHash: Hex;
  readonly overall: boolean;
  readonly gpus: readonly { readonly kind: EvidenceKind; readonly claims: AttestationClaims }[];
  readonly failures: readonly string[];
}

/**
 * A worker's routing weight: stake (whole tokens) × (0.1 + 0.9 × quality / 10) × (0.1 + 0.9 ×
 * efficiency) / ((1 + requests in flight) × (1 + latency in s)); unknown quality or efficiency count
 * as the best.
 */
export function routingWeight(
  l: Pick<WorkerLink, "stake" | "inFlight" | "latencyMs" | "quality" | "efficiency">,
): number {
  const quality = 0.1 + 0.9 * Math.min(1, Math.max(0, (l.quality ?? 10) / 10));
  const efficiency = 0.1 + 0.9 * Math.min(1, Math.max(0, l.efficiency ?? 1));
  return (
    (Number(l.stake / 10n ** 18n || 1n) * quality * efficiency) /
    ((1 + l.inFlight) * (1 + l.latencyMs / 1000))
  );
}

/** What the registry says of one worker (role 1 is a worker; `model` only for one). */
interface RegistryFacts {
  readonly role: number;
  readonly modelId: Hex;
  readonly attestationHash: Hex;
  readonly attestedUntil: bigint;
  readonly active: bigint;
  /** The evidence before its last change, and when (chain seconds); null if never changed. */
  readonly previousEvidence: { readonly attestationHash: Hex; readonly changedAt: number } | null;
  readonly model: {
    readonly weightsHash: Hex;
    readonly steps: number;
    readonly maxPositions: number;
    readonly engineAllowed: boolean;
  } | null;
}

/** The most blocks whose registry events a refresh reads; beyond it the registry is read again whole. */
const MAX_EVENT_RANGE = 1_000n;

export class WorkerLinks {
  readonly links: WorkerLink[];
  private snapshot: RegistrySnapshot | null = null;
  /** The registry as read at `block`, per worker address and engine (promises: concurrent refreshes share a read). */
  private facts: {
    readonly block: bigint;
    readonly minStake: bigint;
    readonly workers: Map<string, Promise<RegistryFacts>>;
  } | null = null;
  private readonly rng: Rng;
  /** When each worker's coming attestation expiry was last warned of. */
  private readonly expiryWarned = new Map<string, number>();
  /** The evidence each worker presented when it was last warned of presenting unregistered evidence. */
  private readonly evidenceWarned = new Map<string, Hex>();
  /** Workers whose being unreachable is already logged (until they answer again). */
  private readonly saidUnreachable = new Set<string>();

  constructor(
    urls: readonly string[],
    private readonly chain: Pick<ChainClients, "public">,
    private readonly deployment: Pick<DeploymentFile, "chainId" | "registry" | "rollup">,
    private readonly logger: Logger,
    routingSeed = 0,
    /** A settler whose /v1/epochs gives each worker's PoQ quality and cost per token. */
    private readonly settler?: string,
    /** Verifies a worker's evidence (the attester's check), to show its claims. */
    private readonly attest?: (evidence: WorkerEvidence) => WorkerAttestation,
  ) {
    this.rng = createRng(deriveSeed(routingSeed, "gateway-routing"));
    this.links = urls.map((url) => ({
      url: url.replace(/\/$/, ""),
      identity: null,
      stake: 0n,
      attested: false,
      evidenceRegistered: false,
      attestedUntil: null,
      healthy: false,
      inFlight: 0,
      served: 0,
      failed: 0,
      latencyMs: 0,
      quality: null,
      efficiency: null,
      attestation: null,
    }));
  }

  /** Verifies a worker's evidence once per attestation it presents. */
  private async refreshAttestation(link: WorkerLink): Promise<void> {
    const id = link.identity;
    if (!this.attest || !id || link.attestation?.attestationHash === id.attestationHash) return;
    try {
      const response = await fetch(`${link.url}/v1/evidence`, { signal: AbortSignal.timeout(5000) });
      link.attestation = this.attest((await response.json()) as WorkerEvidence);
    } catch (e) {
      this.logger.warn(
        { worker: link.url, err: (e as Error).message },
        "cannot verify the worker's evidence",
      );
    }
  }

  /**
   * Warns, once a day per worker, from three days before its attestation expires: past it the worker
   * is routed nothing until its operator re-attests it (`verinfer node register`).
   */
  private warnOfExpiry(link: WorkerLink, nowMs: number): void {
    if (link.attestedUntil === null) return;
    const leftMs = link.attestedUntil * 1000 - nowMs;
    const last = this.expiryWarned.get(link.url);
    if (leftMs > EXPIRY_WARNING_MS || (last !== undefined && nowMs - last < 86_400_000)) return;
    this.expiryWarned.set(link.url, nowMs);
    this.logger.warn(
      { worker: link.url, attestedUntil: new Date(link.attestedUntil * 1000).toISOString() },
      leftMs > 0
        ? "the worker's attestation expires soon: its operator re-attests it with 'verinfer node register'"
        : "the worker's attestation has expired: it is routed nothing until its operator re-attests it with 'verinfer node register'",
    );
  }

  /**
   * Warns, once per evidence a worker presents, when its registration names other evidence (its operator
   * restarted it with new evidence and has not re-attested it yet).
   */
  private warnOfEvidence(link: WorkerLink, registered: Hex): void {
    const presented = link.identity?.attestationHash;
    if (link.evidenceRegistered || presented === undefined) {
      this.evidenceWarned.delete(link.url);
      return;
    }
    if (this.evidenceWarned.get(link.url) === presented) return;
    this.evidenceWarned.set(link.url, presented);
    this.logger.warn(
      { worker: link.url, presented, registered },
      "the worker presents evidence its registration does not name: it is routed nothing until its operator re-attests it with 'verinfer node register'",
    );
  }

  /** Each worker's quality and efficiency in the settler's latest epoch with work. */
  private async refreshQuality(): Promise<void> {
    if (!this.settler) return;
    try {
      const response = await fetch(`${this.settler}/v1/epochs?limit=1&work=true`, {
        signal: AbortSignal.timeout(2000),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const { epochs } = (await response.json()) as {
        epochs: { attribution: Record<string, { tokens: string; quality: number; costPerToken: number }> }[];
      };
      const latest = epochs.at(-1)?.attribution;
      if (!latest) return;
      // As attribution does: the cheapest among workers with verified work.
      const cheapest = Math.min(
        ...Object.values(latest)
          .filter((a) => BigInt(a.tokens) > 0n)
          .map((a) => a.costPerToken),
      );
      for (const link of this.links) {
        const a = link.identity ? latest[link.identity.address.toLowerCase()] : undefined;
        link.quality = a ? a.quality : null;
        link.efficiency = a && BigInt(a.tokens) > 0n ? cheapest / a.costPerToken : null;
      }
    } catch (e) {
      this.logger.warn({ err: (e as Error).message }, "cannot read the settler's epochs; routing as before");
    }
  }

  /** The registry as last refreshed (receipts are checked against it). */
  get registry(): RegistrySnapshot {
    if (!this.snapshot)
      throw new VerinferError("WORKER_UNAVAILABLE", "the gateway has not read the registry yet");
    return this.snapshot;
  }

  /**
   * Whether the registry emitted anything after block `from` up to `to`; over a long gap (a gateway that
   * could not reach the chain for a while, where an RPC provider would refuse the range) it is read again.
   */
  private async registryChanged(from: bigint, to: bigint): Promise<boolean> {
    if (to < from || to - from > MAX_EVENT_RANGE) return true;
    const logs = await this.chain.public.getLogs({
      address: this.deployment.registry,
      fromBlock: from + 1n,
      toBlock: to,
    });
    return logs.length > 0;
  }

  private read(functionName: string, args: readonly unknown[]): Promise<unknown> {
    return this.chain.public.readContract({
      address: this.deployment.registry,
      abi: registryAbi,
      functionName,
      args,
    } as never) as Promise<unknown>;
  }

  /** A registered worker's facts on chain (its registration, its model, whether its engine is allowed). */
  private async readFacts(address: Hex, engineHash: Hex): Promise<RegistryFacts> {
    const [, role, modelId, attestationHash, attestedUntil, active] = (await this.read("participant", [
      address,
    ])) as [Hex, number, Hex, Hex, bigint, bigint];
    if (role !== 1)
      return { role, modelId, attestationHash, attestedUntil, active, previousEvidence: null, model: null };
    const [[weightsHash, steps, maxPositions], engineAllowed, [previousHash, changedAt]] = (await Promise.all(
      [
        this.read("models", [modelId]),
        this.read("engineAllowed", [modelId, engineHash]),
        this.read("previousEvidence", [address]),
      ],
    )) as [[Hex, number, number, boolean], boolean, [Hex, bigint]];
    return {
      role,
      modelId,
      attestationHash,
      attestedUntil,
      active,
      previousEvidence:
        changedAt === 0n ? null : { attestationHash: previousHash, changedAt: Number(changedAt) },
      model: { weightsHash, steps, maxPositions, engineAllowed },
    };
  }

  /**
   * Re-reads every worker's identity and health, and the registry on chain when it changed: the chain
   * changes only with a block, so a refresh within the block it last read costs one call; a new block
   * costs one more, for the registry's events since, and the workers' registrations are read again only
   * if there are any (every change to what is read here emits one: registration, attestation, deposit,
   * unbonding, withdrawal, slash, model, engine). Without that, each new block cost four reads per
   * worker: on a fast chain with many workers, most of a gateway's RPC calls. Never throws.
   */
  async refresh(nowMs: number): Promise<void> {
    const workers: unknown[] = [];
    const models = new Map<
      string,
      { modelId: Hex; weightsHash: Hex; engines: Hex[]; disputablePositions: number | null }
    >();
    try {
      const block = await this.chain.public.getBlockNumber({ cacheTime: 0 });
      if (this.facts?.block !== block) {
        const last = this.facts;
        this.facts =
          last !== null && !(await this.registryChanged(last.block, block))
            ? { ...last, block }
            : { block, minStake: (await this.read("minStake", [1n])) as bigint, workers: new Map() };
      }
    } catch (e) {
      this.logger.warn({ err: (e as Error).message }, "cannot read the registry; keeping the last snapshot");
      return;
    }
    const facts = this.facts;
    const minStake = facts.minStake;
    await Promise.all(
      this.links.map(async (link) => {
        try {
          const response = await fetch(`${link.url}/v1/identity`, { signal: AbortSignal.timeout(2000) });
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          link.identity = (await response.json()) as WorkerIdentity;
          link.healthy = true;
          this.saidUnreachable.delete(link.url);
        } catch (e) {
          // Said once when a worker goes away, or was never reached (a wrong URL in the config); a healthy
          // worker is never in the set (an answer takes it out).
          if (!this.saidUnreachable.has(link.url))
            this.logger.warn({ worker: link.url, err: (e as Error).message }, "worker unreachable");
          this.saidUnreachable.add(link.url);
          link.healthy = false;
        }
        const id = link.identity;
        if (!id) return;
        await this.refreshAttestation(link);
        const key = `${id.address.toLowerCase()}:${id.engineHash.toLowerCase()}`;
        let read = facts.workers.get(key);
        if (!read) {
          read = this.readFacts(id.address, id.engineHash);
          facts.workers.set(key, read);
        }
        try {
          const {
            role,
            modelId,
            attestationHash,
            attestedUntil,
            active,
            previousEvidence,
            model: m,
          } = await read;
          link.stake = role === 1 ? active : 0n;
          // Attestations expire with time, not with a block: judged against the clock at every refresh.
          link.attested = role === 1 && Number(attestedUntil) * 1000 > nowMs;
          link.attestedUntil = role === 1 ? Number(attestedUntil) : null;
          link.evidenceRegistered =
            role === 1 && attestationHash.toLowerCase() === id.attestationHash.toLowerCase();
          this.warnOfExpiry(link, nowMs);
          if (role === 1) this.warnOfEvidence(link, attestationHash);
          if (!m) return;
          const { weightsHash, steps, maxPositions, engineAllowed } = m;
          // A model without steps per position has no dispute game, so no length limit either.
          const disputablePositions = steps > 0 ? maxPositions : null;
          const model = models.get(modelId) ?? { modelId, weightsHash, engines: [], disputablePositions };
          if (engineAllowed && !model.engines.includes(id.engineHash)) model.engines.push(id.engineHash);
          models.set(modelId, model);
          workers.push({
            address: id.address,
            publicKey: id.publicKey,
            attested: link.attested,
            attestationHash,
            stake: String(active),
            modelId,
            previousEvidence,
          });
        } catch (e) {
          facts.workers.delete(key); // read again at the next refresh
          this.logger.warn(
            { worker: link.url, err: (e as Error).message },
            "cannot read the worker's registration",
          );
        }
      }),
    );
    await this.refreshQuality();
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
        l.evidenceRegistered &&
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
    const weights = eligible.map(routingWeight);
    let u = this.rng.float() * weights.reduce((a, b) => a + b, 0);
    for (const [i, w] of weights.entries()) {
      u -= w;
      if (u < 0) return eligible[i] as WorkerLink;
    }
    return eligible[eligible.length - 1] as WorkerLink;
  }

  /** The model names the healthy workers serve. */
  servedModels(): string[] {
    return [...new Set(this.links.filter((l) => l.identity).map((l) => l.identity?.modelName as string))];
  }
}
