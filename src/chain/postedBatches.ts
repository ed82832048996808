/**
 * What the nodes that follow the rollup read from the chain: a posted batch's facts and its receipts
 * (from the posting transaction's calldata), the evaluators registered when it was posted and the seed
 * that samples them, the score clock of ScoreCommits and an epoch's revealed scores.
 */
import type { Hex } from "viem";
import { bytesToHex, hexToBytes } from "../protocol/encoding/hex.ts";
import { decodeScores, evaluatorSeed, type ReceiptScore } from "../protocol/poq/networkEpoch.ts";
import { type Receipt, receiptDigest, type SignedReceipt } from "../protocol/receipt/receipt.ts";
import { decodeBatchData } from "../protocol/rollup/batchData.ts";
import { BatchTree } from "../protocol/rollup/batchTree.ts";
import { receiptStale } from "../protocol/rollup/receiptAge.ts";
import { FORCED_BASE } from "../protocol/rollup/rollupState.ts";
import { leafOfSigned } from "../protocol/rollup/sequencer.ts";
import type { ChainClients } from "./deploy.ts";
import { callOf, EventCursor, hashAt } from "./events.ts";
import { registryAbi, rollupAbi, scoreCommitsAbi } from "./generated/contracts.ts";
import { contractEvents } from "./logs.ts";

type Reader = Pick<ChainClients, "public">;

/** A batch's on-chain record (Rollup.batch). */
export interface BatchInfo {
  readonly root: Hex;
  readonly count: number;
  /** 0 calldata, 1 blobs, 2 a forced receipt. */
  readonly kind: number;
  /** Chain time (seconds) and block of its posting. */
  readonly postedAt: number;
  readonly postedBlock: bigint;
}

export async function batchInfo(c: Reader, rollup: Hex, index: number): Promise<BatchInfo> {
  const b = (await c.public.readContract({
    address: rollup,
    abi: rollupAbi,
    functionName: "batch",
    args: [BigInt(index)],
  })) as { root: Hex; count: number; kind: number; postedAt: bigint; postedBlock: bigint };
  return {
    root: b.root,
    count: b.count,
    kind: b.kind,
    postedAt: Number(b.postedAt),
    postedBlock: b.postedBlock,
  };
}

/** How many batches the sequencer posted (0, 1, …) and clients forced in (FORCED_BASE, …). */
export interface BatchCounts {
  readonly sequenced: number;
  readonly forced: number;
}

export async function batchCounts(c: Reader, rollup: Hex): Promise<BatchCounts> {
  const read = async (functionName: "batchCount" | "forcedCount") =>
    Number((await c.public.readContract({ address: rollup, abi: rollupAbi, functionName })) as bigint);
  return { sequenced: await read("batchCount"), forced: await read("forcedCount") };
}

/**
 * Visits the batches posted since a follower's cursors — `name` over the sequencer's batches and
 * `${name}Forced` over forced receipts — in index order within each space, moving a cursor past a batch
 * only once `visit` returned true for it. Returns, for each space not visited to its end, the first
 * batch left (by its index): every batch before it in its space was visited. Empty: caught up.
 */
export async function followBatches(
  counts: BatchCounts,
  cursor: { get(name: string): number; set(name: string, value: number): void },
  name: string,
  visit: (index: number) => Promise<boolean>,
): Promise<number[]> {
  const left: number[] = [];
  for (const [key, base, count] of [
    [name, 0, counts.sequenced],
    [`${name}Forced`, FORCED_BASE, counts.forced],
  ] as const) {
    let i = cursor.get(key);
    while (i < count && (await visit(base + i))) cursor.set(key, ++i);
    if (i < count) left.push(base + i);
  }
  return left;
}

/**
 * {@link followBatches} on a time budget, up to the batches posted meanwhile. It reads the counts
 * (`refresh`), then visits the batches since the cursors; between two batches it reads the counts again
 * once `refreshMs` has passed since the last read; once it has visited every batch of the counts it
 * followed, it goes on over the counts read since, if any. A batch is started only while `budgetMs`
 * (from the first read) lasts: one started runs to its end.
 */
