/**
 * The evaluator role (DESIGN.md "Roles", Proof of Quality): follows the rollup's posted batches, and
 * for every receipt the protocol samples it for (`sampleEvaluators`, seeded by the batch root and a
 * later block hash) fetches the request's prompt and generated tokens from the worker that served it —
 * accepted only if they hash to the receipt's promptHash and outputHash, so the worker cannot show
 * evaluators a better answer than the one it signed — and scores the decoded text with its evaluator.
 * After each epoch it commits to its scores on chain (ScoreCommits), and once the commit phase is over
 * reveals them; the settler turns the reveals into consensus, trust and rewards. Scores, salts and
 * progress are kept in SQLite before anything is sent, so a restart reveals what it committed.
 *
 * `adversary: "colluding"` makes a member of a colluding group that reports 10 for everything it is
 * sampled for (the boosting attack of the robust-PoQ paper), to be outvoted by robust aggregation.
 */
import { randomBytes } from "node:crypto";
import type { Hex } from "viem";
import { chainErrorLine } from "../../../chain/chainErrors.ts";
import { send } from "../../../chain/clients.ts";
import type { ChainClients } from "../../../chain/deploy.ts";
import type { DeploymentFile } from "../../../chain/deploymentFile.ts";
import { scoreCommitsAbi } from "../../../chain/generated/contracts.ts";
import { deployedFrom } from "../../../chain/logs.ts";
import {
  batchCounts,
  batchInfo,
  chainTime,
  commitEnd,
  DrawWatch,
  epochAt,
  epochEnd,
  evaluatorSeedOf,
  followBatches,
  Registrations,
  readPostedBatch,
  revealEnd,
  type ScoreClock,
  scoreClock,
} from "../../../chain/postedBatches.ts";
import { VerinferError } from "../../../errors.ts";
import { bytesToHex } from "../../../protocol/encoding/hex.ts";
import { ERROR_CODES } from "../../../protocol/errors.ts";
import type { Evaluator } from "../../../protocol/poq/evaluator.ts";
import {
  encodeScores,
  quantizeScore,
  sampleEvaluators,
  scoreCommitment,
  UNSHOWN_OUTPUT_SCORE,
} from "../../../protocol/poq/networkEpoch.ts";
import type { Receipt } from "../../../protocol/receipt/receipt.ts";
import { FORCED_BASE } from "../../../protocol/rollup/rollupState.ts";
import { DRAW_NOTES_SCHEMA, sqliteDrawNotes } from "../../drawNotes.ts";
import {
  type FollowerNode,
  type FollowerStore,
  followerApp,
  followerNode,
  openFollowerStore,
} from "../../followerNode.ts";
import { LateBatches } from "../../lateBatches.ts";
import { type Logger, NodeMetrics } from "../../observability.ts";
import { Pass } from "../../pass.ts";
import { servedRequestOf, workerDirectory } from "../../servedRequests.ts";
import type { TokenText } from "../../tokenText.ts";

export const EVALUATOR_ADVERSARIES = ["none", "colluding"] as const;
export type EvaluatorAdversary = (typeof EVALUATOR_ADVERSARIES)[number];

export interface EvaluatorNodeOptions {
  readonly dataDir: string;
  /** The evaluator's registered chain account. */
  readonly chain: ChainClients;
  readonly deployment: DeploymentFile;
  /** Renders the served token ids as the texts that are scored (the workers' model's vocabulary). */
  readonly tokenText: TokenText;
  readonly evaluator: Evaluator;
  /** A gateway whose /v1/network lists the workers. */
  readonly gateway: string;
  /** Evaluators sampled per receipt (the network's PoQ k). */
  readonly k: number;
  /** Blocks after a batch's posting whose hash seeds its sampling (the spot-checks' delay). */
  readonly seedDelayBlocks: number;
  readonly adversary: EvaluatorAdversary;
  readonly pollMs: number;
  readonly logger: Logger;
  /**
   * How long after its end an epoch's scores are kept once revealed (or missed), ms; absent: forever.
   * The settler reads reveals from the chain, not from here.
   */
  readonly retentionMs?: number | undefined;
}

export type EvaluatorNode = FollowerNode;

/*
 * A pass and a view read only recent rows, through indexes: an evaluator scores some share of every
 * receipt the network serves, and a look-up that scanned every score ever stored would cost each pass
 * more as the network ages (tested by query plan).
 */
