/**
 * The sequencer's shell: records each batch the pure Sequencer seals, posts sealed batches to the
 * rollup in index order, marks the receipts a batch carried too late stale, and marks posted batches
 * final once their challenge window has closed on chain (in its `finalized` block, if so configured). It resumes from the store after a crash: a
 * batch already on chain (posted just before the crash) is recognised by its root and marked, never
 * posted twice; an RPC outage only delays posting.
 */
import type { Block, Hex } from "viem";
import { receiptOf, transactionOf } from "../../../chain/clients.ts";
import type { ChainClients } from "../../../chain/deploy.ts";
import type { CursorBlock } from "../../../chain/events.ts";
import { capped, type Fees, replacementFees } from "../../../chain/fees.ts";
import { rollupAbi } from "../../../chain/generated/contracts.ts";
import { batchInfo, rollupConstant } from "../../../chain/postedBatches.ts";
import { VerinferError } from "../../../errors.ts";
import { bytesToHex } from "../../../protocol/encoding/hex.ts";
import { encodeBatchData } from "../../../protocol/rollup/batchData.ts";
import { BatchTree } from "../../../protocol/rollup/batchTree.ts";
import { staleBefore } from "../../../protocol/rollup/receiptAge.ts";
import { leafOfSigned, type SealedBatch } from "../../../protocol/rollup/sequencer.ts";
import type { Logger } from "../../observability.ts";
import { Pass } from "../../pass.ts";
import { ResumePoint } from "../../resumePoint.ts";
import type { ReceiptStore, StoredBatch, StoredReceipt } from "../../store/receiptStore.ts";

/** A stored batch's tree, rebuilt from its receipts (and checked against the recorded root). */
export function storedBatchTree(
  store: ReceiptStore,
  index: number,
): { tree: BatchTree; receipts: StoredReceipt[] } {
  const batch = store.batch(index);
  if (!batch) throw new VerinferError("BATCH_STATUS_INVALID", `batch ${index} is not recorded`);
  const receipts = store.batchReceipts(index);
  const tree = new BatchTree(receipts.map((r, i) => leafOfSigned(i, r.digest, r.signed.signature)));
  if (tree.root.toLowerCase() !== batch.root.toLowerCase())
    throw new VerinferError("STORE_CORRUPT", `batch ${index}'s receipts do not rebuild its recorded root`);
  return { tree, receipts };
}

/** Which block of the chain decides that a batch's window has closed (`BatchPoster`'s `finality`). */
export type Finality = "latest" | "safe" | "finalized";

/** A batch transaction sent and not yet seen posted. */
interface InFlight {
  /** The latest send (a fee bump replaces it under the same nonce). */
  tx: Hex;
  fees: Fees;
  readonly nonce: number;
  readonly args: readonly [bigint, Hex, number, Hex];
  readonly gas: bigint;
  readonly count: number;
  readonly bytes: number;
  /** New blocks followed since it was sent (or last looked up) without its `BatchPosted` event. */
  blocksUnseen: number;
}

/** New blocks without its event after which a send is looked up (reverted, dropped, or still pending). */
const STALE_AFTER_BLOCKS = 5;

/** The longest a poster reading the head twice a block waits between reads (on chains of slow blocks). */
const MAX_HEAD_READ_MS = 3_000;

/**
 * Posted batches a pass reads from the chain on their first sight (in parallel): enough to follow any
 * posting rate, few enough that a restart with a window full of batches does not hold up posting.
 */
const FIRST_SIGHTS_PER_PASS = 32;

/** Unposted batches kept in memory for posting (an RPC outage beyond that reads them from the store). */
const MAX_UNPOSTED_IN_MEMORY = 256;