export async function followWithin(
  o: {
    readonly budgetMs: number;
    readonly refreshMs: number;
    readonly nowMs: () => number;
    readonly refresh: () => Promise<BatchCounts>;
  },
  cursor: { get(name: string): number; set(name: string, value: number): void },
  name: string,
  visit: (index: number) => Promise<void>,
): Promise<void> {
  let latest = await o.refresh();
  let readAt = o.nowMs();
  const until = readAt + o.budgetMs;
  for (let counts: BatchCounts | null = null; counts !== latest && o.nowMs() <= until; ) {
    counts = latest;
    // A batch left unvisited means the budget is spent, which ends the loop too.
    await followBatches(counts, cursor, name, async (i) => {
      if (o.nowMs() > until) return false;
      if (o.nowMs() - readAt > o.refreshMs) {
        latest = await o.refresh();
        readAt = o.nowMs();
      }
      await visit(i);
      return true;
    });
  }
}

/**
 * The transaction that posted batch `index` (BatchPosted, or ReceiptForced for a forced receipt): the
 * rollup stores the block each batch was posted in, so one block's logs are read (RPC providers refuse
 * log queries over the whole chain). Undefined for a batch not posted; throws (to be retried) while the
 * RPC cannot show the posting yet.
 */
export async function postingLog(
  c: Reader,
  rollup: Hex,
  index: number,
): Promise<{ transactionHash: Hex; args: { dataRef?: Hex; digest?: Hex } } | undefined> {
  const { count, postedBlock } = await batchInfo(c, rollup, index);
  if (count === 0) return undefined;
  await headReaches(c, postedBlock);
  const eventName = index >= FORCED_BASE ? "ReceiptForced" : "BatchPosted";
  const logs = (await c.public.getContractEvents({
    address: rollup,
    abi: rollupAbi,
    eventName,
    args: { index: BigInt(index) },
    fromBlock: postedBlock,
    toBlock: postedBlock,
  } as never)) as unknown as { transactionHash: Hex; args: { dataRef?: Hex; digest?: Hex } }[];
  // Not "no batch": a reader that took it for one would skip a posted batch for good.
  if (!logs[0])
    throw new Error(
      `batch ${index}: no ${eventName} event in block ${postedBlock}, where the rollup says it was posted`,
    );
  return logs[0];
}

/** How long a reader waits for its RPC's head to reach a block the chain's state already names. */
const HEAD_LAG_MS = 3_000;
const HEAD_POLL_MS = 50;

/**
 * Returns once the RPC's head is at least `block`, a block named by the chain's state (a batch's posting
 * block, read from the rollup). A node's state can run ahead of its blocks: anvil answers `eth_call`
 * with a just-mined block's state a moment before `eth_blockNumber` and `eth_getLogs` reach that block
 * (a log query for it fails with "BlockOutOfRangeError": once in a 70-minute soak, on 2% of new blocks
 * in a tight loop), and the nodes behind a load-balanced provider can differ by a block or more.
 * Throws if it has not within `waitMs`.
 */
export async function headReaches(c: Reader, block: bigint, waitMs = HEAD_LAG_MS): Promise<void> {
  for (const until = performance.now() + waitMs; ; ) {
    const head = await c.public.getBlockNumber({ cacheTime: 0 });
    if (head >= block) return;
    if (performance.now() >= until)
      throw new Error(`the RPC's head, block ${head}, is still behind block ${block} that its state names`);
    await new Promise((resolve) => setTimeout(resolve, HEAD_POLL_MS));
  }
}

/** A posted batch's receipts as its calldata carries them, their digests and tree. */
export interface PostedBatch {
  readonly receipts: SignedReceipt[];
  readonly digests: Hex[];
  readonly tree: BatchTree;
  /** Per receipt: posted past its maximum age (receiptAge.ts): not disputable, not checked, not paid. */
  readonly stale: boolean[];
}

/**
 * One of the rollup's immutable parameters (seconds): read once per client and rollup, not once per
 * batch.
 */
const rollupConstants = new WeakMap<object, Map<string, Promise<bigint>>>();
export function rollupConstant(
  c: Reader,
  rollup: Hex,
  name: "maxReceiptAge" | "challengeWindow",
): Promise<bigint> {
  const byKey = rollupConstants.get(c.public) ?? new Map<string, Promise<bigint>>();
  rollupConstants.set(c.public, byKey);
  const key = `${rollup.toLowerCase()} ${name}`;
  let value = byKey.get(key);
  if (!value) {
    value = c.public.readContract({ address: rollup, abi: rollupAbi, functionName: name });
    // A failed read (RPC down) is not kept: the next batch's reads it again.
    value.catch(() => byKey.delete(key));
    byKey.set(key, value);
  }
  return value;
}

