/**
 * The sequencer's state machine (docs/spec/otr.md §3.1), pure: admit a receipt whose stateless PoEA
 * checks passed (signature, registered + attested + staked worker, model, weights, engine — the shell
 * runs `checkReceipt`, in parallel if it likes) → the replay rule → a provisional-finality promise
 * (batch, position) → append to the open batch → seal it by count, bytes or age into a batch: its
 * ordered receipts, its OpenZeppelin-compatible root and its data-availability bytes. The gateway
 * answers the client with the promise before the batch is posted; posting is the shell's job.
 */
import { type Hex, hexToBytes } from "../encoding/hex.ts";
import { keccak256 } from "../encoding/keccak.ts";
import { fail, ok, type Verdict } from "../errors.ts";
import type { RollupParams } from "../params/otr.ts";
import type { SignedReceipt } from "../receipt/receipt.ts";
import { ReplayGuard } from "../receipt/replayGuard.ts";
import type { VerifiedReceipt } from "../receipt/verifyReceipt.ts";
import type { Hash32 } from "../verifiable/trace.ts";
import {
  BATCH_HEADER_BYTES,
  encodeBatchData,
  RECEIPT_DATA_BYTES,
  WORKER_ENTRY_BYTES,
  workerEntryKey,
} from "./batchData.ts";
import { BatchTree, receiptLeaf } from "./batchTree.ts";
import { admissible } from "./receiptAge.ts";

/** The sequencer's promise to a client: this receipt will be at `position` of batch `batch`. */
export interface ProvisionalFinality {
  readonly receiptDigest: Hex;
  readonly batch: number;
  readonly position: number;
  readonly admittedAt: number;
}

/** A sealed batch, ready to post. */
export interface SealedBatch {
  readonly index: number;
  readonly root: Hex;
  readonly count: number;
  /** The data-availability bytes (batchData.ts), which hash to the receipts and the root. */
  readonly data: Uint8Array;
  readonly receipts: readonly SignedReceipt[];
  readonly digests: readonly Hex[];
  readonly tree: BatchTree;
  readonly openedAt: number;
  readonly sealedAt: number;
  readonly reason: "count" | "bytes" | "age" | "flush";
}

/**
 * The sealing rule on its own (the simulator drives it with the same decisions): a batch holds at most
 * `maxBatchReceipts` receipts and `maxBatchBytes` of data (header, one worker-table entry per distinct
 * worker key, 257 bytes a receipt), and is sealed `maxBatchAgeMs` after its first receipt.
 */
export class BatchPolicy {
  private entries = new Set<string>();
  count = 0;
  bytes = BATCH_HEADER_BYTES;
  openedAt = 0;

  constructor(private readonly params: RollupParams) {}

  /** Whether a receipt with this worker key would take a non-empty batch over the byte limit. */
  overflows(entryKey: string): boolean {
    const added = RECEIPT_DATA_BYTES + (this.entries.has(entryKey) ? 0 : WORKER_ENTRY_BYTES);
    return this.count > 0 && this.bytes + added > this.params.maxBatchBytes;
  }

  /** Appends a receipt; returns its position. */
  append(entryKey: string, now: number): number {
    if (this.count === 0) this.openedAt = now;
    this.bytes += RECEIPT_DATA_BYTES + (this.entries.has(entryKey) ? 0 : WORKER_ENTRY_BYTES);
    this.entries.add(entryKey);
    return this.count++;
  }

  /** Whether the batch is full by count. */
  get full(): boolean {
    return this.count >= this.params.maxBatchReceipts;
  }

  /** Whether the open batch's first receipt has waited long enough. */
  expired(now: number): boolean {
    // Compared as a deadline (openedAt + age), the same sum a scheduler computes, so rounding agrees.
    return this.count > 0 && now >= this.sealDeadline;
  }

  /** When the open batch must be sealed by age. */
  get sealDeadline(): number {
    return this.openedAt + this.params.maxBatchAgeMs;
  }

  /** Starts the next batch. */
  reset(): void {
    this.entries = new Set();
    this.count = 0;
    this.bytes = BATCH_HEADER_BYTES;
  }
}

interface OpenBatch {
  receipts: SignedReceipt[];
  digests: Hex[];
  leaves: Uint8Array[];
}

