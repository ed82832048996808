import type Database from "better-sqlite3";
import { type Hex, parseEventLogs } from "viem";
import { chainErrorLine } from "../../../chain/chainErrors.ts";
import { confirm, send, submit } from "../../../chain/clients.ts";
import type { ChainClients } from "../../../chain/deploy.ts";
import type { DeploymentFile } from "../../../chain/deploymentFile.ts";
import { playTurn } from "../../../chain/disputePlayer.ts";
import { readGame } from "../../../chain/gameMirror.ts";
import { disputeGameAbi, spotChecksAbi } from "../../../chain/generated/contracts.ts";
import { contractEvents } from "../../../chain/logs.ts";
import {
  type BatchCounts,
  batchCounts,
  batchInfo,
  chainTime,
  DrawWatch,
  followBatches,
  followWithin,
  type PostedBatch,
  readPostedBatch,
  rollupConstant,
} from "../../../chain/postedBatches.ts";
import { refusedOnChain, revertReason } from "../../../chain/revert.ts";
import { encodeStepEvidence } from "../../../chain/stepEvidence.ts";
import { fastKeccak256 } from "../../../crypto/nativeSecp256k1.ts";
import { loadLlama2c, quantizeCheckpoint } from "../../../engine/llama2c/modelFiles.ts";
import { WorkerPool } from "../../../parallel/workerPool.ts";
import {
  ALONE,
  ArrivalWindow,
  type Crew,
  isSampled,
  movingAverage,
  shareOf,
  sustainableRate,
} from "../../../protocol/dispute/sampling.ts";
import { traceStepEvidence } from "../../../protocol/dispute/traceStep.ts";
import { attackBond, type DisputeParams } from "../../../protocol/params/otr.ts";
import {
  receiptToJson,
  type SignedReceipt,
  validateSignedReceipt,
} from "../../../protocol/receipt/receipt.ts";
import type { SeedInput } from "../../../protocol/rng/deriveSeed.ts";
import { FORCED_BASE } from "../../../protocol/rollup/rollupState.ts";
import { isSelected } from "../../../protocol/spotcheck/spotcheck.ts";
import type { IntModel } from "../../../protocol/verifiable/intModel.ts";
import type { ExecutionContext } from "../../../protocol/verifiable/replay.ts";
import { treeDepth } from "../../../protocol/verifiable/trace.ts";
import {
  type VerifiableGeneration,
  verifiableGeneration,
  weightsRoot,
} from "../../../protocol/verifiable/verifiableGeneration.ts";
import { DisputeBonds } from "../../disputeBonds.ts";
import { DRAW_NOTES_SCHEMA, sqliteDrawNotes } from "../../drawNotes.ts";
import { type FollowerNode, followerApp, followerNode, openFollowerStore } from "../../followerNode.ts";
import { LateBatches } from "../../lateBatches.ts";
import { type Logger, NodeMetrics } from "../../observability.ts";
import { Pass } from "../../pass.ts";
import { ResolvedGames, recentResolutions } from "../../resolvedGames.ts";
import { gatewayContexts, servedRequestOf, workerDirectory } from "../../servedRequests.ts";
import type { ReexecuteData, ReexecuteJob } from "./reexecuteTask.ts";

export interface FishermanOptions {
  readonly dataDir: string;
  readonly chain: ChainClients;
  readonly deployment: DeploymentFile;
  readonly dispute: DisputeParams;
  /** The model the network's workers serve (llama2.c checkpoint). */
  readonly model: string;
  /**
   * Where to ask for a served request's execution context: the gateway's /v1/network lists workers,
   * and the gateway keeps a copy of each request for when a worker will not give it out.
   */
  readonly gateway: string;
  /** This fisherman's account key: it signs its requests for the gateway's copies. */
  readonly key: Hex;
  /**
   * Fraction of receipts re-executed, decided per receipt by hashing (seed, digest); lowered while the
   * traffic is more than this fisherman can re-execute in time (`sustainableRate` in the protocol).
   */
  readonly sampleRate: number;
  /** The share of a window it plans to spend re-executing when it lowers the rate (config default 0.8). */
  readonly reexecutionShare: number;
  /**
   * The niceness (0–19) of its re-execution thread (config `engineNice`, default the workers' 10);
   * absent: 0, the process's.
   */
  readonly engineNice?: number | undefined;
  /** The seed of its per-receipt draws (secret: see `fishermanSeed`; a crew's is shared by its members). */
  readonly seed: SeedInput;
  /** The crew it splits the receipts with, and its place in it (default: alone, every receipt its share). */
  readonly crew?: Crew | undefined;
  readonly pollMs: number;
  readonly logger: Logger;
  /**
   * How long after a batch was checked its receipts' verdicts and its settled obligations are kept
   * (ms); absent: forever. The counts of verdicts, and games, stay.
   */
  readonly retentionMs?: number | undefined;
}

export type FishermanNode = FollowerNode;

interface OpenGame {
  readonly gameId: bigint;
  /** The disputed receipt's place. */
  readonly batch: number;
  readonly position: number;
  /** The block its opening was seen mined in (0 when restored at a start: not known). */
  readonly openedIn: bigint;
  readonly signed: SignedReceipt;
  readonly context: ExecutionContext;
  readonly generation: VerifiableGeneration;
}