/**
 * Reads batch `index`'s receipts from its posting transaction: the batch data of a `postBatch`, or the
 * receipt a client passed to `forceInclude`. Null for blobs (not read here) or data that does not decode
 * (`onMalformed` says why).
 */
export async function readPostedBatch(
  c: Reader,
  rollup: Hex,
  index: number,
  onMalformed: (why: string) => void = () => {},
): Promise<PostedBatch | null> {
  const log = await postingLog(c, rollup, index);
  if (!log) return null;
  const call = await callOf(c, rollupAbi, log.transactionHash);
  let receipts: SignedReceipt[];
  if (call.functionName === "forceInclude") {
    // The contract checked this receipt's signature under its own domain: the chain and this rollup.
    const [struct, signature] = call.args as [Omit<Receipt, "chainId" | "settlement">, Hex];
    const chainId = BigInt(await c.public.getChainId());
    // Addresses as the batch data decodes them (lowercase hex).
    const receipt = { ...struct, worker: struct.worker.toLowerCase() as Hex, chainId, settlement: rollup };
    receipts = [{ receipt, signature }];
  } else if (call.functionName === "postBatch") {
    const decoded = decodeBatchData(hexToBytes(call.args[3] as Hex));
    if (!decoded.ok) {
      onMalformed(decoded.error.message);
      return null;
    }
    receipts = decoded.value;
  } else return null;
  const digests = receipts.map((s) => bytesToHex(receiptDigest(s.receipt)));
  const tree = new BatchTree(receipts.map((s, i) => leafOfSigned(i, digests[i] as Hex, s.signature)));
  const [{ postedAt }, maxAge] = await Promise.all([
    batchInfo(c, rollup, index),
    rollupConstant(c, rollup, "maxReceiptAge"),
  ]);
  const stale = receipts.map((s) =>
    receiptStale(s.receipt.timestamp, postedAt * 1000, Number(maxAge) * 1000),
  );
  return { receipts, digests, tree, stale };
}

/**
 * The blocks a follower's recent draws stand on (a fisherman's spot-checks: each batch's seed block,
 * and the head once its obligations were opened), so that a batch is drawn again when a reorganisation
 * replaced one: its seed, and so its draw, may be another, or its openings may have left the chain with
 * the blocks that held them. Kept in block order: a reorganisation replaces every block from its fork
 * on, so each check reads the newest one's block and, where that changed, older ones back to one the
 * chain still holds.
 */
export class DrawWatch {
  private readonly seen: DrawNote[];

  /** `notes`: where the notes are kept across restarts (a follower restarted after a reorganisation still redraws). */
  constructor(
    private readonly notes?: DrawNotes,
    private readonly kept = 64,
  ) {
    this.seen = notes?.load() ?? [];
  }

  /** Batch `index`'s draw stands on block `block`, whose hash was `hash`. */
  note(index: number, block: bigint, hash: Hex): void {
    let at = this.seen.length;
    while (at > 0 && (this.seen[at - 1] as { block: bigint }).block > block) at--;
    this.seen.splice(at, 0, { index, block, hash });
    if (this.seen.length > this.kept) this.seen.shift();
    this.notes?.save(this.seen);
  }

  /** The first batch noted whose draw stands on a block the chain no longer holds (forgotten here), or null. */
  async firstReplaced(c: Reader): Promise<number | null> {
    const replaced = await this.replaced(c);
    return replaced.length === 0 ? null : Math.min(...replaced);
  }

  /** Every batch noted whose draw stands on a block the chain no longer holds (forgotten here). */
  async replaced(c: Reader): Promise<number[]> {
    const replaced: number[] = [];
    for (let last = this.seen.at(-1); last; last = this.seen.at(-1)) {
      if ((await hashAt(c, last.block))?.toLowerCase() === last.hash.toLowerCase()) break;
      replaced.push(last.index);
      this.seen.pop();
    }
    if (replaced.length > 0) this.notes?.save(this.seen);
    return replaced;
  }
}

