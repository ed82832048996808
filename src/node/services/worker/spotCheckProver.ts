/**
 * A worker meets its spot-check obligations (docs/spec/spotcheck.md): it watches SpotChecks for
 * obligations opened over its receipts (the receipt read from the `open` transaction's calldata),
 * regenerates that request's trace from the context it kept, proves the slice the obligation's
 * selector picks with the committed Groth16 setup on a worker thread, and submits the proof from its
 * operator account before the deadline.
 */
import type { Hex } from "viem";
import { send } from "../../../chain/clients.ts";
import type { ChainClients } from "../../../chain/deploy.ts";
import { type ContractLog, callOf } from "../../../chain/events.ts";
import { spotChecksAbi } from "../../../chain/generated/contracts.ts";
import { encodeSliceProof, selectedSlice } from "../../../chain/zkSpotChecks.ts";
import { fastKeccak256 } from "../../../crypto/nativeSecp256k1.ts";
import type { IntModel } from "../../../protocol/verifiable/intModel.ts";
import { verifiableGeneration } from "../../../protocol/verifiable/verifiableGeneration.ts";
import { SliceProver } from "../../../zk/prover.ts";
import { proofWords } from "../../../zk/solidityVerifier.ts";
import { Latest } from "../../latest.ts";
import type { Logger } from "../../observability.ts";
import { Pass } from "../../pass.ts";
import { REORG_DEPTH_BLOCKS } from "../../resolvedGames.ts";
import { ResumePoint } from "../../resumePoint.ts";
import type { KeptProof, WorkerStore } from "./workerStore.ts";

/** A proof made for an obligation, encoded for `prove`, and how long it took (ms). */
type Proof = { readonly bytes: Hex; readonly proveMs: number };

type OpenedLog = ContractLog<{
  batch: bigint;
  position: number;
  worker: Hex;
  selector: Hex;
  subject: unknown;
}>;

/** How many of the latest obligations met, and of the latest games resolved, a worker lists. */
export const RECENT_KEPT = 100;

/** SpotChecks.Status.Open. */
const OPEN = 1;

/** An opening event as the store keeps it (its big integers as decimal strings ending in "n"). */
const openedJson = (log: OpenedLog): string =>
  JSON.stringify(log, (_key, v) => (typeof v === "bigint" ? `${v}n` : v));
const openingOf = (json: string): OpenedLog =>
  JSON.parse(json, (_key, v) => (typeof v === "string" && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v));

export class SpotCheckProver {
  private readonly pass: Pass;
  private prover: SliceProver | null = null;
  /** The native keccak when it loads (the same hashes): regenerating a trace hashes every step. */
  private readonly keccak = fastKeccak256();
  /**
   * The latest obligations met (for /health and tests): batch, position and the milliseconds the proof
   * took; the latest {@link RECENT_KEPT} only (one in a hundred receipts is selected, for as long as
   * the worker runs).
   */
  readonly proven = new Latest<{ batch: number; position: number; proveMs: number }>(RECENT_KEPT);
  /** Obligations met since start. */
  provenTotal = 0;

  constructor(
    private readonly chain: ChainClients,
    private readonly spotChecks: Hex,
    private readonly worker: Hex,
    private readonly model: IntModel,
    private readonly store: WorkerStore,
    private readonly logger: Logger,
    /** The first block to look for obligations in (the deployment's), unless a saved resume point is later. */
    fromBlock: bigint,
  ) {
    const resume = new ResumePoint(
      store.resumePoints,
      `spotChecks ${spotChecks.toLowerCase()}`,
      chain.public,
      logger,
    );
    this.pass = new Pass(logger, "spot-check pass failed; will retry", async () => {
      // Each obligation is met within the pass that reads it: all before the cursor are done with.
      // After a reorganisation the obligations opened in the blocks the chain lost are read again from
      // the new chain.
      const opened = await resume.cursor(fromBlock);
      await opened.each<OpenedLog["args"]>(
        this.chain,
        { address: this.spotChecks, abi: spotChecksAbi, eventName: "ObligationOpened" },
        async (log) => {
          if (log.args.worker.toLowerCase() !== this.worker.toLowerCase()) return;
          // A proof lost meanwhile has the earlier deadline: it is sent again before the next is made
          // (a proof takes seconds, a pass of several of them tens of seconds).
          await this.meetAgainIfLost();
          await this.meet(log);
        },
      );
      await this.meetAgainIfLost();
      await resume.done(opened.next);
    });
  }