export class BatchPoster {
  /**
   * Where following the rollup's events resumes after a restart: after the last saved block, every
   * event up to which this store has applied (the effects are all durable; applying one again is
   * idempotent), or from the deployment's block on a chain that no longer holds that block.
   */
  private readonly resume: ResumePoint;
  private readonly pass: Pass;
  /** The block the last pass followed (its events applied, its time checked against the windows). */
  private followed: bigint | null = null;
  /**
   * Posted batches' window ends (chain seconds), fixed at posting: the challenge window is immutable.
   * A batch is here once its first sight has marked its stale receipts.
   */
  private readonly windowEnds = new Map<number, bigint>();
  /**
   * The data of batches sealed in this process and not yet posted, as the sequencer encoded it: posting
   * reads and re-checks the store only for batches sealed before a restart (or beyond this many).
   */
  private readonly unposted = new Map<number, { readonly data: Uint8Array; readonly count: number }>();
  /**
   * Batches sent to the rollup and not yet seen posted, in index order. A send is confirmed by the
   * rollup's own `BatchPosted` event, which the poster reads once per block anyway: no receipt polling.
   */
  private readonly sending = new Map<number, InFlight>();
  /** The index the next send posts (the rollup's batch count plus what is in flight); null until read. */
  private nextIndex: number | null = null;
  /**
   * The account's next nonce, counted here (the gateway's account sends nothing else while it runs):
   * with nonce, gas and fees given, a send is one `eth_sendRawTransaction`, not a fill and a send.
   * Null until read from the chain's pending count (after a restart or a failed send).
   */
  private nonce: number | null = null;
  /** The priority fee offered; null until read (again at each fee bump: the market may have moved). */
  private tip: bigint | null = null;
  /** The latest block a pass read, and when (performance.now()). */
  private head: Block | null = null;
  private headReadAt = Number.NEGATIVE_INFINITY;
  /** The chain's recent block time (ms; null until a second block), and when the last new head was read. */
  private blockMs: number | null = null;
  private newHeadAt: number | null = null;

  constructor(
    private readonly store: ReceiptStore,
    private readonly chain: ChainClients,
    private readonly rollup: Hex,
    private readonly logger: Logger,
    private readonly on: {
      /** Each batch this process posts (the gateway counts them in its metrics). */
      readonly posted: (index: number) => void;
      /** Each receipt a client forced in on chain (the sequencer must not sequence it again). */
      readonly forced: (digest: Hex) => void;
    },
    /** The first block with the rollup's events (the deployment's). */
    private readonly fromBlock: bigint,
    private readonly o: {
      /** The most a send offers per gas (wei): above it a batch waits; none, what the chain asks. */
      readonly maxFeePerGas?: bigint | undefined;
      /**
       * How often a step reads the chain's head: on every step (the default: tests drive the poster
       * block by block), or twice per block as the chain's own block times say, at least every 3 s (the
       * gateway: its 250 ms tick would read the head four times a second whatever the block time, some
       * 345,600 RPC calls a day on a chain with 12 s blocks, where 28,800 see each block within 3 s).
       */
      readonly headReads?: "every-step" | "twice-a-block" | undefined;
      /**
       * The block whose time closes windows: the head ("latest", the default), or the chain's `safe` or
       * `finalized` block, so that nothing marked final can leave the chain in a reorganisation.
       */
      readonly finality?: Finality | undefined;
    } = {},
  ) {
    this.resume = new ResumePoint(store.resumePoints, `rollup ${rollup.toLowerCase()}`, chain.public, logger);
    this.pass = new Pass(logger, "chain unavailable; will retry", async () => {
      await this.postSealed();
      // Events and chain time change only with a new block: the chain is followed once per block, and
      // its head read twice a block (or on every step).
      if (!this.headDue()) return;
      const head = await this.chain.public.getBlock();
      this.headReadAt = performance.now();
      this.learnBlockTime(head, this.headReadAt);
      this.head = head;
      if (head.number === this.followed) return;
      await this.followRollup(head as CursorBlock);
      await this.checkInFlight(head);
      const { posted, held } = await this.postedAndHeld();
      // A few at a time: after a restart every batch in its window is new to this process.
      const unseen = posted.filter((b) => !this.windowEnds.has(b.index)).slice(0, FIRST_SIGHTS_PER_PASS);
      await Promise.all(unseen.map((b) => this.firstSight(b.index)));
      const settled = await this.settledChain(head, posted, held);
      for (const b of posted) {
        const end = this.windowEnds.get(b.index);
        // Windows close in index order; a batch the settled chain does not hold (yet) is never final.
        if (end === undefined || settled.timestamp < end || b.index >= settled.held) break;
        this.store.markFinal(b.index);
        this.windowEnds.delete(b.index);
        this.logger.info({ batch: b.index }, "batch final");
      }
      this.followed = head.number;
      await this.resume.done(head.number + 1n);
    });
  }