/** How long one pass re-executes before it turns to obligations, games and missing proofs (ms). */
const REEXECUTION_PER_PASS_MS = 5000;
/** How often, while re-executing, newly posted batches are looked for and their obligations started (ms). */
const OBLIGATIONS_EVERY_MS = 2000;

/** SpotChecks.Status.None: no obligation for that receipt yet. */
const OBLIGATION_NONE = 0;

/*
 * A pass and the view read only what they need, through indexes: a fisherman checks every receipt the
 * network serves, and a look-up that scanned them all would cost each pass (and each poll of the view)
 * more as the network ages (tested by query plan).
 */
export const FISHERMAN_SCHEMA = `
CREATE TABLE IF NOT EXISTS checked (batch INTEGER NOT NULL, position INTEGER NOT NULL, verdict TEXT NOT NULL, PRIMARY KEY (batch, position));
-- How many receipts got each verdict, counted with each check.
CREATE TABLE IF NOT EXISTS verdicts (verdict TEXT PRIMARY KEY, n INTEGER NOT NULL);
-- When each batch's check ended (ms), for forgetting it after the retention.
CREATE TABLE IF NOT EXISTS batches_checked (batch INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS batches_checked_at ON batches_checked (at_ms);
CREATE TABLE IF NOT EXISTS obligations (batch INTEGER NOT NULL, position INTEGER NOT NULL, deadline INTEGER NOT NULL, status TEXT NOT NULL, PRIMARY KEY (batch, position));
CREATE INDEX IF NOT EXISTS obligations_due ON obligations (status, deadline);
CREATE TABLE IF NOT EXISTS games (game INTEGER PRIMARY KEY, batch INTEGER NOT NULL, position INTEGER NOT NULL, receipt TEXT NOT NULL, context TEXT NOT NULL, status TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS games_status ON games (status);
${DRAW_NOTES_SCHEMA}
`;

/** Open obligations whose proof deadline has passed (chain seconds). */
export const DUE_OBLIGATIONS_SQL =
  "SELECT batch, position FROM obligations WHERE status = 'open' AND deadline < ?";

/** Games still being played (restored at start). */
export const OPEN_GAMES_SQL = "SELECT * FROM games WHERE status = 'open'";
/** A game of ours resolved (restored at start when its resolution is recent). */
const RESOLVED_GAME_SQL = "SELECT * FROM games WHERE game = ? AND status != 'open'";

/** The view: the latest `?` games and obligations, oldest first. */
export const RECENT_GAMES_SQL =
  "SELECT * FROM (SELECT game, batch, position, status FROM games ORDER BY game DESC LIMIT ?) ORDER BY game";
export const RECENT_OBLIGATIONS_SQL =
  "SELECT * FROM (SELECT batch, position, deadline, status FROM obligations ORDER BY batch DESC, position DESC LIMIT ?) ORDER BY batch, position";

/**
 * A store from before the verdict counts and the batches' check times: its checks counted, and its
 * batches taken as checked at `nowMs` (forgotten a retention from then), once.
 */
export function upgradeOnce(db: Database.Database, nowMs: number): void {
  if (!db.prepare("SELECT 1 FROM verdicts").get())
    db.exec("INSERT INTO verdicts (verdict, n) SELECT verdict, COUNT(*) FROM checked GROUP BY verdict");
  if (!db.prepare("SELECT 1 FROM batches_checked").get())
    db.prepare("INSERT INTO batches_checked (batch, at_ms) SELECT DISTINCT batch, ? FROM checked").run(nowMs);
}

/** Batches whose check a call forgets at most (each its own transaction). */
const FORGET_PER_CALL = 64;

/**
 * Forgets, oldest first, the verdicts of each batch checked before `beforeMs` and its settled
 * obligations (an open one is still followed); the verdict counts and the games stay. Returns whether
 * more are left.
 */
export function forgetCheckedBefore(db: Database.Database, beforeMs: number): boolean {
  const due = db
    .prepare("SELECT batch FROM batches_checked WHERE at_ms < ? ORDER BY at_ms LIMIT ?")
    .all(beforeMs, FORGET_PER_CALL) as { batch: number }[];
  for (const { batch } of due)
    db.transaction(() => {
      db.prepare("DELETE FROM checked WHERE batch = ?").run(batch);
      db.prepare("DELETE FROM obligations WHERE batch = ? AND status != 'open'").run(batch);
      db.prepare("DELETE FROM batches_checked WHERE batch = ?").run(batch);
    })();
  return due.length === FORGET_PER_CALL;
}

/** How many games and obligations `GET /v1/disputes` shows. */
const RECENT = 100;