/** The sequencer. State is kept here; every method is deterministic in its inputs (time included). */
export class Sequencer {
  private open: OpenBatch = { receipts: [], digests: [], leaves: [] };
  private readonly policy: BatchPolicy;
  private readonly replay: ReplayGuard<string>;
  /** Receipts already on chain by forced inclusion: never sequenced again. */
  private readonly forced = new Set<string>();

  constructor(
    private readonly params: RollupParams,
    replayWindow: number,
    private readonly hash: Hash32 = keccak256,
    private nextBatch = 0,
  ) {
    this.replay = new ReplayGuard(replayWindow);
    this.policy = new BatchPolicy(params);
  }

  /** The index the next sealed batch gets. */
  get nextIndex(): number {
    return this.nextBatch;
  }

  /** Receipts waiting in the open batch. */
  get pending(): number {
    return this.policy.count;
  }

  /**
   * Admits a receipt: `verified` is `checkReceipt`'s verdict on it. Returns the promise, and the batch
   * sealed by this admission, if any (a batch full by count seals after it, one full by bytes before it).
   */
  admit(
    signed: SignedReceipt,
    verified: Verdict<VerifiedReceipt>,
    now: number,
  ): Verdict<{ readonly promise: ProvisionalFinality; readonly sealed: SealedBatch | null }> {
    if (!verified.ok) return verified;
    const v = verified.value;
    if (this.forced.has(v.digest))
      return fail("RECEIPT_REPLAYED", `receipt ${v.digest} was already included by its client`, {
        digest: v.digest,
      });
    if (!admissible(signed.receipt.timestamp, now, this.params))
      return fail(
        "RECEIPT_STALE",
        `receipt ${v.digest} was signed at ${signed.receipt.timestamp} ms, more than half of ${this.params.maxReceiptAgeMs} ms before ${now}`,
        { digest: v.digest },
      );
    const replay = this.replay.accept(v.worker, v.sequence, v.requestId, v.digest);
    if (!replay.ok) return replay;
    let sealed: SealedBatch | null = null;
    const key = workerEntryKey(signed.receipt);
    if (this.policy.overflows(key)) sealed = this.seal(now, "bytes");
    const position = this.policy.append(key, now);
    const batch = this.open;
    batch.receipts.push(signed);
    batch.digests.push(v.digest);
    // The leaf is computed now, at admission, so sealing only builds the tree.
    batch.leaves.push(
      receiptLeaf(position, hexToBytes(v.digest, 32), this.hash(hexToBytes(signed.signature, 65)), this.hash),
    );
    const promise = { receiptDigest: v.digest, batch: this.nextBatch, position, admittedAt: now };
    if (this.policy.full) sealed = this.seal(now, "count");
    return ok({ promise, sealed });
  }

  /** Seals the open batch when its oldest receipt has waited `maxBatchAgeMs`. */
  tick(now: number): SealedBatch | null {
    return this.policy.expired(now) ? this.seal(now, "age") : null;
  }

  /** Seals whatever is open (shutting down). */
  flush(now: number): SealedBatch | null {
    return this.policy.count > 0 ? this.seal(now, "flush") : null;
  }

  /** Records a receipt its client included on chain itself, so that it is not sequenced again. */
  noteForced(digest: Hex): void {
    this.forced.add(digest.toLowerCase());
  }

  private seal(now: number, reason: SealedBatch["reason"]): SealedBatch {
    const b = this.open;
    const openedAt = this.policy.openedAt;
    this.open = { receipts: [], digests: [], leaves: [] };
    this.policy.reset();
    const tree = new BatchTree(b.leaves, this.hash);
    return {
      index: this.nextBatch++,
      root: tree.root,
      count: b.receipts.length,
      data: encodeBatchData(b.receipts),
      receipts: b.receipts,
      digests: b.digests,
      tree,
      openedAt,
      sealedAt: now,
      reason,
    };
  }
}

/** The leaf of a signed receipt at `position` (what anyone rebuilding a batch from its data computes). */
export function leafOfSigned(
  position: number,
  digest: Hex,
  signature: Hex,
  hash: Hash32 = keccak256,
): Uint8Array {
  return receiptLeaf(position, hexToBytes(digest, 32), hash(hexToBytes(signature, 65)), hash);
}