  /**
   * The batches this gateway saw posted, and how many the chain holds (one call a block). Fewer than it
   * saw posted is a sign of a reorganisation that the event cursor's free checks have not noticed (a
   * soak run showed they can miss one; likely the soak's anvil reverting while it mined, not confirmed):
   * the cursor is then checked against the chain from its last block back, which rewinds it, and the
   * batches lost are sealed again.
   */
  private async postedAndHeld(): Promise<{ posted: StoredBatch[]; held: number }> {
    const read = async () => Number((await this.read("batchCount", [])) as bigint);
    const held = await read();
    const posted = this.store.batchesIn("posted");
    const last = posted.at(-1);
    if (!last || held > last.index) return { posted, held };
    const events = await this.resume.cursor(this.fromBlock);
    if (!(await events.recheck(this.chain))) return { posted, held };
    // Rewound: the batches the chain lost were sealed again.
    return { posted: this.store.batchesIn("posted"), held: await read() };
  }

  /**
   * The chain reorganised under blocks this poster read, from block `from` on (its event cursor noticed),
   * or this poster starts reading at `from` (an earlier process may have seen batches posted in blocks
   * the chain has lost since): it must still hold every batch this gateway saw posted. A posted batch it
   * no longer holds (a reorganisation deeper than the block its posting was in, or an RPC node that lost
   * blocks) is sealed again, its receipts with it, and posted again from the rollup's batch count: the
   * same root, since the store rebuilds the same data. Its events are read again from `from` (a posting the new chain
   * holds after all marks it posted again). A final batch the chain no longer holds is not handled: its
   * window had closed, and a reorganisation that deep is said as an error.
   */
  private async forgetRolledBack(from: bigint, reorganised: boolean): Promise<void> {
    const held = Number((await this.read("batchCount", [])) as bigint);
    const finalGone = this.store.batchesIn("final").filter((b) => b.index >= held);
    if (finalGone.length > 0)
      this.logger.error(
        { chainBatches: held, final: finalGone.map((b) => b.index) },
        "the chain no longer holds batches this gateway marked final (a reorganisation past their windows): not handled",
      );
    const gone = this.store.batchesIn("posted").filter((b) => b.index >= held);
    // After a reorganisation, sends in flight may wait on nonces the chain no longer holds (those of
    // transactions it lost): the next pass reads the batch count and the nonce again and sends from
    // there (a send that lands meanwhile marks its batch posted; one that comes after it reverts on its
    // index). At start, those of this pass followed the chain as it is.
    if (reorganised || gone.length > 0) {
      this.sending.clear();
      this.nextIndex = null;
      this.nonce = null;
    }
    if (gone.length === 0) return;
    for (const b of gone) {
      this.store.unpost(b.index);
      this.windowEnds.delete(b.index);
    }
    this.logger.warn(
      { chainBatches: held, batches: gone.map((b) => b.index), from: String(from) },
      "the chain no longer holds batches this gateway saw posted (reorganised): posting them again",
    );
  }

  /**
   * A batch seen posted (once per process): when its window ends, and which of its receipts it carried
   * too late to be checked or paid (stale; none unless posting was held up for about half the
   * rollup's `maxReceiptAge`, the other half being what the sequencer's admission leaves).
   */
  private async firstSight(index: number): Promise<void> {
    const [{ postedAt }, window, maxAge] = await Promise.all([
      batchInfo(this.chain, this.rollup, index),
      rollupConstant(this.chain, this.rollup, "challengeWindow"),
      rollupConstant(this.chain, this.rollup, "maxReceiptAge"),
    ]);
    const stale = this.store.markStale(index, staleBefore(postedAt * 1000, Number(maxAge) * 1000));
    if (stale > 0)
      this.logger.warn(
        { batch: index, stale },
        "receipts posted after the rollup's maxReceiptAge: stale, never checked nor paid",
      );
    this.windowEnds.set(index, BigInt(postedAt) + window);
  }

  /** Whether a step reads the head now (see `headReads`). */
  private headDue(): boolean {
    if (this.o.headReads !== "twice-a-block" || this.blockMs === null) return true;
    return performance.now() - this.headReadAt >= Math.min(MAX_HEAD_READ_MS, this.blockMs / 2);
  }