export const EVALUATOR_SCHEMA = `
CREATE TABLE IF NOT EXISTS scores (batch INTEGER NOT NULL, position INTEGER NOT NULL, epoch INTEGER NOT NULL, score REAL, note TEXT NOT NULL, PRIMARY KEY (batch, position));
CREATE INDEX IF NOT EXISTS scores_epoch ON scores (epoch, score);
CREATE TABLE IF NOT EXISTS commits (epoch INTEGER PRIMARY KEY, scores TEXT NOT NULL, salt TEXT NOT NULL, commitment TEXT NOT NULL, status TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS commits_status ON commits (status);
${DRAW_NOTES_SCHEMA}
`;

/**
 * Forgets the scores of batches `?` up to (not including) `?` in epochs not yet prepared (they are
 * scored again, as drawn anew); a prepared epoch's scores are committed to and stay.
 */
export const FORGET_REDRAWN_SQL =
  "DELETE FROM scores WHERE batch >= ? AND batch < ? AND epoch > (SELECT COALESCE(MAX(epoch), -1) FROM commits)";

/**
 * Ended epochs with scores and no commitment prepared yet: those after the latest prepared one (batches
 * are followed in order and an epoch is prepared only once every batch posted in it was scored, so no
 * epoch before it gains a score later).
 */
export const UNPREPARED_EPOCHS_SQL =
  "SELECT DISTINCT epoch FROM scores WHERE epoch > (SELECT COALESCE(MAX(epoch), -1) FROM commits) AND epoch < ? AND (score IS NOT NULL OR note = 'deferred') ORDER BY epoch";

/** Receipts of epoch `?` still deferred (their worker not reached yet). */
export const EPOCH_DEFERRED_SQL = "SELECT COUNT(*) AS n FROM scores WHERE epoch = ? AND note = 'deferred'";

/**
 * Receipts deferred because their worker could not be reached, in epochs not yet prepared: asked for
 * again each pass until their epoch is prepared (then they are scored UNSHOWN_OUTPUT_SCORE).
 */
export const DEFERRED_SQL =
  "SELECT batch, position FROM scores WHERE epoch > (SELECT COALESCE(MAX(epoch), -1) FROM commits) AND score IS NULL AND note = 'deferred'";

/**
 * Commitments still to send or to reveal, and those revealed in epochs from `?` on (whose reveal phase
 * may still be open: a reorganisation can take a commitment or a reveal off the chain, to be sent again).
 */
export const OPEN_COMMITS_SQL =
  "SELECT * FROM commits WHERE status IN ('committing', 'committed') OR (status = 'revealed' AND epoch >= ?) ORDER BY epoch";

/**
 * Per epoch of the latest `?` with scores: how many were scored (those withheld, scored 0, among them),
 * how many could not be, the commitment's status.
 */
export const RECENT_EPOCHS_SQL =
  "SELECT s.epoch, COUNT(s.score) AS scored, COUNT(*) - COUNT(s.score) AS unavailable, SUM(s.note LIKE 'withheld%') AS withheld, c.status FROM scores s LEFT JOIN commits c ON c.epoch = s.epoch WHERE s.epoch > (SELECT COALESCE(MAX(epoch), 0) FROM scores) - ? GROUP BY s.epoch ORDER BY s.epoch";

/** How a score's note starts where the worker did not show the output (scored UNSHOWN_OUTPUT_SCORE). */
const WITHHELD = "withheld";

/** Epochs whose scores a pass forgets at most (each its own transaction). */
const FORGET_PER_PASS = 16;

/** How many epochs `GET /v1/scores` shows. */
const RECENT_EPOCHS = 24;

/**
 * Whether epoch `e`'s commit phase is closed to a commitment sent at chain time `now`: a transaction sent
 * now executes in a block at least `now + 1`. Past it the epoch's scores can no longer be committed.
 */
const commitClosed = (k: ScoreClock, e: number, now: number) => now + 1 >= commitEnd(k, e);

/**
 * An epoch whose receipts are still deferred (their worker out of reach) is prepared only once this
 * share of its commit phase has passed, asking again each pass until then: a worker restarting across
 * the epoch's end (seconds) is back before its outputs are scored as withheld, and the other half of
 * the phase is left for the commitment to land (5 min of 10; 7.5 s of the devnet's 15).
 */
const DEFERRED_GRACE_SHARE = 0.5;

/**
 * Forgets, oldest first, the scores of epochs whose reveal phase ended more than `retentionMs` ago and
 * that are done with (revealed, missed, or never prepared: none of their scores can be given any more),
 * and the scores a commitment kept for its reveal; the commitment and its status stay. A few epochs per
 * call.
 */