/** One note of a draw watch: batch `index`'s draw stands on block `block`, whose hash was `hash`. */
export interface DrawNote {
  readonly index: number;
  readonly block: bigint;
  readonly hash: Hex;
}

/** Where a draw watch keeps its notes (in block order). */
export interface DrawNotes {
  load(): DrawNote[];
  save(notes: readonly DrawNote[]): void;
}

/**
 * The registry's history as of any block: the accounts registered with each role (2 evaluator, 3
 * fisherman), in registration order, and each participant's active stake. Its events are followed
 * incrementally from the deployment's block, each block read once per process (a node asks for every
 * batch and epoch; a scan from the deployment each time would grow with the chain). Questions are
 * answered one at a time, so no range is read twice.
 *
 * A stake at a past block is replayed from the events, not read from the chain's state there: a node
 * that prunes old states (most do, and the devnet's anvil does) still answers the events of any block.
 * The registry changes an active stake only where it emits Deposited, UnbondingStarted or Slashed, and
 * a slash takes from the active stake first, so the replay is exact.
 */
export class Registrations {
  private readonly cursor: EventCursor;
  private readonly seen: { readonly participant: Hex; readonly role: number; readonly block: bigint }[] = [];
  /** Each participant's active stake after each change, in block order. */
  private readonly stakes = new Map<Hex, { readonly block: bigint; readonly active: bigint }[]>();
  private queue: Promise<unknown> = Promise.resolve();

  /** `fromBlock`: the deployment's (`deployedFrom`). */
  constructor(
    private readonly registry: Hex,
    fromBlock: bigint,
  ) {
    this.cursor = new EventCursor(fromBlock, {
      // What was read from blocks the chain no longer holds is read again from the chain it holds.
      onRewind: (from) => {
        const kept = this.seen.filter((r) => r.block < from);
        this.seen.splice(0, this.seen.length, ...kept);
        for (const [who, changes] of this.stakes) {
          const held = changes.filter((c) => c.block < from);
          if (held.length > 0) this.stakes.set(who, held);
          else this.stakes.delete(who);
        }
      },
    });
  }

  /** Accounts registered with `role` at or before `block`. */
  at(c: Reader, role: 2 | 3, block: bigint): Promise<Hex[]> {
    return this.asOf(c, block, () =>
      this.seen.filter((r) => r.role === role && r.block <= block).map((r) => r.participant),
    );
  }

  /** `who`'s active stake at the end of `block` (what `participant(who)` read there answers). */
  activeStakeAt(c: Reader, who: Hex, block: bigint): Promise<bigint> {
    return this.asOf(c, block, () => {
      const changes = this.stakes.get(who.toLowerCase() as Hex) ?? [];
      return changes.findLast((x) => x.block <= block)?.active ?? 0n;
    });
  }

  private asOf<T>(c: Reader, block: bigint, answer: () => T): Promise<T> {
    const answered = this.queue.then(async () => {
      // The cursor reads nothing for a block it has passed already.
      await this.cursor.each<RegistryEventArgs>(
        c,
        { address: this.registry, abi: registryAbi, toBlock: block },
        (log) => this.apply(log.eventName, log.args, log.blockNumber),
      );
      return answer();
    });
    this.queue = answered.catch(() => {});
    return answered;
  }

  private apply(event: string | undefined, args: RegistryEventArgs, block: bigint): void {
    const who = args.participant?.toLowerCase() as Hex;
    if (event === "Registered") {
      this.seen.push({ participant: who, role: args.role as number, block });
      return;
    }
    const changes = this.stakes.get(who) ?? [];
    const active = changes.at(-1)?.active ?? 0n;
    const amount = args.amount as bigint;
    let next: bigint;
    if (event === "Deposited") next = active + amount;
    else if (event === "UnbondingStarted") next = active - amount;
    // `amount` is what the slash took: from the active stake first, then from unbonding stakes.
    else if (event === "Slashed") next = active - (amount < active ? amount : active);
    else return;
    changes.push({ block, active: next });
    this.stakes.set(who, changes);
  }
}

/** The arguments of the registry events {@link Registrations} follows. */
interface RegistryEventArgs {
  readonly participant?: Hex;
  readonly role?: number;
  readonly amount?: bigint;
}