  /**
   * The chain's recent block time, as this process sees blocks arrive: a moving average of the time per
   * block between the reads that found new heads (by this clock: the reads are timed by it, and chain
   * timestamps are whole seconds, and run ahead of it on a dev chain that mined blocks at will).
   */
  private learnBlockTime(head: Block, now: number): void {
    const last = this.head;
    const blocks = last === null ? 0 : Number((head.number as bigint) - (last.number as bigint));
    if (last !== null && blocks <= 0) return;
    if (last !== null && this.newHeadAt !== null) {
      const ms = (now - this.newHeadAt) / blocks;
      this.blockMs = this.blockMs === null ? ms : 0.75 * this.blockMs + 0.25 * ms;
    }
    this.newHeadAt = now;
  }

  /** Records a batch the sequencer just sealed (synchronously, before anything else happens). */
  record(batch: SealedBatch): void {
    this.store.seal({
      index: batch.index,
      root: batch.root,
      requestIds: batch.receipts.map((r) => r.receipt.requestId),
    });
    if (this.unposted.size < MAX_UNPOSTED_IN_MEMORY)
      this.unposted.set(batch.index, { data: batch.data, count: batch.count });
    this.logger.info({ batch: batch.index, count: batch.count, reason: batch.reason }, "batch sealed");
  }

  /** Posts what is sealed and finalizes what is due; one pass at a time, errors logged and retried. */
  step(): Promise<void> {
    return this.pass.run();
  }