export function forgetOldScores(store: FollowerStore, k: ScoreClock, now: number, retentionMs: number): void {
  const { db, progress, setProgress } = store;
  for (let n = 0, e = progress("forgetFrom"); n < FORGET_PER_PASS; n++, e++) {
    if (revealEnd(k, e) + retentionMs / 1000 > now) return;
    const c = db.prepare("SELECT status FROM commits WHERE epoch = ?").get(e) as
      | { status: string }
      | undefined;
    if (c && c.status !== "revealed" && c.status !== "missed") return;
    db.transaction(() => {
      db.prepare("DELETE FROM scores WHERE epoch = ?").run(e);
      db.prepare("UPDATE commits SET scores = '0x' WHERE epoch = ?").run(e);
      setProgress("forgetFrom", e + 1);
    })();
  }
}

export function createEvaluatorNode(o: EvaluatorNodeOptions): EvaluatorNode {
  const scoreCommits = o.deployment.scoreCommits as Hex;
  const store = openFollowerStore(o.dataDir, "evaluator.sqlite", EVALUATOR_SCHEMA);
  const { db, progress, setProgress } = store;
  const me = o.chain.wallet.account.address.toLowerCase() as Hex;
  const registrations = new Registrations(o.deployment.registry, deployedFrom(o.deployment));
  const metrics = new NodeMetrics("evaluator");
  const scored = metrics.counter(
    "receipts_scored_total",
    "sampled receipts, by outcome (scored; withheld: scored 0, its output not shown; unavailable: the evaluator could not score it; late: reached after its epoch's commit phase; deferred: its worker could not be reached, asked again)",
    ["outcome"],
  );
  const phases = metrics.counter("score_phases_total", "commits and reveals sent", ["phase"]);
  let clock: ScoreClock | null = null;

  const lateBatches = new LateBatches(
    o.logger,
    "batches' epochs closed their commit phase before they were scored: their receipts go unscored (this evaluator is behind, after a restart or an outage)",
  );

  /** The blocks the latest batches' draws stand on (their seed blocks). */
  const drawnFrom = new DrawWatch(sqliteDrawNotes(db));

  /**
   * Batches whose seed block a reorganisation replaced (posted again, or their seed block mined anew)
   * are drawn again: the settler counts only the scores of the evaluators the chain's draw names, so
   * scores of the old draw would count for nothing and receipts of the new one would go unscored. Their
   * scores are forgotten where their epoch is not prepared yet, and the cursor moves back to them.
   */
  async function redrawReplaced(): Promise<void> {
    const replaced = await drawnFrom.replaced(o.chain);
    // The sequencer's batches and the forced ones are followed each by its own cursor.
    for (const [cursor, base, end] of [
      ["nextBatch", 0, FORCED_BASE],
      ["nextBatchForced", FORCED_BASE, Number.MAX_SAFE_INTEGER],
    ] as const) {
      const ofKind = replaced.filter((i) => i >= base && i < end);
      if (ofKind.length === 0) continue;
      const first = Math.min(...ofKind);
      if (first - base >= progress(cursor)) continue;
      const forgotten = db.prepare(FORGET_REDRAWN_SQL).run(first, end).changes;
      o.logger.warn(
        { batch: first, forgotten },
        "a reorganisation replaced the blocks batches' evaluators were drawn from: drawing and scoring them again",
      );
      setProgress(cursor, first - base);
    }
  }

  /** The receipt's query and answer as texts, or why they could not be had. */
  async function textsOf(
    r: Receipt,
    workers: ReadonlyMap<string, string>,
  ): Promise<{ query: string; output: string } | string> {
    const served = await servedRequestOf(r, workers);
    if (typeof served === "string") return served;
    if (!served.output) return "the worker's output does not hash to the receipt";
    const prompt = served.context.prompt;
    return {
      query: o.tokenText.prompt(prompt),
      output: o.tokenText.continuation(prompt, served.output),
    };
  }

  /**
   * Scores the receipts of batch `index` this evaluator is sampled for; false until its seed exists. A
   * batch whose epoch's commit phase had closed by `now` (chain time) is not scored: no commitment
   * could carry its scores any more, and scoring it would only keep an evaluator back from an outage
   * behind for as long as it was away, missing the epochs it could still commit. Its sampled receipts
   * are recorded without a score, noted `late`.
   */
  async function scoreBatch(index: number, k: ScoreClock, now: number): Promise<boolean> {
    const info = await batchInfo(o.chain, o.deployment.rollup, index);
    const drawn = await evaluatorSeedOf(o.chain, info, o.seedDelayBlocks);
    if (drawn === null) return false;
    drawnFrom.note(index, drawn.block, drawn.hash);
    const evaluators = await registrations.at(o.chain, 2, info.postedBlock);
    if (!evaluators.includes(me)) return true;
    const batch = await readPostedBatch(o.chain, o.deployment.rollup, index);
    if (!batch) return true;
    const epoch = epochAt(k, info.postedAt);
    const late = commitClosed(k, epoch, now);
    lateBatches.batch(index, late, batch.receipts.length);
    let workers: Map<string, string> | null = null;
    for (const [position, signed] of batch.receipts.entries()) {
      if (!sampleEvaluators(drawn.seed, position, evaluators, o.k).includes(me)) continue;
      if (db.prepare("SELECT 1 FROM scores WHERE batch = ? AND position = ?").get(index, position)) continue;
      if (late) {
        db.prepare(
          "INSERT INTO scores (batch, position, epoch, score, note) VALUES (?, ?, ?, NULL, 'late')",
        ).run(index, position, epoch);
        scored.inc({ outcome: "late" });
        continue;
      }
      workers ??= await workerDirectory(o.gateway);
      const result = await scoreOf(signed.receipt, workers);
      const { score, note } = result ?? { score: null, note: "deferred" };
      db.prepare("INSERT INTO scores (batch, position, epoch, score, note) VALUES (?, ?, ?, ?, ?)").run(
        index,
        position,
        epoch,
        score,
        note,
      );
      if (result === null) scored.inc({ outcome: "deferred" });
      else told({ batch: index, position, epoch }, result);
    }
    return true;
  }

  /** Counts and logs a receipt's score (or why it has none). */
  function told(
    receipt: { batch: number; position: number; epoch?: number },
    result: { score: number | null; note: string },
  ): void {
    const withheld = result.note.startsWith(WITHHELD);
    scored.inc({ outcome: result.score === null ? "unavailable" : withheld ? "withheld" : "scored" });
    o.logger.info({ ...receipt, ...result }, "receipt scored");
  }

  /**
   * Workers this pass could not reach: their receipts are deferred without asking again. A worker being
   * restarted must not hold up the pass, the receipts of other workers, or the commit and reveal phases:
   * in a chaos soak, passes that failed on one restarting worker missed whole epochs' phases.
   */
  let unreachable = new Set<string>();

  /** A receipt's score and note; null when its worker cannot be reached (asked again next pass). */
  async function scoreOf(
    r: Receipt,
    workers: ReadonlyMap<string, string>,
  ): Promise<{ score: number | null; note: string } | null> {
    const worker = r.worker.toLowerCase();
    if (unreachable.has(worker)) return null;
    let texts: Awaited<ReturnType<typeof textsOf>>;
    try {
      texts = await textsOf(r, workers);
    } catch (e) {
      unreachable.add(worker);
      o.logger.warn(
        { worker, err: (e as Error).message },
        "a worker cannot be reached: its receipts are scored later, before their epoch is committed to",
      );
      return null;
    }
    // Answered, but nothing that hashes to the receipt: what is not shown scores as the worst output.
    if (typeof texts === "string") return { score: UNSHOWN_OUTPUT_SCORE, note: `${WITHHELD}: ${texts}` };
    if (o.adversary === "colluding") return { score: 10, note: "scored" };
    try {
      return { score: quantizeScore((await o.evaluator.score(texts)).score), note: "scored" };
    } catch (e) {
      // An evaluator that cannot score (a judge's unparseable reply, its endpoint down) skips the
      // receipt rather than guessing: a receipt it does not reveal a score for has no score of its.
      // The note is logged at info, so it names the failure by its code and meaning only: a
      // message may quote what was scored (a judge's reply ends its JUDGE_REPLY_INVALID).
      const note =
        e instanceof VerinferError
          ? `evaluator failed: ${e.code} (${ERROR_CODES[e.code].meaning})`
          : `evaluator failed: ${(e as Error).name}`;
      return { score: null, note };
    }
  }

  /** Asks again for the deferred receipts of epochs not yet prepared. */
  async function scoreDeferred(): Promise<void> {
    const rows = db.prepare(DEFERRED_SQL).all() as { batch: number; position: number }[];
    if (rows.length === 0) return;
    const workers = await workerDirectory(o.gateway);
    const batches = new Map<number, Awaited<ReturnType<typeof readPostedBatch>>>();
    for (const { batch, position } of rows) {
      if (!batches.has(batch)) batches.set(batch, await readPostedBatch(o.chain, o.deployment.rollup, batch));
      const signed = batches.get(batch)?.receipts[position];
      if (!signed) continue;
      const result = await scoreOf(signed.receipt, workers);
      if (result === null) continue;
      db.prepare("UPDATE scores SET score = ?, note = ? WHERE batch = ? AND position = ?").run(
        result.score,
        result.note,
        batch,
        position,
      );
      told({ batch, position }, result);
    }
  }

  /** Sends `fn` and says whether it went through; a phase not yet open (or closed) is logged. */
  async function tryPhase(
    fn: "commit" | "reveal",
    args: readonly unknown[],
    epoch: number,
  ): Promise<boolean> {
    try {
      await send(o.chain, scoreCommits, scoreCommitsAbi, fn, args);
      phases.inc({ phase: fn });
      return true;
    } catch (e) {
      o.logger.warn({ epoch, err: chainErrorLine(e) }, `${fn} refused`);
      return false;
    }
  }

  const onChain = async (epoch: number) =>
    (await o.chain.public.readContract({
      address: scoreCommits,
      abi: scoreCommitsAbi,
      functionName: "commitments",
      args: [BigInt(epoch), me],
    })) as Hex;
  const setStatus = (epoch: number, status: string) =>
    db.prepare("UPDATE commits SET status = ? WHERE epoch = ?").run(status, epoch);

  /**
   * Drives each ended epoch through commit and reveal, from what the chain says: an epoch is prepared
   * (scores and salt stored) once every batch posted in it was scored — every epoch before `scoredBefore`;
   * its commitment is sent during the commit phase and its scores during the reveal phase, each retried
   * until the chain shows it. `passStart` is the chain's time when the pass counted the batches, which
   * bounds the epochs complete; the phases are timed by the chain's time now, after the pass's scoring
   * (which a worker that hangs until its timeout can make seconds long).
   */
  async function commitAndReveal(k: ScoreClock, passStart: number, scoredBefore: number): Promise<void> {
    const now = await chainTime(o.chain).catch(() => passStart);
    // A transaction sent now executes in a block at least now + 1, so a phase that closes by then is
    // missed; but it is estimated against the latest block (time `now`), so it is sent only once that
    // block is inside the phase (a send a second early is refused by the estimate, not mined later).
    const next = now + 1;
    const ended = epochAt(k, passStart + 1);
    for (const { epoch } of db.prepare(UNPREPARED_EPOCHS_SQL).all(Math.min(scoredBefore, ended)) as {
      epoch: number;
    }[]) {
      const { n: deferred } = db.prepare(EPOCH_DEFERRED_SQL).get(epoch) as { n: number };
      // Epochs are prepared in order: none after this one until it is.
      if (deferred > 0 && now < epochEnd(k, epoch) + k.commitSeconds * DEFERRED_GRACE_SHARE) break;
      // A worker still out of reach now has shown nothing of these receipts in time.
      const unshown = db
        .prepare(
          `UPDATE scores SET score = ?, note = '${WITHHELD}: its worker could not be reached before the epoch was committed to' WHERE epoch = ? AND note = 'deferred'`,
        )
        .run(UNSHOWN_OUTPUT_SCORE, epoch).changes;
      if (unshown > 0) {
        scored.inc({ outcome: "withheld" }, unshown);
        o.logger.warn(
          { epoch, receipts: unshown },
          "receipts whose worker could not be reached before their epoch was committed to are scored 0",
        );
      }
      const rows = db
        .prepare("SELECT batch, position, score FROM scores WHERE epoch = ? AND score IS NOT NULL")
        .all(epoch) as { batch: number; position: number; score: number }[];
      const scores = encodeScores(rows);
      const salt = bytesToHex(randomBytes(32));
      // Prepared only after its commit phase closed (back from an outage): missed from the start, never
      // shown as still committing.
      const status = commitClosed(k, epoch, now) ? "missed" : "committing";
      db.prepare("INSERT INTO commits (epoch, scores, salt, commitment, status) VALUES (?, ?, ?, ?, ?)").run(
        epoch,
        bytesToHex(scores),
        salt,
        scoreCommitment(BigInt(epoch), me, scores, salt),
        status,
      );
    }
    // Every epoch whose reveal phase may still be open (its end is after `now`) is at or after this one.
    const revealOpenFrom = epochAt(k, now - k.commitSeconds - k.revealSeconds) - 1;
    for (const c of db.prepare(OPEN_COMMITS_SQL).all(revealOpenFrom) as {
      epoch: number;
      scores: Hex;
      salt: Hex;
      commitment: Hex;
      status: string;
    }[]) {
      const commitOpens = epochEnd(k, c.epoch);
      const revealOpens = commitEnd(k, c.epoch);
      const stored = await onChain(c.epoch);
      if (BigInt(stored) === 1n) {
        if (c.status !== "revealed") setStatus(c.epoch, "revealed");
        continue;
      }
      // Sent and mined, and no longer on chain: a reorganisation took it off. Sent again, while its
      // phase is open.
      const lost =
        c.status === "revealed"
          ? stored.toLowerCase() === c.commitment.toLowerCase()
            ? "committed"
            : "committing"
          : c.status === "committed" && BigInt(stored) === 0n
            ? "committing"
            : null;
      if (lost) {
        o.logger.warn(
          { epoch: c.epoch, was: c.status, now: lost },
          "the chain no longer holds this evaluator's commitment or reveal (reorganised): sending it again",
        );
        setStatus(c.epoch, lost);
        c.status = lost;
      }
      if (c.status === "committing") {
        if (stored.toLowerCase() === c.commitment.toLowerCase()) setStatus(c.epoch, "committed");
        else if (commitClosed(k, c.epoch, now)) setStatus(c.epoch, "missed");
        else if (now >= commitOpens && (await tryPhase("commit", [BigInt(c.epoch), c.commitment], c.epoch))) {
          setStatus(c.epoch, "committed");
          o.logger.info({ epoch: c.epoch, commitment: c.commitment }, "scores committed");
        }
        continue;
      }
      if (next >= revealOpens + k.revealSeconds) setStatus(c.epoch, "missed");
      else if (
        now >= revealOpens &&
        (await tryPhase("reveal", [BigInt(c.epoch), c.scores, c.salt], c.epoch))
      ) {
        setStatus(c.epoch, "revealed");
        o.logger.info({ epoch: c.epoch }, "scores revealed");
      }
    }
  }

  const pass = new Pass(o.logger, "evaluator pass failed; will retry", async () => {
    clock ??= await scoreClock(o.chain, scoreCommits);
    // Time first: every batch posted in an epoch that has ended by `now` is then within `count`.
    const now = await chainTime(o.chain);
    const k = clock;
    await redrawReplaced();
    unreachable = new Set();
    // Scoring that fails (the gateway or the chain unreachable) still lets the epochs already prepared
    // be committed and revealed in their phases; it prepares none.
    let scoredBefore = Number.NEGATIVE_INFINITY;
    let failure: { e: unknown } | null = null;
    try {
      await scoreDeferred();
      const counts = await batchCounts(o.chain, o.deployment.rollup);
      const cursor = { get: progress, set: setProgress };
      const left = await followBatches(counts, cursor, "nextBatch", (i) => scoreBatch(i, k, now));
      // Batches are posted in index order, so the epochs before the one the first batch left (one whose
      // seed block is still to come, under steady traffic nearly always the newest) was posted in are
      // scored in full. Waiting until no batch at all is left would never commit while requests go on.
      scoredBefore = Number.POSITIVE_INFINITY;
      for (const index of left)
        scoredBefore = Math.min(
          scoredBefore,
          epochAt(k, (await batchInfo(o.chain, o.deployment.rollup, index)).postedAt),
        );
    } catch (e) {
      failure = { e };
    }
    await commitAndReveal(clock, now, scoredBefore);
    if (failure) throw failure.e;
    if (o.retentionMs !== undefined) forgetOldScores(store, clock, now, o.retentionMs);
  });

  const app = followerApp(metrics, o.logger);
  app.get("/health", async () => ({ ok: true, role: "evaluator", nextBatch: progress("nextBatch") }));
  app.get("/v1/scores", async () => ({
    evaluator: me,
    scoresWith: o.evaluator.info.name,
    // The latest epochs only: a view polled every second must not grow with the network's age.
    epochs: db.prepare(RECENT_EPOCHS_SQL).all(RECENT_EPOCHS),
  }));

  return followerNode({
    app,
    pass,
    pollMs: o.pollMs,
    db,
    onClose: () => Promise.all([o.evaluator.close(), o.tokenText.close()]).then(() => {}),
  });
}
