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

interface OpenBatch {
  receipts: SignedReceipt[];
  digests: Hex[];
  leaves: Uint8Array[];
  entries: Set<string>;
  bytes: number;
  openedAt: number;
}

/** The sequencer. State is kept here; every method is deterministic in its inputs (time included). */
export class Sequencer {
  private open: OpenBatch | null = null;
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
  }

  /** The index the next sealed batch gets. */
  get nextIndex(): number {
    return this.nextBatch;
  }

  /** Receipts waiting in the open batch. */
  get pending(): number {
    return this.open?.receipts.length ?? 0;
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
    const replay = this.replay.accept(v.worker, v.sequence, v.requestId, v.digest);
    if (!replay.ok) return replay;
    let sealed: SealedBatch | null = null;
    const key = workerEntryKey(signed.receipt);
    const added = RECEIPT_DATA_BYTES + (this.open?.entries.has(key) ? 0 : WORKER_ENTRY_BYTES);
    if (this.open && this.open.bytes + added > this.params.maxBatchBytes) sealed = this.seal(now, "bytes");
    this.open ??= {
      receipts: [],
      digests: [],
      leaves: [],
      entries: new Set(),
      bytes: BATCH_HEADER_BYTES,
      openedAt: now,
    };
    const batch = this.open;
    const position = batch.receipts.length;
    batch.bytes += RECEIPT_DATA_BYTES + (batch.entries.has(key) ? 0 : WORKER_ENTRY_BYTES);
    batch.entries.add(key);
    batch.receipts.push(signed);
    batch.digests.push(v.digest);
    // The leaf is computed now, at admission, so sealing only builds the tree.
    batch.leaves.push(
      receiptLeaf(position, hexToBytes(v.digest, 32), this.hash(hexToBytes(signed.signature, 65)), this.hash),
    );
    const promise = { receiptDigest: v.digest, batch: this.nextBatch, position, admittedAt: now };
    if (batch.receipts.length >= this.params.maxBatchReceipts) sealed = this.seal(now, "count");
    return ok({ promise, sealed });
  }

  /** Seals the open batch when its oldest receipt has waited `maxBatchAgeMs`. */
  tick(now: number): SealedBatch | null {
    return this.open && now - this.open.openedAt >= this.params.maxBatchAgeMs ? this.seal(now, "age") : null;
  }

  /** Seals whatever is open (shutting down). */
  flush(now: number): SealedBatch | null {
    return this.open ? this.seal(now, "flush") : null;
  }

  /** Records a receipt its client included on chain itself, so that it is not sequenced again. */
  noteForced(digest: Hex): void {
    this.forced.add(digest.toLowerCase());
  }

  private seal(now: number, reason: SealedBatch["reason"]): SealedBatch {
    const b = this.open as OpenBatch;
    this.open = null;
    const tree = new BatchTree(b.leaves, this.hash);
    return {
      index: this.nextBatch++,
      root: tree.root,
      count: b.receipts.length,
      data: encodeBatchData(b.receipts),
      receipts: b.receipts,
      digests: b.digests,
      tree,
      openedAt: b.openedAt,
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
