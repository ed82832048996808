/**
 * What the settlement contract tracks about batches (docs/spec/otr.md §3.3), as a pure state machine
 * the simulator, the nodes and the contracts' tests share: posted batches and their challenge windows,
 * receipts forced in by their clients, disputes opened against single receipts, receipts voided by a
 * lost dispute (the rest of their batch stays final), and the proof that a sequencer broke a
 * provisional-finality promise.
 */
import { bytesToHex, type Hex, hexToBytes } from "../encoding/hex.ts";
import { fail, ok, type Verdict } from "../errors.ts";
import { verifyMerkleProof } from "../merkle/merkleTree.ts";
import type { RollupParams } from "../params/otr.ts";
import type { Hash32 } from "../verifiable/trace.ts";
import { receiptLeaf } from "./batchTree.ts";
import type { ProvisionalFinality } from "./sequencer.ts";

/**
 * Receipts forced in by their clients are batches FORCED_BASE, FORCED_BASE + 1, …, apart from the
 * sequencer's 0, 1, …: a forced receipt never takes an index the sequencer has already promised
 * (Rollup.FORCED_BASE). Below 2^32, so every batch index fits the 4-byte batch field of revealed scores
 * (poq/networkEpoch.ts).
 */
export const FORCED_BASE = 2 ** 31;

/** A batch as posted on chain. */
export interface PostedBatch {
  readonly index: number;
  readonly root: Hex;
  readonly count: number;
  /** Where the batch's data is: a calldata transaction or a blob's versioned hash. */
  readonly dataPointer: { readonly kind: "calldata" | "blob" | "forced"; readonly ref: Hex };
  readonly postedAt: number;
  readonly poster: Hex;
}

/** Where a receipt stands. */
export type ReceiptStatus = "unknown" | "posted" | "disputed" | "final" | "voided";

/** The chain's view of the rollup. */
export class RollupState {
  private readonly batches = new Map<number, PostedBatch>();
  private sequenced = 0;
  private forced = 0;
  private readonly disputed = new Set<string>();
  private readonly voided = new Set<string>();

  constructor(private readonly params: RollupParams) {}

  /** A posted batch (the sequencer's or a forced receipt's), if any. */
  batch(index: number): PostedBatch | undefined {
    return this.batches.get(index);
  }

  /** Posts the sequencer's next batch. */
  post(batch: Omit<PostedBatch, "index" | "postedAt">, index: number, now: number): Verdict<PostedBatch> {
    if (index !== this.sequenced || index === FORCED_BASE)
      return fail("BATCH_UNKNOWN", `the next batch is ${this.sequenced}, not ${index}`, {
        expected: this.sequenced,
      });
    if (!(Number.isInteger(batch.count) && batch.count >= 1))
      return fail("BATCH_DATA_MALFORMED", `a batch holds at least one receipt, not ${batch.count}`);
    const posted = { ...batch, index, postedAt: now };
    this.batches.set(index, posted);
    this.sequenced++;
    return ok(posted);
  }

  /**
   * A client includes its own receipt (it verified the receipt's signature and registry facts like the
   * sequencer would): a batch of one, numbered from FORCED_BASE, with its own challenge window. The
   * sequencer must skip it.
   */
  forceInclude(root: Hex, client: Hex, now: number): PostedBatch {
    const posted: PostedBatch = {
      index: FORCED_BASE + this.forced++,
      root,
      count: 1,
      dataPointer: { kind: "forced", ref: root },
      postedAt: now,
      poster: client,
    };
    this.batches.set(posted.index, posted);
    return posted;
  }

  private key(batch: number, position: number): string {
    return `${batch}:${position}`;
  }

  /** When a batch's challenge window closes. */
  windowEnd(batch: number): number {
    const b = this.batches.get(batch);
    return b ? b.postedAt + this.params.challengeWindowMs : Number.POSITIVE_INFINITY;
  }

  /** A receipt's status at `now`. */
  status(batch: number, position: number, now: number): ReceiptStatus {
    const b = this.batches.get(batch);
    if (!b || position < 0 || position >= b.count) return "unknown";
    const k = this.key(batch, position);
    if (this.voided.has(k)) return "voided";
    if (this.disputed.has(k)) return "disputed";
    return now >= this.windowEnd(batch) ? "final" : "posted";
  }

  /** Opens a dispute against one receipt, inside its challenge window. */
  openDispute(batch: number, position: number, now: number): Verdict<null> {
    const s = this.status(batch, position, now);
    if (s === "unknown") return fail("BATCH_UNKNOWN", `batch ${batch} has no receipt at ${position}`);
    if (s !== "posted")
      return fail(
        "CHALLENGE_WINDOW_CLOSED",
        `receipt ${batch}:${position} is ${s}; disputes open while it is posted`,
        {
          status: s,
        },
      );
    this.disputed.add(this.key(batch, position));
    return ok(null);
  }

  /** Settles a receipt's dispute: voided when the trace's root claim was countered, else final again. */
  settleDispute(batch: number, position: number, rootCountered: boolean): void {
    const k = this.key(batch, position);
    this.disputed.delete(k);
    if (rootCountered) this.voided.add(k);
  }

  /**
   * Proves that a sequencer broke a promise: the posted batch has fewer receipts than the promised
   * position, or another receipt (`actual`, proven by its Merkle proof) at that position.
   */
  promiseBroken(
    promise: ProvisionalFinality,
    actual: { readonly digest: Hex; readonly signatureHash: Hex; readonly proof: readonly Hex[] } | null,
    hash: Hash32,
  ): Verdict<{ readonly reason: string }> {
    const b = this.batches.get(promise.batch);
    if (!b || promise.batch >= FORCED_BASE)
      return fail("BATCH_UNKNOWN", `batch ${promise.batch} has not been posted`);
    if (promise.position >= b.count)
      return ok({
        reason: `batch ${b.index} holds ${b.count} receipts, the promise says position ${promise.position}`,
      });
    if (!actual)
      return fail("RECEIPT_NOT_IN_BATCH", "show the receipt the batch holds at the promised position");
    const leaf = receiptLeaf(
      promise.position,
      hexToBytes(actual.digest, 32),
      hexToBytes(actual.signatureHash, 32),
      hash,
    );
    if (!verifyMerkleProof(b.root, bytesToHex(leaf), actual.proof))
      return fail(
        "RECEIPT_NOT_IN_BATCH",
        `the proof does not show ${actual.digest} at position ${promise.position}`,
      );
    return actual.digest.toLowerCase() === promise.receiptDigest.toLowerCase()
      ? fail(
          "SEQUENCER_PROMISE_KEPT",
          `batch ${b.index} holds ${promise.receiptDigest} at ${promise.position}`,
        )
      : ok({
          reason: `batch ${b.index} holds ${actual.digest} at position ${promise.position}, not the promised receipt`,
        });
  }
}