  /** Steps until every sealed batch is seen posted, or `timeoutMs` has passed (graceful shutdown). */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    do {
      await this.step();
      if (this.store.batchesIn("sealed").length === 0) return;
      await new Promise((wake) => setTimeout(wake, 100));
    } while (performance.now() < deadline);
    this.logger.warn(
      { sealed: this.store.batchesIn("sealed").map((b) => b.index) },
      "stopping with batches not yet seen posted; a restart posts or recognises them",
    );
  }

  /** Mirrors the rollup's dispute events into the receipts' statuses, and notes forced receipts. */
  private async followRollup(head: CursorBlock): Promise<void> {
    const events = await this.resume.cursor(this.fromBlock, (from, reorganised) =>
      this.forgetRolledBack(from, reorganised),
    );
    await events.each<{
      batch: bigint;
      position: number;
      voided?: boolean;
      digest?: Hex;
      index?: bigint;
      root?: Hex;
    }>(this.chain, { address: this.rollup, abi: rollupAbi, toBlock: head }, (log) => {
      if (log.eventName === "BatchPosted") {
        this.seenPosted(Number(log.args.index), log.args.root as Hex, log.transactionHash);
        return;
      }
      if (log.eventName === "ReceiptForced") {
        this.store.noteForced(log.args.digest as Hex);
        this.on.forced(log.args.digest as Hex);
        this.logger.info({ digest: log.args.digest }, "a client forced its receipt in");
        return;
      }
      const batch = Number(log.args.batch);
      if (log.eventName === "DisputeOpened" && this.store.markDisputed(batch, log.args.position))
        this.logger.warn({ batch, position: log.args.position }, "a receipt is disputed");
      if (
        log.eventName === "DisputeSettled" &&
        this.store.settleDispute(batch, log.args.position, log.args.voided === true)
      )
        this.logger.warn(
          { batch, position: log.args.position, voided: log.args.voided },
          "a dispute was settled",
        );
    });
  }

  private read(functionName: string, args: readonly unknown[], blockNumber?: bigint): Promise<unknown> {
    return this.chain.public.readContract({
      address: this.rollup,
      abi: rollupAbi,
      functionName,
      args,
      ...(blockNumber === undefined ? {} : { blockNumber }),
    } as never);
  }

  /**
   * The chain a batch's finality is judged on: its time, and how many batches it holds. The head's
   * (`finality` "latest") unless the chain's own `safe` or `finalized` block is asked for: a batch is
   * then final only once its window has closed in a block the chain will not reorganise away. Read only
   * when some posted batch's window has closed at the head.
   */
  private async settledChain(
    head: Block,
    posted: readonly StoredBatch[],
    held: number,
  ): Promise<{ timestamp: bigint; held: number }> {
    const finality = this.o.finality ?? "latest";
    if (finality === "latest") return { timestamp: head.timestamp, held };
    const first = posted[0] && this.windowEnds.get(posted[0].index);
    if (first === undefined || head.timestamp < first) return { timestamp: 0n, held: 0 };
    const block = await this.chain.public.getBlock({ blockTag: finality });
    return {
      timestamp: block.timestamp,
      held: Number((await this.read("batchCount", [], block.number as bigint)) as bigint),
    };
  }

  /**
   * Sends every sealed batch not yet in flight, in index order, without waiting a block between them:
   * the transactions go out back to back (consecutive nonces; gas given, since estimating batch i + 1
   * before batch i is mined would see the wrong index). One transaction per block would fall behind as
   * soon as batches are sealed faster than blocks come. Their `BatchPosted` events confirm them.
   */
  private async postSealed(): Promise<void> {
    const sealed = this.store.batchesIn("sealed").filter((b) => !this.sending.has(b.index));
    if (sealed.length === 0) return;
    let next = this.nextIndex;
    if (next === null) {
      // After a restart or a failed send: what the chain holds, and what is still in flight beyond it.
      next = Number((await this.read("batchCount", [])) as bigint);
      for (const index of this.sending.keys()) next = Math.max(next, index + 1);
    }
    let nonce =
      this.nonce ??
      (await this.chain.public.getTransactionCount({
        address: this.chain.wallet.account.address,
        blockTag: "pending",
      }));
    // Until this pass has sent all it meant to, a failure makes the next one read the chain again.
    this.nextIndex = null;
    this.nonce = null;
    // Fees from the last head read (a block old at most: twice its base fee leaves room for the next).
    const fees = await this.feesAt(this.head ?? (await this.chain.public.getBlock()));
    for (const { index, root } of sealed) {
      // Already on chain (sent before a restart, or by a send whose answer was lost): its `BatchPosted`
      // event, which this pass reads next, marks it ours, or stops the poster if the root is not.
      if (index < next) continue;
      // The chain holds fewer batches than this gateway saw posted: reorganised. Nothing after the gap can
      // be posted until the event cursor, or the batch count read each block, notices it and the batches
      // the chain lost are sealed again (`forgetRolledBack`).
      if (index > next) break;
      const { data, count } = this.unposted.get(index) ?? this.fromStore(index);
      const sent = {
        nonce,
        fees,
        args: [BigInt(index), root, count, bytesToHex(data)] as const,
        gas: 300_000n + 20n * BigInt(data.length),
        count,
        bytes: data.length,
        blocksUnseen: 0,
      };
      this.sending.set(index, { ...sent, tx: await this.send(sent) });
      next++;
      nonce++;
    }
    this.nextIndex = next;
    this.nonce = nonce;
  }

  /** Signs and sends a batch's `postBatch` with everything given: one RPC call. */
  private send(x: Omit<InFlight, "tx" | "count" | "bytes" | "blocksUnseen">): Promise<Hex> {
    return this.chain.wallet.writeContract({
      address: this.rollup,
      abi: rollupAbi,
      functionName: "postBatch",
      args: x.args,
      gas: x.gas,
      nonce: x.nonce,
      chainId: this.chain.chain.id,
      ...x.fees,
    } as never);
  }

  /**
   * Fees for a send now: twice the head's base fee plus the tip (a legacy chain's gas price), never
   * above the ceiling.
   */
  private async feesAt(head: Block): Promise<Fees> {
    if (head.baseFeePerGas === null)
      return capped({ gasPrice: await this.chain.public.getGasPrice() }, this.o.maxFeePerGas);
    this.tip ??= await this.chain.public.estimateMaxPriorityFeePerGas();
    return capped(
      { maxFeePerGas: 2n * head.baseFeePerGas + this.tip, maxPriorityFeePerGas: this.tip },
      this.o.maxFeePerGas,
    );
  }

  /**
   * Replaces every send in flight (same nonce, same call) with fees raised by an eighth at least, and to
   * what the head asks now: the oldest has waited too long, so the ones behind it wait on it too. With
   * `dropped`, the node no longer holds the oldest send: it goes out again under its nonce even at the
   * fee ceiling (there is nothing to outbid), and the ones behind it, which wait on its nonce, with it.
   */
  private async bumpFees(head: Block, dropped = false): Promise<void> {
    this.tip = null;
    const now = await this.feesAt(head);
    const oldest = this.sending.keys().next().value;
    for (const [index, sent] of this.sending) {
      const { fees, outbids } = replacementFees(sent.fees, now, this.o.maxFeePerGas);
      if (!outbids && !(dropped && index === oldest)) {
        // A replacement must pay more than the send it replaces, and the ceiling leaves no room.
        this.logger.warn(
          { batch: index, tx: sent.tx, maxFeePerGas: this.o.maxFeePerGas },
          "batch transaction pending at the fee ceiling; waiting",
        );
        sent.blocksUnseen = 0;
        continue;
      }
      try {
        const tx = await this.send({ ...sent, fees });
        this.logger.warn(
          { batch: index, replaced: sent.tx, tx, fees },
          outbids
            ? "batch transaction re-sent with higher fees"
            : "batch transaction re-sent at the fee ceiling",
        );
        Object.assign(sent, { tx, fees, blocksUnseen: 0 });
      } catch (error) {
        // Mined meanwhile (its nonce is used) or refused: its event, or the next look-up, settles it.
        this.logger.warn({ batch: index, err: (error as Error).message }, "fee bump not sent");
      }
    }
  }

  /**
   * A `BatchPosted` event: the batch is on chain, ours if the root is (the store keeps it once). After a
   * restart the events are read again from the last block whose events were all applied, so a batch
   * posted just before a crash is found here too.
   */
  private seenPosted(index: number, root: Hex, tx: Hex): void {
    const batch = this.store.batch(index);
    if (batch?.status !== "sealed") return; // already marked (re-read after a restart) or not ours
    if (batch.root.toLowerCase() !== root.toLowerCase())
      throw new Error(
        `batch ${index} on chain has root ${root}, ours is ${batch.root}: refusing to continue`,
      );
    const sent = this.sending.get(index);
    this.store.markPosted(index, tx);
    this.sending.delete(index);
    this.unposted.delete(index);
    if (!sent) {
      this.logger.info(
        { batch: index, tx },
        "batch found on chain (sent before a restart, or its send's answer was lost)",
      );
      return;
    }
    this.on.posted(index);
    this.logger.info({ batch: index, count: sent.count, bytes: sent.bytes, tx }, "batch posted");
  }

  /**
   * A send that no block has confirmed for a while is looked up. Still pending: every send in flight is
   * outbid. Dropped with its nonce unused: sent again under it. Reverted, or its nonce taken by another
   * transaction: everything in flight is forgotten and the next pass reads the batch count and nonce and
   * sends again from there (a stale send that still lands just reverts on its index).
   */
  private async checkInFlight(head: Block): Promise<void> {
    const oldest = this.sending.entries().next();
    if (oldest.done) return;
    const [index, sent] = oldest.value;
    sent.blocksUnseen++;
    if (sent.blocksUnseen < STALE_AFTER_BLOCKS) return;
    sent.blocksUnseen = 0;
    const mined = await receiptOf(this.chain, sent.tx);
    if (mined?.status === "success") return; // mined after `head`: its event comes with the next block
    // Not mined, but the node still holds it: pending.
    const pending = mined === null && (await transactionOf(this.chain, sent.tx)) !== null;
    if (pending) {
      this.logger.warn({ batch: index, tx: sent.tx, head: head.number }, "batch transaction still pending");
      await this.bumpFees(head);
      return;
    }
    // Dropped from the node's pool (evicted, or an anvil restarted), its nonce still unused: sent again
    // under that nonce. The sends behind it keep their nonces and go out again with it (the node may have
    // dropped them too; where it still holds one, the re-send outbids it).
    const used = mined
      ? null
      : await this.chain.public.getTransactionCount({ address: this.chain.wallet.account.address });
    if (used === sent.nonce) {
      this.logger.warn(
        { batch: index, tx: sent.tx, nonce: sent.nonce },
        "batch transaction dropped; sending it again under its nonce",
      );
      await this.bumpFees(head, true);
      return;
    }
    this.logger.warn(
      { batch: index, tx: sent.tx, outcome: mined ? "reverted" : "dropped" },
      "batch transaction failed; sending again",
    );
    this.sending.clear();
    this.nextIndex = null;
    this.nonce = null;
  }

  /** A batch sealed before a restart: its data re-encoded from the store, its root checked. */
  private fromStore(index: number): { data: Uint8Array; count: number } {
    const { receipts } = storedBatchTree(this.store, index);
    return { data: encodeBatchData(receipts.map((r) => r.signed)), count: receipts.length };
  }
}