export function createFisherman(o: FishermanOptions): FishermanNode {
  const { db, progress, setProgress } = openFollowerStore(o.dataDir, "fisherman.sqlite", FISHERMAN_SCHEMA);
  upgradeOnce(db, Date.now());
  const llama = loadLlama2c(o.model);
  const model: IntModel = quantizeCheckpoint(llama.checkpoint, o.model);
  const gatewayCopy = gatewayContexts(o.gateway, o.key, llama.tokenizer);
  // The native keccak when it loads (the same hashes): a re-execution hashes every step of its trace.
  const keccak = fastKeccak256();
  const weights = weightsRoot(model, keccak);
  // One thread re-executes, off the event loop; the model is copied into it once.
  const reexecution = new WorkerPool<ReexecuteJob, Hex>(
    new URL("./reexecuteTask.ts", import.meta.url),
    { model, nice: o.engineNice ?? 0 } satisfies ReexecuteData,
    1,
  );
  const game = o.deployment.disputeGame as Hex;
  const metrics = new NodeMetrics("fisherman");
  const reexecuted = metrics.counter("receipts_reexecuted_total", "receipts re-executed, by verdict", [
    "verdict",
  ]);
  const disputes = metrics.counter("disputes_total", "disputes by outcome", ["outcome"]);
  const obligations = metrics.counter("obligations_opened_total", "spot-check obligations opened");
  const missing = metrics.counter(
    "proofs_missing_total",
    "obligations reported unproven after their deadline",
  );
  const games = new Map<bigint, OpenGame>();
  const bonds = new DisputeBonds(o.chain, game, o.logger);
  /** Games seen resolved, kept in {@link games} until their resolution is a reorganisation deep. */
  const resolved = new ResolvedGames(async (id) => (await readGame(o.chain, game, id)).resolved);
  /** Whether this start's games resolved shortly before it are watched yet (the first pass does it). */
  let recentRestored = false;

  const sampleRate = metrics.gauge(
    "sample_rate",
    "the fraction of receipts re-executed now (the configured one, lowered under more traffic than this fisherman re-executes in time)",
  );
  sampleRate.set(o.sampleRate);
  const reexecutionAge = metrics.seconds(
    "reexecution_age_seconds",
    "how long after its batch was posted a receipt's re-execution ended (chain time): how far behind this fisherman is",
    [],
    // From a devnet's seconds to a production window's hours.
    [1, 2, 3, 5, 7.5, 10, 15, 20, 25, 30, 45, 60, 120, 300, 600, 1800, 3600, 7200],
  );
  const crew = o.crew ?? ALONE;
  /** What sets the rate: the batches of the last window read, and how long a re-execution takes. */
  const sampling = {
    /** Set at the first batch read: the challenge window is the rollup's. */
    window: null as ArrivalWindow | null,
    secondsPerReexecution: null as number | null,
    rate: o.sampleRate,
    /** Whether the last log line said the rate was lowered (logged once per fall, not per batch). */
    lowered: false,
  };
  /** The rate for a batch posted `ageSeconds` ago. */
  const rateFor = (windowSeconds: number, ageSeconds: number) => {
    const rate = sustainableRate(
      o.sampleRate,
      {
        // Its share of the traffic is all it re-executes.
        receiptsPerWindow: (sampling.window?.receipts ?? 0) / crew.size,
        windowSeconds,
        secondsPerReexecution: sampling.secondsPerReexecution ?? 0,
        ageSeconds,
      },
      o.reexecutionShare,
    );
    if (rate < 0.9 * o.sampleRate && !sampling.lowered)
      o.logger.warn(
        { configured: o.sampleRate, rate, secondsPerReexecution: sampling.secondsPerReexecution },
        "more traffic than this fisherman re-executes in its window: sampling fewer receipts (run more fishermen, or a crew of them, to check more)",
      );
    else if (rate === o.sampleRate && sampling.lowered)
      o.logger.info({ rate }, "re-executing at the configured sample rate again");
    sampling.lowered = rate < 0.9 * o.sampleRate || (sampling.lowered && rate < o.sampleRate);
    sampling.rate = rate;
    sampleRate.set(rate);
    return rate;
  };

  const lateBatches = new LateBatches(
    o.logger,
    "batches' challenge windows closed before they were re-executed: their receipts go unchecked (this fisherman is behind, after a restart or an outage)",
  );

  const readBatch = (index: number) =>
    readPostedBatch(o.chain, o.deployment.rollup, index, (why) =>
      o.logger.warn({ batch: index, err: why }, "batch data malformed"),
    );

  /**
   * A posted batch read once for both uses (re-execution, then obligations once its seed exists);
   * forgotten once both have passed it.
   */
  const posted = new Map<number, Promise<PostedBatch | null>>();
  const batchAt = (index: number) => {
    let b = posted.get(index);
    if (!b) {
      // A failed read (RPC down) is not kept: the next pass reads again.
      b = readBatch(index).catch((e: unknown) => {
        posted.delete(index);
        throw e;
      });
      posted.set(index, b);
    }
    return b;
  };
  /** Forgets the batches every pass that reads them has moved past. */
  const forgetPassedBatches = () => {
    const passes = o.deployment.spotChecks ? ["nextBatch", "nextObligationBatch"] : ["nextBatch"];
    const passed = (i: number) =>
      i >= FORCED_BASE
        ? passes.every((name) => i < FORCED_BASE + progress(`${name}Forced`))
        : passes.every((name) => i < progress(name));
    for (const i of posted.keys()) if (passed(i)) posted.delete(i);
  };

  /** When the challenge window of a batch posted at `postedAt` closes (chain seconds). */
  const windowEnd = async (postedAt: number) =>
    postedAt + Number(await rollupConstant(o.chain, o.deployment.rollup, "challengeWindow"));

  /**
   * The blocks the latest batches' obligations stand on: their seed blocks, and the head once they were
   * opened (a reorganisation redraws them).
   */
  const drawnFrom = new DrawWatch(sqliteDrawNotes(db));

  /**
   * The obligations of batches whose seed block a reorganisation replaced, or whose openings it took off
   * the chain, are drawn again (from the new seed block; an obligation still open is followed, a lost one
   * opened again): the cursor moves back to the first of them.
   */
  async function redrawReplaced(): Promise<void> {
    const first = await drawnFrom.firstReplaced(o.chain);
    if (first === null || first >= progress("nextObligationBatch")) return;
    o.logger.warn(
      { batch: first },
      "a reorganisation replaced blocks that batches' obligations were drawn from or opened in: drawing them again",
    );
    setProgress("nextObligationBatch", first);
    // Read again as the new chain posted them (when their receipts turn stale depends on the posting).
    for (const i of posted.keys()) if (i >= first && i < FORCED_BASE) posted.delete(i);
  }

  const windowClosed = (batch: number, position: number) =>
    o.logger.warn(
      { batch, position },
      "spot-check obligation not opened before the batch's window closed: it cannot be any more",
    );

  /** SpotChecks' immutable ρ and seed delay, read once. */
  let selection: Promise<{ rhoPpm: number; seedDelayBlocks: bigint }> | null = null;

  /**
   * Opens the spot-check obligations of batch `index` once its seed block exists (anyone may: the
   * selection is public), and records those already open; false while the seed block is still to come.
   * The draw is made here, from the seed block's hash, as the contract makes it (`isSelected` in the
   * protocol): most batches select nothing (at ρ = 1% and 20 receipts, 82%), and those cost two reads,
   * not a `fixSeed` transaction and a read per receipt — which, one block each, fell behind the batches.
   */
  async function openObligations(index: number): Promise<boolean> {
    const spot = o.deployment.spotChecks as Hex;
    const read = (functionName: string, args: readonly unknown[] = []) =>
      o.chain.public.readContract({ address: spot, abi: spotChecksAbi, functionName, args } as never);
    selection ??= Promise.all([read("rhoPpm"), read("seedDelayBlocks")]).then(([rho, delay]) => ({
      rhoPpm: Number(rho),
      seedDelayBlocks: BigInt(delay as number),
    }));
    const { rhoPpm, seedDelayBlocks } = await selection.catch((e: unknown) => {
      selection = null;
      throw e;
    });
    const info = await batchInfo(o.chain, o.deployment.rollup, index);
    // Not on chain (a reorganisation took it off; the sequencer posts it again): waited for.
    if (info.count === 0) return false;
    const seedBlock = info.postedBlock + seedDelayBlocks;
    const head = await o.chain.public.getBlockNumber();
    if (head < seedBlock) return false;
    const batch = await batchAt(index);
    // The EVM gives the hashes of the last 256 blocks only: past them the seed is the one fixed on chain,
    // if anyone fixed it in time.
    const seed =
      head - seedBlock < 250n
        ? ((await o.chain.public.getBlock({ blockNumber: seedBlock })).hash as Hex)
        : ((await read("seeds", [BigInt(index)])) as Hex);
    if (head - seedBlock < 250n) drawnFrom.note(index, seedBlock, seed);
    if (BigInt(seed) === 0n) {
      // The seed block's hash is gone (after a long outage): this batch's draw can never be made, by
      // anyone; waiting on it would stop every later batch's.
      o.logger.warn({ batch: index }, "spot-check seed expired: this batch's obligations cannot be opened");
      return true;
    }
    const selected = (batch?.receipts ?? []).flatMap((_, position) =>
      // A stale receipt owes no proof: its obligation cannot be opened.
      !batch?.stale[position] && isSelected(info.root, position, seed, rhoPpm) ? [position] : [],
    );
    if (selected.length === 0) return true;
    // A closed window takes no opening, so no `fixSeed` is spent on it: back from an outage, a fisherman
    // would otherwise wait a block for each batch the outage closed, while the windows of those after
    // them closed too. A transaction sent now lands in a block at least a second later.
    if ((await chainTime(o.chain)) + 1 >= (await windowEnd(info.postedAt))) {
      for (const position of selected) windowClosed(index, position);
      return true;
    }
    try {
      await send(o.chain, spot, spotChecksAbi, "fixSeed", [BigInt(index)]);
    } catch (e) {
      const reason = revertReason(e) ?? (e as Error).message;
      if (/SeedNotYet/.test(reason)) return false;
      if (/SeedExpired/.test(reason)) {
        o.logger.warn({ batch: index }, "spot-check seed expired: this batch's obligations cannot be opened");
        return true;
      }
      throw e;
    }
    // The chain's draw decides: should its seed ever differ from the block hash read here, its own
    // selection is asked for every receipt of the batch.
    const fixed = (await read("seeds", [BigInt(index)])) as Hex;
    let owed = selected;
    if (fixed.toLowerCase() !== seed.toLowerCase()) {
      o.logger.error({ batch: index, fixed, seed }, "the seed fixed on chain is not the seed block's hash");
      owed = [];
      for (const position of (batch?.receipts ?? []).keys())
        if (!batch?.stale[position] && ((await read("isSelected", [BigInt(index), position])) as boolean))
          owed.push(position);
    }
    let openedAny = false;
    for (const position of owed) {
      const signed = batch?.receipts[position] as SignedReceipt;
      // Already open — by this fisherman before a crash (sent, not yet recorded), or by anyone else: it is
      // recorded and followed, not opened again (the contract refuses that: ObligationExists).
      type Obligation = { status: number; deadline: number };
      const obligation = async () => (await read("obligation", [BigInt(index), position])) as Obligation;
      let existing = await obligation();
      let opened = false;
      if (existing.status === OBLIGATION_NONE) {
        const { chainId: _c, settlement: _s, ...receipt } = signed.receipt;
        try {
          await send(o.chain, spot, spotChecksAbi, "open", [
            BigInt(index),
            position,
            receipt,
            signed.signature,
            batch?.tree.proof(position),
          ]);
          obligations.inc();
          opened = true;
          openedAny = true;
        } catch (e) {
          const reason = revertReason(e) ?? (e as Error).message;
          // The batch's window closed while this fisherman was away (or between the send's estimate and
          // its block: a mined revert names no reason): nobody can open it any more.
          const closed = async () =>
            refusedOnChain(e) && (await chainTime(o.chain)) >= (await windowEnd(info.postedAt));
          if (
            /ObligationWindowClosed/.test(reason) ||
            (!/ObligationExists/.test(reason) && (await closed()))
          ) {
            windowClosed(index, position);
            continue;
          }
          // Opened by someone else between the read and the send.
          if (!/ObligationExists/.test(reason)) throw e;
        }
        existing = await obligation();
      }
      const { deadline } = existing;
      db.prepare(
        "INSERT OR IGNORE INTO obligations (batch, position, deadline, status) VALUES (?, ?, ?, 'open')",
      ).run(index, position, Number(deadline));
      o.logger.info(
        { batch: index, position, worker: signed.receipt.worker },
        opened ? "spot-check obligation opened" : "spot-check obligation already open; following it",
      );
    }
    if (openedAny) {
      // The openings were mined at or before this head: while the chain holds it, it holds them (with
      // the seed block unchanged, nothing else would tell that a reorganisation took them off).
      const head = await o.chain.public.getBlock();
      drawnFrom.note(index, head.number as bigint, head.hash as Hex);
    }
    return true;
  }

  /**
   * Re-executes the sampled receipts of batch `index` and challenges each that differs. The challenges
   * go out back to back and are confirmed together (one block for the batch's, not one each: a window
   * closes while a fisherman opens games one block at a time); a receipt is marked checked once its
   * challenge is confirmed or refused, so a crash before that re-checks it and joins the game it opened.
   */
  async function checkBatch(index: number, chainNow: () => number): Promise<void> {
    const batch = await batchAt(index);
    if (!batch) return;
    const { receipts, digests, tree, stale } = batch;
    const { postedAt } = await batchInfo(o.chain, o.deployment.rollup, index);
    const end = await windowEnd(postedAt);
    sampling.window ??= new ArrivalWindow(end - postedAt);
    sampling.window.add({ postedAt, receipts: receipts.length });
    const now = chainNow();
    // A batch whose challenge window closed before this fisherman got to it cannot be disputed any more:
    // re-executing it would only put the fisherman further behind.
    const late = now >= end;
    const rate = late ? 0 : rateFor(end - postedAt, now - postedAt);
    lateBatches.batch(index, late, receipts.length);
    let workers: Map<string, string> | null = null;
    const markChecked = (position: number, verdict: string) => {
      reexecuted.inc({ verdict });
      db.transaction(() => {
        const { changes } = db
          .prepare("INSERT OR IGNORE INTO checked (batch, position, verdict) VALUES (?, ?, ?)")
          .run(index, position, verdict);
        if (changes === 1)
          db.prepare(
            "INSERT INTO verdicts (verdict, n) VALUES (?, 1) ON CONFLICT (verdict) DO UPDATE SET n = n + 1",
          ).run(verdict);
      })();
      o.logger.info({ batch: index, position, verdict }, "receipt checked");
    };
    // Each challenge's confirmation, its failure kept as a value (none may reject unheard).
    const confirming: Promise<unknown>[] = [];
    // Whatever stops the loop, the challenges already sent are confirmed (or fail) before the pass ends.
    const stopped = await reexecuteEach().then(
      () => null,
      (e: unknown) => ({ e }),
    );
    const failed = (await Promise.all(confirming)).find((e) => e !== null);
    if (stopped) throw stopped.e;
    if (failed) throw failed;
    db.prepare("INSERT OR IGNORE INTO batches_checked (batch, at_ms) VALUES (?, ?)").run(index, Date.now());

    async function reexecuteEach(): Promise<void> {
      for (const [position, signed] of receipts.entries()) {
        const r = signed.receipt;
        if (db.prepare("SELECT 1 FROM checked WHERE batch = ? AND position = ?").get(index, position))
          continue;
        let verdict = "skipped";
        // Posted past its maximum age: no dispute can open over it (and it earns nothing).
        if (stale[position]) verdict = "stale";
        else if (late) verdict = "late";
        else if (shareOf(o.seed, digests[position] as Hex, crew.size) !== crew.member) verdict = "crew";
        else if (
          isSampled(o.seed, digests[position] as Hex, rate, crew) &&
          r.weightsHash.toLowerCase() === weights
        ) {
          const started = performance.now();
          workers ??= await workerDirectory(o.gateway);
          const served = await servedRequestOf(r, workers, gatewayCopy);
          if (typeof served === "string") verdict = "no-context";
          else {
            if (served.from === "gateway")
              o.logger.warn(
                { batch: index, position, worker: r.worker, reason: served.workerFailure },
                "the worker did not give the context; re-executing from the gateway's copy",
              );
            const [traceRoot] = await reexecution.run([
              { context: served.context, outputTokens: r.outputTokens },
            ]);
            sampling.secondsPerReexecution = movingAverage(
              sampling.secondsPerReexecution,
              (performance.now() - started) / 1000,
            );
            reexecutionAge.observe(chainNow() - postedAt);
            verdict = traceRoot === r.traceRoot.toLowerCase() ? "agrees" : "differs";
            if (verdict === "differs") {
              // The game needs the whole honest trace: made again here, once per receipt disputed.
              const honest = verifiableGeneration(model, served.context, r.outputTokens, null, keccak);
              const { confirmed } = await dispute(
                index,
                position,
                signed,
                served.context,
                honest,
                tree.proof(position),
              );
              confirming.push(
                confirmed
                  .then(() => markChecked(position, verdict))
                  .then(
                    () => null,
                    (e: unknown) => e,
                  ),
              );
              continue;
            }
          }
        }
        markChecked(position, verdict);
      }
    }
  }

  /**
   * Challenges a receipt (or joins the game open over it): resolves once the challenge is sent, with
   * `confirmed`, which settles once it is mined and its game recorded. A challenge the contract refuses
   * (its window closed, the receipt disputed or settled meanwhile) is logged and not retried.
   */
  async function dispute(
    batch: number,
    position: number,
    signed: SignedReceipt,
    context: ExecutionContext,
    honest: VerifiableGeneration,
    proof: readonly Hex[],
  ): Promise<{ confirmed: Promise<void> }> {
    // A game over this receipt may be open already (ours, challenged just before a crash, or another
    // fisherman's): games are open to every claimant, so it is joined rather than challenged again.
    const existing = (
      await contractEvents<{ blockNumber: bigint; args: { game: bigint; batch: bigint; position: number } }>(
        o.chain,
        { address: game, abi: disputeGameAbi, eventName: "GameOpened" },
        // A game over a receipt opens after its batch was posted.
        { fromBlock: (await batchInfo(o.chain, o.deployment.rollup, batch)).postedBlock },
      )
    ).find((l) => Number(l.args.batch) === batch && l.args.position === position);
    const refused = (e: unknown) => {
      if (!refusedOnChain(e)) throw e;
      disputes.inc({ outcome: "refused" });
      o.logger.warn({ batch, position, reason: chainErrorLine(e) }, "the challenge was refused on chain");
    };
    const record = (gameId: bigint, openedIn: bigint) => {
      db.prepare(
        "INSERT OR IGNORE INTO games (game, batch, position, receipt, context, status) VALUES (?, ?, ?, ?, ?, 'open')",
      ).run(Number(gameId), batch, position, JSON.stringify(receiptToJson(signed)), JSON.stringify(context));
      games.set(gameId, { gameId, batch, position, openedIn, signed, context, generation: honest });
      disputes.inc({ outcome: "opened" });
      o.logger.info(
        { batch, position, game: String(gameId), worker: signed.receipt.worker },
        "dispute opened: the trace root differs from re-execution",
      );
    };
    if (existing) {
      record(existing.args.game, existing.blockNumber);
      return { confirmed: Promise.resolve() };
    }
    const { chainId: _c, settlement: _s, ...receipt } = signed.receipt;
    let hash: Hex;
    try {
      hash = await submit(
        o.chain,
        game,
        disputeGameAbi,
        "challenge",
        [BigInt(batch), position, receipt, signed.signature, proof],
        attackBond(o.dispute, treeDepth(honest.outputs.length)),
      );
    } catch (e) {
      refused(e);
      return { confirmed: Promise.resolve() };
    }
    const confirmed = confirm(o.chain, "challenge", hash).then(async (minedHash) => {
      // The send that was mined: the challenge itself, or one sent again with higher fees.
      const mined = await o.chain.public.getTransactionReceipt({ hash: minedHash });
      // The game's id from its GameOpened event (another challenger may have opened one meanwhile).
      const [opened] = parseEventLogs({ abi: disputeGameAbi, eventName: "GameOpened", logs: mined.logs });
      if (!opened) throw new Error(`challenge ${minedHash} opened no game`);
      record((opened.args as { game: bigint }).game, mined.blockNumber);
    }, refused);
    return { confirmed };
  }

  /**
   * Whether `g`'s challenge is gone from the chain (a reorganisation took it off; its id may name
   * another's game by now): the game is forgotten, and the receipt checked again, from its batch on
   * (challenged again while its window is open). Playing on would wait forever on a game that does not
   * exist, or play another receipt's game with this one's trace; and the cheat would go unanswered.
   */
  async function challengeLost(g: OpenGame, head: bigint): Promise<boolean> {
    const onChain = await readGame(o.chain, game, g.gameId);
    // No game by that id on an RPC node not yet at the block the opening was seen in is the node's lag.
    if (
      onChain.openedBlock === 0n
        ? head < g.openedIn
        : Number(onChain.subject.batch) === g.batch && onChain.subject.position === g.position
    )
      return false;
    games.delete(g.gameId);
    db.transaction(() => {
      db.prepare("DELETE FROM games WHERE game = ?").run(Number(g.gameId));
      // Checked again, its verdict counted again: uncounted here.
      const was = db
        .prepare("DELETE FROM checked WHERE batch = ? AND position = ? RETURNING verdict")
        .get(g.batch, g.position) as { verdict: string } | undefined;
      if (was) db.prepare("UPDATE verdicts SET n = n - 1 WHERE verdict = ?").run(was.verdict);
      if (progress("nextBatch") > g.batch) setProgress("nextBatch", g.batch);
    })();
    o.logger.warn(
      { game: String(g.gameId), batch: g.batch, position: g.position },
      "a challenge of ours is no longer on chain (reorganised): checking its receipt again",
    );
    return true;
  }

  async function playGames(): Promise<void> {
    if (!recentRestored) {
      // Games this fisherman saw resolve shortly before it stopped are watched, as if it had just seen them.
      const recent = await recentResolutions(
        o.chain,
        game,
        await o.chain.public.getBlockNumber({ cacheTime: 0 }),
      );
      for (const [id, block] of recent) {
        const row = db.prepare(RESOLVED_GAME_SQL).get(Number(id)) as
          | Parameters<typeof restore>[0]
          | undefined;
        if (!row) continue;
        restore(row);
        resolved.add(id, block);
        o.logger.info(
          { game: String(id) },
          "a dispute of ours resolved recently: watched until a reorganisation cannot undo it",
        );
      }
      recentRestored = true;
    }
    // The head only when there are games to play or watch (no read a pass otherwise).
    const head = games.size > 0 ? await o.chain.public.getBlockNumber({ cacheTime: 0 }) : 0n;
    const { settled, reopened } = await resolved.check(head);
    for (const id of settled) games.delete(id);
    for (const id of reopened) {
      db.prepare("UPDATE games SET status = 'open' WHERE game = ?").run(Number(id));
      o.logger.warn(
        { game: String(id) },
        "a dispute's resolution is no longer on chain (reorganised): playing on",
      );
    }
    for (const g of games.values()) {
      if (resolved.has(g.gameId)) continue;
      if (await challengeLost(g, head)) continue;
      // New batches first: their challenge windows close while games are played, and a game's clock
      // only runs on our turn, which this loop reaches again within one turn per open game.
      await watchBatches();
      const r = g.signed.receipt;
      const me = o.chain.wallet.account.address;
      const turn = await playTurn(
        o.chain,
        game,
        g.gameId,
        { traceRoot: r.traceRoot, leafCount: g.generation.outputs.length, worker: r.worker },
        o.dispute,
        {
          me,
          tree: g.generation.tree,
          stepEvidence: (i) =>
            traceStepEvidence(model, g.context, g.generation.outputs, (j) => g.generation.tree.proof(j), i),
        },
        (i) =>
          encodeStepEvidence(
            model,
            i,
            traceStepEvidence(model, g.context, g.generation.outputs, (j) => g.generation.tree.proof(j), i),
          ),
      );
      for (const f of turn.failed) o.logger.warn({ game: String(g.gameId), err: f }, "a move was refused");
      if (turn.resolved) {
        const outcome = turn.rootCountered ? "won" : "lost";
        db.prepare("UPDATE games SET status = ? WHERE game = ?").run(outcome, Number(g.gameId));
        if (resolved.add(g.gameId, head)) disputes.inc({ outcome });
        bonds.resolved();
        o.logger.info({ game: String(g.gameId), outcome }, "dispute resolved");
      }
    }
    await bonds.collect();
  }

  /**
   * Reports every obligation still unproven after its deadline (`slashMissing`: the worker is slashed,
   * the reporter paid its share); obligations proven in time are only marked.
   */
  async function reportMissingProofs(): Promise<void> {
    const spot = o.deployment.spotChecks as Hex;
    const now = await chainTime(o.chain);
    for (const ob of db.prepare(DUE_OBLIGATIONS_SQL).all(now) as { batch: number; position: number }[]) {
      const { status } = (await o.chain.public.readContract({
        address: spot,
        abi: spotChecksAbi,
        functionName: "obligation",
        args: [BigInt(ob.batch), ob.position],
      })) as { status: number };
      let outcome = status === 2 ? "proven" : "slashed";
      if (status === 1) {
        await send(o.chain, spot, spotChecksAbi, "slashMissing", [BigInt(ob.batch), ob.position]);
        outcome = "reported";
        missing.inc();
        o.logger.warn({ batch: ob.batch, position: ob.position }, "spot-check proof missing: worker slashed");
      }
      db.prepare("UPDATE obligations SET status = ? WHERE batch = ? AND position = ?").run(
        outcome,
        ob.batch,
        ob.position,
      );
    }
  }

  const cursor = { get: progress, set: setProgress };

  /**
   * Opening obligations runs beside re-execution, one run at a time: each costs a `fixSeed` and an `open`
   * transaction and their waits (about 2 s a receipt on a loaded machine, 38% of a fisherman's time in a
   * 50-minute soak), during which it would otherwise re-execute nothing. A failed run is logged and the
   * next pass starts another.
   */
  let obligationRun: Promise<void> | null = null;
  const openObligationsBeside = (latest: BatchCounts) => {
    if (!o.deployment.spotChecks || obligationRun) return;
    obligationRun = redrawReplaced()
      .then(() => followBatches(latest, cursor, "nextObligationBatch", openObligations))
      .then(
        () => {},
        (e: unknown) =>
          o.logger.warn({ err: chainErrorLine(e) }, "opening spot-check obligations failed; will retry"),
      )
      .finally(() => {
        obligationRun = null;
      });
  };

  /**
   * Starts opening the obligations that fell due, then re-executes the batches posted since the last
   * pass, for at most {@link REEXECUTION_PER_PASS_MS} (starting on newly posted batches' obligations
   * between them every {@link OBLIGATIONS_EVERY_MS}): a fisherman behind on re-execution (more traffic
   * than its cores re-execute) still opens every obligation, plays its games' moves and reports missing
   * proofs in time, and it skips what can no longer be disputed, so it stays at most a window behind.
   */
  async function watchBatches(): Promise<void> {
    const [now, at] = [await chainTime(o.chain), performance.now()];
    const chainNow = () => now + (performance.now() - at) / 1000;
    await followWithin(
      {
        budgetMs: REEXECUTION_PER_PASS_MS,
        // Between batches, the obligations of batches posted meanwhile (a batch's re-execution takes
        // seconds under load); and a batch posted during a pass is not left to wait for the next one (its
        // age lowers the rate it is re-executed at).
        refreshMs: OBLIGATIONS_EVERY_MS,
        nowMs: () => performance.now(),
        refresh: async () => {
          const counts = await batchCounts(o.chain, o.deployment.rollup);
          openObligationsBeside(counts);
          return counts;
        },
      },
      cursor,
      "nextBatch",
      (i) => checkBatch(i, chainNow),
    );
    forgetPassedBatches();
  }

  const pass = new Pass(o.logger, "fisherman pass failed; will retry", async () => {
    await watchBatches();
    if (o.deployment.spotChecks) await reportMissingProofs();
    await playGames();
    if (o.retentionMs !== undefined) forgetCheckedBefore(db, Date.now() - o.retentionMs);
  });

  /** A stored game, as played: its receipt and context were stored with it. */
  function restore(row: { game: number; batch: number; position: number; receipt: string; context: string }) {
    const signed = validateSignedReceipt(JSON.parse(row.receipt));
    if (!signed.ok) return;
    const context = JSON.parse(row.context) as ExecutionContext;
    const generation = verifiableGeneration(model, context, signed.value.receipt.outputTokens, null, keccak);
    games.set(BigInt(row.game), {
      gameId: BigInt(row.game),
      batch: row.batch,
      position: row.position,
      openedIn: 0n,
      signed: signed.value,
      context,
      generation,
    });
  }
  // Games opened before a restart are played on.
  for (const row of db.prepare(OPEN_GAMES_SQL).all() as Parameters<typeof restore>[0][]) restore(row);

  const app = followerApp(metrics, o.logger);
  app.get("/health", async () => ({
    ok: true,
    role: "fisherman",
    // Being played: not those seen resolved, watched for a reorganisation.
    games: [...games.keys()].filter((id) => !resolved.has(id)).length,
    nextBatch: progress("nextBatch"),
  }));
  app.get("/v1/disputes", async () => ({
    checked: db.prepare("SELECT verdict, n FROM verdicts ORDER BY verdict").all(),
    // The latest only: a view polled every second must not grow with the network's age.
    games: db.prepare(RECENT_GAMES_SQL).all(RECENT),
    bondsWithdrawnWei: String(bonds.withdrawn),
    sampling: {
      configured: o.sampleRate,
      share: o.reexecutionShare,
      rate: sampling.rate,
      secondsPerReexecution: sampling.secondsPerReexecution,
      receiptsPerWindow: sampling.window?.receipts ?? 0,
      crew,
    },
    obligations: db.prepare(RECENT_OBLIGATIONS_SQL).all(RECENT),
  }));

  return followerNode({
    app,
    pass,
    pollMs: o.pollMs,
    db,
    onClose: async () => {
      await obligationRun;
      await reexecution.close();
    },
  });
}