  /**
   * A proof mined in the last {@link REORG_DEPTH_BLOCKS} blocks may be taken off the chain by a
   * reorganisation, its obligation (opened earlier) still standing: each is read again (a call each),
   * and the proof sent again if the obligation is open with the same selection (one opened again with
   * another is a new opening, which the cursor meets). The cursor alone would not tell: a worker busy
   * proving, or restarted since, may have read no block the reorganisation replaced.
   */
  private async meetAgainIfLost(): Promise<void> {
    const head = await this.chain.public.getBlockNumber({ cacheTime: 0 });
    this.store.forgetProofsMinedBefore(head - REORG_DEPTH_BLOCKS);
    for (const kept of this.store.minedProofs()) {
      const log = openingOf(kept.opened);
      const { batch, position, selector } = log.args;
      const o = await this.obligation(batch, position);
      if (o.status !== OPEN) continue;
      if (o.selector.toLowerCase() !== selector.toLowerCase()) {
        this.store.forgetProof(kept.key);
        continue;
      }
      this.logger.warn(
        { batch: String(batch), position },
        "a spot-check proof is no longer on chain (reorganised): sending it again",
      );
      await this.meet(log, kept);
    }
  }

  private async obligation(
    batch: bigint,
    position: number,
  ): Promise<{ status: number; deadline: number; selector: Hex }> {
    return (await this.chain.public.readContract({
      address: this.spotChecks,
      abi: spotChecksAbi,
      functionName: "obligation",
      args: [batch, position],
    })) as { status: number; deadline: number; selector: Hex };
  }

  /** One pass: the obligations opened since the last one over our receipts are met. */
  step(): Promise<void> {
    return this.pass.run();
  }

  /**
   * Meets `log`'s obligation if it is open and due: with `lost`, sending again a proof a reorganisation
   * took off the chain; else with the proof kept from a send that failed, or one made now.
   */
  private async meet(log: OpenedLog, lost?: KeptProof): Promise<void> {
    const { batch, position, selector, subject } = log.args;
    // An obligation opened again after a reorganisation may select another slice.
    const key = `${batch}:${position}:${selector}`;
    // After a restart the cursor reads again what came after its last saved point: one no longer
    // open (proven, or slashed) or past its deadline is done with. Proving it again would revert and
    // fail every pass, and the obligations after it would go unproven.
    const o = await this.obligation(batch, position);
    if (o.status !== OPEN) {
      if (!this.store.keptProof(key)?.minedAt) this.store.forgetProof(key);
      return;
    }
    const missed = async () => {
      if ((await this.chain.public.getBlock()).timestamp < BigInt(o.deadline)) return false;
      this.store.forgetProof(key);
      this.logger.error(
        { batch: String(batch), position },
        "spot-check obligation missed: its deadline passed",
      );
      return true;
    };
    if (await missed()) return;
    // A proof whose send failed (the node dropped it, the RPC was lost, the worker restarted) is sent
    // again as made, not made again; so is one mined before, when its opening is read again.
    const kept = lost ?? this.store.keptProof(key);
    /** Whether this proof was made before (a send again), not now. */
    const madeBefore = kept !== undefined;
    if (kept && !lost)
      this.logger.warn(
        { batch: String(batch), position },
        kept.minedAt === null
          ? "spot-check proof not mined (its send was dropped or lost): sending it again"
          : "a spot-check proof is no longer on chain (reorganised): sending it again",
      );
    const made: Proof | null = kept ?? (await this.proofOf(log));
    if (!made) return;
    if (!kept) this.store.keepProof({ key, opened: openedJson(log), ...made, minedAt: null });
    try {
      await send(this.chain, this.spotChecks, spotChecksAbi, "prove", [batch, position, subject, made.bytes]);
    } catch (e) {
      // A proof that came too late is refused (ProofTooLate, or a mined revert that names nothing): the
      // obligation is missed for good, and the pass goes on to the next one.
      if (await missed()) return;
      throw e;
    }
    this.store.keepProof({
      key,
      opened: openedJson(log),
      bytes: made.bytes,
      proveMs: made.proveMs,
      minedAt: await this.chain.public.getBlockNumber({ cacheTime: 0 }),
    });
    this.proven.push({ batch: Number(batch), position, proveMs: made.proveMs });
    this.provenTotal++;
    this.logger.info(
      { batch: String(batch), position, proveMs: made.proveMs, madeBefore },
      "spot-check obligation proven",
    );
  }

  /** The proof for `log`'s obligation, encoded for `prove`; null (logged) without the receipt's context. */
  private async proofOf(log: OpenedLog): Promise<Proof | null> {
    const { batch, position, selector } = log.args;
    const call = await callOf(this.chain, spotChecksAbi, log.transactionHash);
    const r = call.args[2] as { requestId: Hex; outputTokens: number };
    const served = this.store.byRequestId(r.requestId);
    if (!served) {
      this.logger.error(
        { batch: String(batch), position },
        "obligation over a receipt not in the store: cannot prove",
      );
      return null;
    }
    const started = performance.now();
    const trace = verifiableGeneration(this.model, served.context, r.outputTokens, null, this.keccak);
    const { values } = selectedSlice(this.model, trace, selector);
    this.prover ??= await SliceProver.open();
    const proof = await this.prover.prove(values);
    const bytes = encodeSliceProof(this.model, trace, selector, {
      words: proofWords(proof.proof),
      commitment: proof.commitment,
    });
    return { bytes, proveMs: Math.round(performance.now() - started) };
  }

  async close(): Promise<void> {
    await this.prover?.close();
  }
}