/**
 * The seed sampling a batch's evaluators, once the block `delayBlocks` after its posting exists
 * (null before), with that block: its number and hash (a reorganisation that replaces it redraws).
 */
export async function evaluatorSeedOf(
  c: Reader,
  b: BatchInfo,
  delayBlocks: number,
): Promise<{ readonly seed: Hex; readonly block: bigint; readonly hash: Hex } | null> {
  const at = b.postedBlock + BigInt(delayBlocks);
  if ((await c.public.getBlockNumber()) < at) return null;
  const hash = (await c.public.getBlock({ blockNumber: at })).hash as Hex;
  return { seed: evaluatorSeed(b.root, hash), block: at, hash };
}

/** ScoreCommits' clock (seconds of chain time). */
export interface ScoreClock {
  readonly genesis: number;
  readonly epochSeconds: number;
  readonly commitSeconds: number;
  readonly revealSeconds: number;
}

export async function scoreClock(c: Reader, scoreCommits: Hex): Promise<ScoreClock> {
  const read = async (functionName: string) =>
    Number(
      (await c.public.readContract({
        address: scoreCommits,
        abi: scoreCommitsAbi,
        functionName,
      } as never)) as bigint,
    );
  return {
    genesis: await read("genesis"),
    epochSeconds: await read("epochSeconds"),
    commitSeconds: await read("commitSeconds"),
    revealSeconds: await read("revealSeconds"),
  };
}

export const epochAt = (k: ScoreClock, time: number) => Math.floor((time - k.genesis) / k.epochSeconds);
export const epochEnd = (k: ScoreClock, e: number) => k.genesis + (e + 1) * k.epochSeconds;
/** When epoch `e`'s commit phase closes and its reveal phase opens (chain seconds). */
export const commitEnd = (k: ScoreClock, e: number) => epochEnd(k, e) + k.commitSeconds;
/** When epoch e's reveal phase ends (its scores are complete). */
export const revealEnd = (k: ScoreClock, e: number) => commitEnd(k, e) + k.revealSeconds;

/** The latest block's timestamp: the chain's "now" (seconds). */
export async function chainTime(c: Reader): Promise<number> {
  return Number((await c.public.getBlock()).timestamp);
}

/**
 * The first block whose timestamp is at least `seconds` (binary search over block headers); null while
 * the chain has not reached that time. Where an epoch's settlement reads state that changes (who is
 * registered, with what stake), it reads it there: every node that recomputes the epoch reads the same.
 */
export async function firstBlockAtOrAfter(c: Reader, seconds: number): Promise<bigint | null> {
  const at = async (n: bigint) => Number((await c.public.getBlock({ blockNumber: n })).timestamp);
  let hi = await c.public.getBlockNumber({ cacheTime: 0 });
  if ((await at(hi)) < seconds) return null;
  let lo = 0n;
  while (lo < hi) {
    const mid = (lo + hi) / 2n;
    if ((await at(mid)) >= seconds) hi = mid;
    else lo = mid + 1n;
  }
  return lo;
}

/**
 * Epoch e's revealed scores, per evaluator (read from each reveal's calldata; events from `fromBlock`:
 * the posting of the epoch's first batch, since reveals follow the epoch).
 */
export async function revealedScores(
  c: Reader,
  scoreCommits: Hex,
  e: number,
  fromBlock: bigint,
): Promise<Map<Hex, ReceiptScore[]>> {
  const logs = await contractEvents<{ transactionHash: Hex; args: { evaluator: Hex } }>(
    c,
    { address: scoreCommits, abi: scoreCommitsAbi, eventName: "ScoresRevealed", args: { epoch: BigInt(e) } },
    { fromBlock },
  );
  const out = new Map<Hex, ReceiptScore[]>();
  for (const log of logs) {
    const call = await callOf(c, scoreCommitsAbi, log.transactionHash);
    // The contract checks only the length; a reveal with a score above 10 or a receipt scored twice
    // counts for nothing (decodeScores refuses it).
    const scores = decodeScores(hexToBytes(call.args[1] as Hex));
    if (scores.ok) out.set(log.args.evaluator.toLowerCase() as Hex, scores.value);
  }
  return out;
}
