/**
 * The sequencer's shell: records each batch the pure Sequencer seals, posts sealed batches to the
 * rollup in index order, and marks posted batches final once their challenge window has closed on
 * chain. It resumes from the store after a crash: a batch already on chain (posted just before the
 * crash) is recognised by its root and marked, never posted twice; an RPC outage only delays posting.
 */
import type { Hex } from "viem";
import type { ChainClients } from "../../../chain/deploy.ts";
import { EventCursor } from "../../../chain/events.ts";
import { rollupAbi } from "../../../chain/generated/contracts.ts";
import { postingLog } from "../../../chain/postedBatches.ts";
import { VerinferError } from "../../../errors.ts";
import { bytesToHex } from "../../../protocol/encoding/hex.ts";
import { encodeBatchData } from "../../../protocol/rollup/batchData.ts";
import { BatchTree } from "../../../protocol/rollup/batchTree.ts";
import { leafOfSigned, type SealedBatch } from "../../../protocol/rollup/sequencer.ts";
import type { Logger } from "../../observability.ts";
import { Pass } from "../../pass.ts";
import type { ReceiptStore, StoredReceipt } from "../../store/receiptStore.ts";

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

/** Unposted batches kept in memory for posting (an RPC outage beyond that reads them from the store). */
const MAX_UNPOSTED_IN_MEMORY = 256;

export class BatchPoster {
  /** The rollup's events (read from the deployment's block after a restart: applying them is idempotent). */
  private readonly rollupEvents: EventCursor;
  private readonly pass: Pass;
  /** The block the last pass followed (its events applied, its time checked against the windows). */
  private followed: bigint | null = null;
  /** Posted batches' window ends (chain seconds), fixed at posting: the challenge window is immutable. */
  private readonly windowEnds = new Map<number, bigint>();
  /**
   * The data of batches sealed in this process and not yet posted, as the sequencer encoded it: posting
   * reads and re-checks the store only for batches sealed before a restart (or beyond this many).
   */
  private readonly unposted = new Map<number, { readonly data: Uint8Array; readonly count: number }>();
  /** The rollup's batch count as of this process's last posting; null until read (and after a failure). */
  private batchesOnChain: number | null = null;

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
    fromBlock: bigint,
  ) {
    this.rollupEvents = new EventCursor(fromBlock);
    this.pass = new Pass(logger, "chain unavailable; will retry", async () => {
      await this.postSealed();
      // Events and chain time change only with a new block: the chain is followed once per block, not
      // on every tick (one RPC call per idle tick instead of four).
      const head = await this.chain.public.getBlock();
      if (head.number === this.followed) return;
      await this.followRollup(head.number);
      for (const b of this.store.batchesIn("posted")) {
        let end = this.windowEnds.get(b.index);
        if (end === undefined) {
          end = (await this.read("windowEnd", [BigInt(b.index)])) as bigint;
          this.windowEnds.set(b.index, end);
        }
        if (head.timestamp < end) break; // windows close in index order
        this.store.markFinal(b.index);
        this.windowEnds.delete(b.index);
        this.logger.info({ batch: b.index }, "batch final");
      }
      this.followed = head.number;
    });
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

  /** Mirrors the rollup's dispute events into the receipts' statuses, and notes forced receipts. */
  private async followRollup(head: bigint): Promise<void> {
    await this.rollupEvents.each<{ batch: bigint; position: number; voided?: boolean; digest?: Hex }>(
      this.chain,
      { address: this.rollup, abi: rollupAbi, toBlock: head },
      (log) => {
        if (log.eventName === "ReceiptForced") {
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
      },
    );
  }

  private read(functionName: string, args: readonly unknown[]): Promise<unknown> {
    return this.chain.public.readContract({
      address: this.rollup,
      abi: rollupAbi,
      functionName,
      args,
    } as never);
  }

  /**
   * Posts every sealed batch, in index order, without waiting a block between them: the transactions
   * go out back to back (consecutive nonces; gas given, since estimating batch i + 1 before batch i is
   * mined would see the wrong index), then each is confirmed in turn. One transaction per block would
   * fall behind as soon as batches are sealed faster than blocks come.
   */
  private async postSealed(): Promise<void> {
    const sealed = this.store.batchesIn("sealed");
    if (sealed.length === 0) return;
    // A failed pass may have left a transaction unconfirmed: the count is read again after one.
    let onChain = this.batchesOnChain ?? Number((await this.read("batchCount", [])) as bigint);
    this.batchesOnChain = null;
    const sent: { index: number; tx: Hex; count: number; bytes: number }[] = [];
    for (const { index, root } of sealed) {
      if (index < onChain) {
        await this.recognise(index, root);
        continue;
      }
      if (index > onChain)
        throw new Error(`batch ${index} is sealed but the chain holds only ${onChain} batches`);
      const { data, count } = this.unposted.get(index) ?? this.fromStore(index);
      const tx = await this.chain.wallet.writeContract({
        address: this.rollup,
        abi: rollupAbi,
        functionName: "postBatch",
        args: [BigInt(index), root, count, bytesToHex(data)],
        gas: 300_000n + 20n * BigInt(data.length),
      } as never);
      sent.push({ index, tx, count, bytes: data.length });
      onChain++;
    }
    for (const s of sent) {
      const mined = await this.chain.public.waitForTransactionReceipt({ hash: s.tx });
      if (mined.status !== "success") throw new Error(`postBatch of batch ${s.index} reverted in ${s.tx}`);
      this.store.markPosted(s.index, s.tx);
      this.unposted.delete(s.index);
      this.on.posted(s.index);
      this.logger.info({ batch: s.index, count: s.count, bytes: s.bytes, tx: s.tx }, "batch posted");
    }
    this.batchesOnChain = onChain;
  }

  /** A batch sealed before a restart: its data re-encoded from the store, its root checked. */
  private fromStore(index: number): { data: Uint8Array; count: number } {
    const { receipts } = storedBatchTree(this.store, index);
    return { data: encodeBatchData(receipts.map((r) => r.signed)), count: receipts.length };
  }

  /** A batch posted before a crash (or by a send whose receipt was lost): the same root is ours. */
  private async recognise(index: number, root: Hex): Promise<void> {
    const existing = (await this.read("batch", [BigInt(index)])) as { root: Hex };
    if (existing.root.toLowerCase() !== root.toLowerCase())
      throw new Error(
        `batch ${index} on chain has root ${existing.root}, ours is ${root}: refusing to continue`,
      );
    const tx =
      (await postingLog(this.chain, this.rollup, index))?.transactionHash ?? (`0x${"0".repeat(64)}` as Hex);
    this.store.markPosted(index, tx);
    this.unposted.delete(index);
    this.logger.info({ batch: index, tx }, "batch found on chain (posted before a restart)");
  }
}
