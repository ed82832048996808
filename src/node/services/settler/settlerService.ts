import type { Hex } from "viem";
import { z } from "zod";
import { send } from "../../../chain/clients.ts";
import type { ChainClients } from "../../../chain/deploy.ts";
import type { DeploymentFile } from "../../../chain/deploymentFile.ts";
import { rewardTree } from "../../../chain/epochs.ts";
import { epochsAbi, rollupAbi, verinferTokenAbi } from "../../../chain/generated/contracts.ts";
import { contractEvents, deployedFrom } from "../../../chain/logs.ts";
import {
  type BatchInfo,
  batchCounts,
  batchInfo,
  chainTime,
  epochAt,
  epochEnd,
  evaluatorSeedOf,
  firstBlockAtOrAfter,
  followBatches,
  Registrations,
  readPostedBatch,
  revealEnd,
  revealedScores,
  rollupConstant,
  type ScoreClock,
  scoreClock,
} from "../../../chain/postedBatches.ts";
import { VerinferError } from "../../../errors.ts";
import { bytesToHex } from "../../../protocol/encoding/hex.ts";
import { keccakUtf8 } from "../../../protocol/encoding/keccak.ts";
import type { PoeaParams } from "../../../protocol/params/otr.ts";
import type { PoqRoundParams } from "../../../protocol/params/poq.ts";
import {
  type FishermanEpoch,
  type RewardEntry,
  rewardEntries,
  roleTotals,
} from "../../../protocol/poea/epoch.ts";
import {
  type EpochReceipt,
  type EpochRound,
  networkEpochRounds,
  sampleEvaluators,
} from "../../../protocol/poq/networkEpoch.ts";
import {
  consensusWeight,
  initialTrust,
  type PoqTrustJson,
  type PoqTrustState,
  trustFromJson,
  trustToJson,
} from "../../../protocol/poq/round.ts";
import { jsonText } from "../../../report/json.ts";
import { type FollowerNode, followerApp, followerNode, openFollowerStore } from "../../followerNode.ts";
import { type Logger, NodeMetrics } from "../../observability.ts";
import { Pass } from "../../pass.ts";

export interface SettlerOptions {
  readonly dataDir: string;
  /** The account Epochs names as settler (on a devnet, the owner: it mints the epoch's rewards). */
  readonly chain: ChainClients;
  readonly deployment: DeploymentFile;
  readonly poea: PoeaParams;
  readonly round: PoqRoundParams;
  readonly seedDelayBlocks: number;
  readonly pollMs: number;
  readonly logger: Logger;
  /**
   * "settle" posts each epoch's reward root and claims it; "audit" posts nothing: it recomputes each
   * epoch from the chain as the settler must, and checks the root and inputs' hash the settler posted.
   */
  readonly mode?: "settle" | "audit";
  /**
   * How long after its end an epoch's inputs, rounds and counted receipts are kept (ms); absent:
   * forever. At least the rollup's maxReceiptAge and two epochs: a receipt counted in an epoch can be
   * forced in again that long after.
   */
  readonly retentionMs?: number | undefined;
  /** The rollup's maxReceiptAge (ms). */
  readonly maxReceiptAgeMs: number;
}

export type SettlerNode = FollowerNode;

/** What an epoch's settlement read from the chain: enough to recompute it offline. */
interface EpochInputs {
  readonly receipts: EpochReceipt[];
  /** Per evaluator, its revealed scores as [batch:position, score]. */
  readonly reveals: Record<string, [string, number][]>;
  readonly fishermen: FishermanEpoch[];
  /** Evaluators in registration order (their trust nodes). */
  readonly evaluators: Hex[];
  /**
   * The block registrations and stakes were read at: the first at or after the epoch's reveal end,
   * so that whoever recomputes the epoch reads the same (a decimal string).
   */
  readonly readAtBlock: string;
}

/*
 * A pass reads only what it needs, through indexes: an epoch's batches, the epochs awaiting claims (a
 * scan of every batch or epoch ever filed would make each pass cost more as the network ages; tested by
 * query plan).
 */
export const SETTLER_SCHEMA = `
CREATE TABLE IF NOT EXISTS batches (batch INTEGER PRIMARY KEY, epoch INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS batches_epoch ON batches (epoch);
CREATE TABLE IF NOT EXISTS counted (digest TEXT PRIMARY KEY, epoch INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS counted_epoch ON counted (epoch);
CREATE TABLE IF NOT EXISTS epochs (epoch INTEGER PRIMARY KEY, status TEXT NOT NULL, root TEXT, minted TEXT NOT NULL, inputs TEXT NOT NULL, entries TEXT NOT NULL, rounds TEXT NOT NULL, attribution TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS epochs_status ON epochs (status);
-- The evaluators' trust after the latest epoch with PoQ rounds, and those evaluators in registration
-- order (one row): a restart continues from it instead of replaying every epoch since the deployment.
CREATE TABLE IF NOT EXISTS trust (epoch INTEGER PRIMARY KEY, evaluators TEXT NOT NULL, state TEXT NOT NULL);
`;

/** The most epochs one `GET /v1/epochs` returns. */
const MAX_EPOCHS_PAGE = 1_000;

const EPOCHS_QUERY = z
  .object({
    limit: z.coerce.number().int().min(1).max(MAX_EPOCHS_PAGE).default(100),
    before: z.coerce.number().int().min(0).optional(),
    work: z.enum(["true", "false"]).default("false"),
  })
  .strict();

/** How an epoch stands in this node's store ("agrees" and "disagrees" are an auditor's verdicts). */
type EpochStatus = "empty" | "posted" | "claimed" | "agrees" | "disagrees";

/** An epoch's settlement as computed here: the reward root, what it was computed from, and the rounds. */
interface Settlement {
  readonly root: string | null;
  readonly minted: bigint;
  readonly inputsText: string;
  readonly entries: readonly RewardEntry[];
  readonly rounds: readonly EpochRound[];
  readonly attribution: Record<string, unknown>;
}

/** An epoch's reward root and the hash of the inputs it was computed from. */
interface Posted {
  readonly root: Hex;
  readonly inputsHash: Hex;
}

const sameHex = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

const entryOf = (x: Record<string, string | number>): RewardEntry => ({
  account: x.account as Hex,
  role: x.role as 0 | 1 | 2,
  weight: BigInt(x.weight as string),
  amount: BigInt(x.amount as string),
  weightBefore: BigInt(x.weightBefore as string),
  amountBefore: BigInt(x.amountBefore as string),
});

/**
 * An epoch's `inputs` and `rounds` once forgotten (past the retention): `'{}'` stays an epoch without
 * receipts.
 */
const FORGOTTEN = "null";

/** Epochs forgotten per pass at most (each its own transaction). */
const FORGET_PER_PASS = 16;

/** The batches filed under an epoch. */
export const EPOCH_BATCHES_SQL = "SELECT batch FROM batches WHERE epoch = ? ORDER BY batch";

/** Posted epochs, whose entries are claimed once their window has passed. */
export const POSTED_EPOCHS_SQL =
  "SELECT epoch, root, minted, inputs, entries FROM epochs WHERE status = 'posted'";

export function createSettler(o: SettlerOptions): SettlerNode {
  const { epochs, registry, rollup, token } = o.deployment;
  const scoreCommits = o.deployment.scoreCommits;
  const registrations = new Registrations(registry, deployedFrom(o.deployment));
  if (!epochs || !scoreCommits)
    throw new VerinferError(
      "CONFIG_INVALID",
      "the deployment has no Epochs and ScoreCommits: nothing to settle",
    );
  // A receipt counted in an epoch can come back (forced in by its client) until it is stale: the
  // digests counted must outlive that, or it would be paid twice.
  const leastRetentionMs = o.maxReceiptAgeMs + 2 * o.poea.epochMs;
  if (o.retentionMs !== undefined && o.retentionMs < leastRetentionMs)
    throw new VerinferError(
      "CONFIG_INVALID",
      `retention ${o.retentionMs / 86_400_000} days is less than the rollup's maxReceiptAge and two epochs (${(leastRetentionMs / 86_400_000).toFixed(3)} days): a receipt forced in again could be paid twice`,
    );
  const { db, progress, setProgress } = openFollowerStore(o.dataDir, "settler.sqlite", SETTLER_SCHEMA);
  const me = o.chain.wallet.account.address;
  const metrics = new NodeMetrics("settler");
  const settled = metrics.counter("epochs_total", "epochs settled, by outcome", ["outcome"]);
  let clock: ScoreClock | null = null;
  let trust: { nodes: number; state: PoqTrustState } | null = null;
  const auditing = o.mode === "audit";

  const read = <T>(
    address: Hex,
    abi: readonly unknown[],
    functionName: string,
    args: readonly unknown[] = [],
  ) => o.chain.public.readContract({ address, abi, functionName, args } as never) as Promise<T>;

  const revealMap = (i: EpochInputs) =>
    new Map(Object.entries(i.reveals).map(([e, scores]) => [e as Hex, new Map(scores)]));
  const indexOf = (evaluators: readonly Hex[]) => new Map(evaluators.map((e, i) => [e, i]));

  /**
   * The trust state before the next epoch, for `nodes` evaluators: the latest checkpoint (grown by the
   * evaluators registered since) with the epochs recorded after it replayed — none, unless the process
   * stopped between recording an epoch and checkpointing it, or the store predates checkpoints.
   */
  function trustFor(nodes: number): PoqTrustState {
    if (trust?.nodes === nodes) return trust.state;
    const grow = (json: PoqTrustJson, after: number) => {
      if (json.weights.length > nodes)
        throw new VerinferError(
          "STORE_CORRUPT",
          `the trust after epoch ${after} covers ${json.weights.length} evaluators, the next epoch has ${nodes}: registrations never shrink`,
        );
      return trustFromJson(json, nodes, o.round);
    };
    let state: PoqTrustState;
    if (trust && trust.nodes < nodes) state = grow(trustToJson(trust.state), -1);
    else {
      const checkpoint = db.prepare("SELECT epoch, state FROM trust ORDER BY epoch DESC LIMIT 1").get() as
        | { epoch: number; state: string }
        | undefined;
      state = checkpoint
        ? grow(JSON.parse(checkpoint.state), checkpoint.epoch)
        : initialTrust(nodes, o.round);
      let last: { epoch: number; evaluators: Hex[] } | null = null;
      for (const row of db
        .prepare(
          `SELECT epoch, inputs FROM epochs WHERE epoch > ? AND inputs NOT IN ('{}', '${FORGOTTEN}') ORDER BY epoch`,
        )
        .all(checkpoint?.epoch ?? -1) as { epoch: number; inputs: string }[]) {
        const i = JSON.parse(row.inputs) as EpochInputs;
        networkEpochRounds(receiptsOf(i), revealMap(i), state, indexOf(i.evaluators), o.round);
        last = { epoch: row.epoch, evaluators: i.evaluators };
      }
      if (last) checkpointTrust(last.epoch, last.evaluators, state);
    }
    trust = { nodes, state };
    return state;
  }

  /** Keeps the trust after epoch e (and its evaluators) as the one checkpoint. */
  function checkpointTrust(e: number, evaluators: readonly Hex[], state: PoqTrustState): void {
    db.transaction(() => {
      db.prepare("INSERT OR REPLACE INTO trust (epoch, evaluators, state) VALUES (?, ?, ?)").run(
        e,
        JSON.stringify(evaluators),
        JSON.stringify(trustToJson(state)),
      );
      db.prepare("DELETE FROM trust WHERE epoch < ?").run(e);
    })();
  }
  const receiptsOf = (i: EpochInputs) => i.receipts.map((r) => ({ ...r, worker: r.worker as Hex }));

  /** Files new batches under the epoch of their posting time. */
  async function fileBatches(k: ScoreClock): Promise<void> {
    const counts = await batchCounts(o.chain, rollup);
    await followBatches(counts, { get: progress, set: setProgress }, "nextBatch", async (b) => {
      const info = await batchInfo(o.chain, rollup, b);
      db.prepare("INSERT OR IGNORE INTO batches (batch, epoch) VALUES (?, ?)").run(
        b,
        epochAt(k, info.postedAt),
      );
      return true;
    });
  }

  /**
   * Receipts voided and disputes still open, per "batch:position", over these batches (read from
   * `fromBlock`, the first one's posting: no dispute over a receipt comes before its batch).
   */
  async function disputesOf(
    batches: readonly number[],
    fromBlock: bigint,
  ): Promise<{ voided: Set<string>; open: number }> {
    const events = (eventName: string) =>
      contractEvents<{ args: { batch: bigint; position: number; voided?: boolean } }>(
        o.chain,
        { address: rollup, abi: rollupAbi, eventName, args: { batch: batches.map(BigInt) } },
        { fromBlock },
      );
    const key = (l: { args: { batch: bigint; position: number } }) => `${l.args.batch}:${l.args.position}`;
    const opened = await events("DisputeOpened");
    const closed = await events("DisputeSettled");
    return {
      voided: new Set(closed.filter((l) => l.args.voided).map(key)),
      open: opened.length - closed.length,
    };
  }

  /**
   * Reads epoch e from the chain, with the digests of the receipts it counts; null while one of its
   * batches is not final or a dispute is open.
   */
  async function inputsOf(
    k: ScoreClock,
    e: number,
    batches: readonly number[],
    now: number,
  ): Promise<{ inputs: EpochInputs; digests: string[] } | null> {
    const window = Number(await rollupConstant(o.chain, rollup, "challengeWindow"));
    const infos: [number, BatchInfo][] = [];
    for (const b of batches) infos.push([b, await batchInfo(o.chain, rollup, b)]);
    if (infos.some(([, info]) => info.postedAt + window > now)) return null;
    // Disputes and reveals over an epoch's receipts all come after its first batch (batches are
    // posted in index order) was posted.
    const firstPosted = infos[0]?.[1].postedBlock ?? 0n;
    const disputes = await disputesOf(batches, firstPosted);
    if (disputes.open > 0) return null;
    const receipts: EpochReceipt[] = [];
    // A receipt on chain twice (sequenced, and forced in by its client too) counts once: where it was
    // first seen, by epoch, then batch index (the sequencer's batches before forced ones).
    const countedBefore = db.prepare("SELECT 1 FROM counted WHERE digest = ? AND epoch < ?");
    const seen = new Set<string>();
    const digests: string[] = [];
    for (const [b, info] of infos) {
      const posted = info.kind !== 1 ? await readPostedBatch(o.chain, rollup, b) : null;
      const drawn = await evaluatorSeedOf(o.chain, info, o.seedDelayBlocks);
      if (!posted || drawn === null) continue;
      const sampleFrom = await registrations.at(o.chain, 2, info.postedBlock);
      for (const [position, { receipt: r }] of posted.receipts.entries()) {
        const digest = (posted.digests[position] as Hex).toLowerCase();
        if (seen.has(digest) || countedBefore.get(digest, e)) continue;
        seen.add(digest);
        digests.push(digest);
        receipts.push({
          batch: b,
          position,
          worker: r.worker.toLowerCase() as Hex,
          inputTokens: r.inputTokens,
          outputTokens: r.outputTokens,
          latencyMs: r.latencyMs,
          // A stale receipt (posted past its maximum age) could not be checked: it is paid as a voided one.
          voided: disputes.voided.has(`${b}:${position}`) || posted.stale[position] === true,
          evaluators: sampleEvaluators(drawn.seed, position, sampleFrom, o.round.k),
        });
      }
    }
    const revealed = await revealedScores(o.chain, scoreCommits as Hex, e, firstPosted);
    const pinned = await firstBlockAtOrAfter(o.chain, revealEnd(k, e));
    if (pinned === null) return null;
    const fishermen: FishermanEpoch[] = [];
    for (const f of await registrations.at(o.chain, 3, pinned)) {
      // From the registry's events: the chain's node need not hold the state of `pinned` any more.
      const active = await registrations.activeStakeAt(o.chain, f, pinned);
      // Watching cannot be proven on chain: every fisherman with stake counts as active.
      fishermen.push({ fisherman: f, stake: active, active: active > 0n });
    }
    const inputs: EpochInputs = {
      receipts,
      reveals: Object.fromEntries(
        [...revealed].map(([ev, scores]) => [ev, scores.map((s) => [`${s.batch}:${s.position}`, s.score])]),
      ),
      fishermen,
      evaluators: await registrations.at(o.chain, 2, pinned),
      readAtBlock: String(pinned),
    };
    return { inputs, digests };
  }

  /** Posts epoch e's reward root (minting and depositing its rewards); false while it must wait. */
  async function settle(k: ScoreClock, e: number, now: number): Promise<boolean> {
    const batches = (
      db.prepare(EPOCH_BATCHES_SQL).all(e) as {
        batch: number;
      }[]
    ).map((r) => r.batch);
    const got = batches.length > 0 ? await inputsOf(k, e, batches, now) : null;
    if (batches.length > 0 && got === null) return false;
    const inputs = got?.inputs;
    const minted = o.poea.epochRewards;
    if (!inputs || inputs.receipts.length === 0) {
      const nothing: Settlement = {
        root: null,
        minted,
        inputsText: "{}",
        entries: [],
        rounds: [],
        attribution: {},
      };
      // An honest settler posts nothing for an epoch without receipts: a root posted for one is a lie.
      const posted = auditing ? await postedOnChain(e) : null;
      if (posted) {
        report(e, { agrees: false, posted, recomputed: null }, 0);
        record(e, "disagrees", nothing, []);
        return true;
      }
      record(e, "empty", nothing, []);
      settled.inc({ outcome: "empty" });
      return true;
    }
    const state = trustFor(inputs.evaluators.length);
    const outcome = networkEpochRounds(
      receiptsOf(inputs),
      revealMap(inputs),
      state,
      indexOf(inputs.evaluators),
      o.round,
    );
    const r = rewardEntries(o.poea, minted, outcome.workers, outcome.evaluators, inputs.fishermen);
    const settlement: Settlement = {
      root: bytesToHex(rewardTree(r.entries).root),
      minted,
      inputsText: jsonText(inputs),
      entries: r.entries,
      rounds: outcome.rounds,
      attribution: Object.fromEntries(outcome.workers.map((w) => [w.worker, w])),
    };
    const root = settlement.root as Hex;
    const inputsHash = keccakUtf8(settlement.inputsText);
    if (auditing) {
      const posted = await postedOnChain(e);
      if (!posted) {
        trust = null; // the rounds above moved trust; replayed once the settler has posted
        return false;
      }
      const agrees = sameHex(posted.root, root) && sameHex(posted.inputsHash, inputsHash);
      report(e, { agrees, posted, recomputed: { root, inputsHash } }, inputs.receipts.length);
      record(e, agrees ? "agrees" : "disagrees", settlement, got?.digests ?? [], {
        evaluators: inputs.evaluators,
        state,
      });
      return true;
    }
    try {
      if (!(await postedOnChain(e))) await sendSettlement(e, root, minted, r.entries, inputsHash);
    } catch (error) {
      trust = null; // the rounds above moved trust; replay it from what was settled
      throw error;
    }
    record(e, "posted", settlement, got?.digests ?? [], { evaluators: inputs.evaluators, state });
    settled.inc({ outcome: "posted" });
    if (outcome.rounds.length === 0)
      o.logger.warn(
        { epoch: e },
        "no evaluator revealed a score for this epoch's receipts: its workers are paid by verified work and efficiency alone",
      );
    o.logger.info(
      {
        epoch: e,
        root,
        receipts: inputs.receipts.length,
        rounds: outcome.rounds.length,
        entries: r.entries.length,
      },
      "epoch posted",
    );
    return true;
  }

  /**
   * Posts epoch e's settlement: its root, the tokens minted for it (escrowed from the settler's balance),
   * each role's total weight and count of entries, and its inputs' hash.
   */
  async function sendSettlement(
    e: number,
    root: Hex,
    minted: bigint,
    entries: readonly RewardEntry[],
    inputsHash: Hex,
  ): Promise<void> {
    const { totals, counts } = roleTotals(entries);
    const balance = await read<bigint>(token, verinferTokenAbi, "balanceOf", [me]);
    if (balance < minted) await send(o.chain, token, verinferTokenAbi, "mint", [me, minted - balance]);
    await send(o.chain, token, verinferTokenAbi, "approve", [epochs, minted]);
    await send(o.chain, epochs as Hex, epochsAbi, "post", [
      BigInt(e),
      root,
      minted,
      totals,
      counts,
      inputsHash,
    ]);
  }

  /** Epoch e's root and inputs' hash on chain; null while none is posted (or the last was voided). */
  async function postedOnChain(e: number): Promise<Posted | null> {
    const ep = await read<{ root: Hex; inputsHash: Hex; postedAt: bigint; voided: boolean }>(
      epochs as Hex,
      epochsAbi,
      "epoch",
      [BigInt(e)],
    );
    return ep.postedAt === 0n || ep.voided ? null : ep;
  }

  /**
   * Stores epoch e's settlement (and counts its receipts' digests as paid for in e), with the trust its
   * rounds left when it had any.
   */
  function record(
    e: number,
    status: EpochStatus,
    x: Settlement,
    digests: readonly string[],
    after?: { readonly evaluators: readonly Hex[]; readonly state: PoqTrustState },
  ): void {
    db.transaction(() => {
      if (after) checkpointTrust(e, after.evaluators, after.state);
      db.prepare(
        "INSERT OR REPLACE INTO epochs (epoch, status, root, minted, inputs, entries, rounds, attribution) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ).run(
        e,
        status,
        x.root,
        String(x.minted),
        x.inputsText,
        jsonText(x.entries),
        JSON.stringify(x.rounds),
        jsonText(x.attribution),
      );
      const count = db.prepare("INSERT OR IGNORE INTO counted (digest, epoch) VALUES (?, ?)");
      for (const digest of digests) count.run(digest, e);
    })();
  }

  /** An audit's verdict on epoch e: what the settler posted against what the chain gives (null: nothing). */
  function report(
    e: number,
    { agrees, posted, recomputed }: { agrees: boolean; posted: Posted; recomputed: Posted | null },
    receipts: number,
  ): void {
    settled.inc({ outcome: agrees ? "agrees" : "disagrees" });
    if (agrees)
      o.logger.info({ epoch: e, root: posted.root, receipts }, "epoch audited: the settler's root agrees");
    else
      o.logger.error(
        { epoch: e, posted, recomputed, receipts },
        "epoch audited: the settler's root is not what the chain gives; see GET /v1/epochs/{epoch} for the recomputed inputs",
      );
  }

  /**
   * Forgets, oldest first, what epochs ended more than the retention ago keep per receipt: their inputs
   * and rounds (the trust checkpoint holds what their rounds left; their entries and attribution stay),
   * the digests counted in them, their batches. Only epochs settled for good (claimed, audited, or
   * empty); a few per pass.
   */
  function forgetOld(k: ScoreClock, now: number): void {
    if (o.retentionMs === undefined) return;
    const retentionS = o.retentionMs / 1000;
    const trusted =
      (db.prepare("SELECT MAX(epoch) AS e FROM trust").get() as { e: number | null }).e ??
      Number.NEGATIVE_INFINITY;
    for (let n = 0, e = progress("forgetFrom"); n < FORGET_PER_PASS && e < progress("nextEpoch"); n++, e++) {
      const row = db.prepare("SELECT status, inputs FROM epochs WHERE epoch = ?").get(e) as
        | { status: EpochStatus; inputs: string }
        | undefined;
      if (!row || row.status === "posted" || epochEnd(k, e) + retentionS > now) return;
      if (row.inputs !== "{}" && row.inputs !== FORGOTTEN && e > trusted) return;
      db.transaction(() => {
        db.prepare(
          `UPDATE epochs SET inputs = '${FORGOTTEN}', rounds = '${FORGOTTEN}' WHERE epoch = ? AND inputs != '{}'`,
        ).run(e);
        db.prepare("DELETE FROM counted WHERE epoch = ?").run(e);
        db.prepare("DELETE FROM batches WHERE epoch = ?").run(e);
        setProgress("forgetFrom", e + 1);
      })();
    }
  }

  /** Claims every entry of each posted epoch whose window has passed, then burns its dust. */
  async function claimSettled(now: number): Promise<void> {
    const window = Number(await read<bigint>(epochs as Hex, epochsAbi, "challengeWindow"));
    for (const row of db.prepare(POSTED_EPOCHS_SQL).all() as {
      epoch: number;
      root: Hex;
      minted: string;
      inputs: string;
      entries: string;
    }[]) {
      const onChain = await read<{ postedAt: bigint; dustBurned: boolean }>(
        epochs as Hex,
        epochsAbi,
        "epoch",
        [BigInt(row.epoch)],
      );
      const entries = (JSON.parse(row.entries) as Record<string, string | number>[]).map(entryOf);
      if (onChain.postedAt === 0n) {
        // Posted, and no longer on chain: a reorganisation took the post off. Posted again as recorded
        // (the same root: the epoch's inputs were read from batches final before it was posted).
        o.logger.warn(
          { epoch: row.epoch },
          "the chain no longer holds this epoch's settlement (reorganised): posting it again",
        );
        await sendSettlement(row.epoch, row.root, BigInt(row.minted), entries, keccakUtf8(row.inputs));
        continue;
      }
      if (Number(onChain.postedAt) + window >= now) continue;
      const tree = rewardTree(entries);
      const proof = (i: number) => tree.proof(i).map(bytesToHex);
      for (const [i, x] of entries.entries()) {
        if (await read<boolean>(epochs as Hex, epochsAbi, "claimed", [BigInt(row.epoch), BigInt(i)]))
          continue;
        await send(o.chain, epochs as Hex, epochsAbi, "claim", [BigInt(row.epoch), BigInt(i), x, proof(i)]);
      }
      // Each role's last entry says what the role was paid; a role without entries burns its pool.
      const lasts = [0, 1, 2].map((role) => {
        const i = entries.map((x) => x.role).lastIndexOf(role as 0);
        return i < 0
          ? {
              x: { account: me, role, weight: 0n, amount: 0n, weightBefore: 0n, amountBefore: 0n },
              proof: [],
            }
          : { x: entries[i] as RewardEntry, proof: proof(i) };
      });
      // Burned already when a settler stopped between the burn and recording it: done on restart.
      if (!onChain.dustBurned)
        await send(o.chain, epochs as Hex, epochsAbi, "burnDust", [
          BigInt(row.epoch),
          lasts.map((l) => l.x),
          lasts.map((l) => l.proof),
        ]);
      db.prepare("UPDATE epochs SET status = 'claimed' WHERE epoch = ?").run(row.epoch);
      settled.inc({ outcome: "claimed" });
      o.logger.info({ epoch: row.epoch, entries: entries.length }, "epoch claimed and its dust burned");
    }
  }

  async function ensureBond(): Promise<void> {
    const bond = await read<bigint>(epochs as Hex, epochsAbi, "settlerBond");
    const min = await read<bigint>(epochs as Hex, epochsAbi, "minSettlerBond");
    if (bond >= min) return;
    const balance = await read<bigint>(token, verinferTokenAbi, "balanceOf", [me]);
    if (balance < min - bond)
      await send(o.chain, token, verinferTokenAbi, "mint", [me, min - bond - balance]);
    await send(o.chain, token, verinferTokenAbi, "approve", [epochs, min - bond]);
    await send(o.chain, epochs as Hex, epochsAbi, "depositBond", [min - bond]);
  }

  let bonded = auditing;
  const pass = new Pass(o.logger, "settler pass failed; will retry", async () => {
    clock ??= await scoreClock(o.chain, scoreCommits);
    if (!bonded) {
      await ensureBond();
      bonded = true;
    }
    const now = await chainTime(o.chain);
    await fileBatches(clock);
    for (let e = progress("nextEpoch"); now >= revealEnd(clock, e); e++) {
      if (!(await settle(clock, e, now))) break;
      setProgress("nextEpoch", e + 1);
    }
    if (!auditing) await claimSettled(now);
    forgetOld(clock, now);
  });

  const app = followerApp(metrics, o.logger);
  app.get("/health", async () => ({
    ok: true,
    role: "settler",
    mode: auditing ? "audit" : "settle",
    nextEpoch: progress("nextEpoch"),
  }));
  // Each evaluator's consensus weight after the epochs settled so far (1 each for aggregators without
  // trust), in registration order: the latest checkpoint (anyone can recompute it from the epochs' inputs).
  app.get("/v1/trust", async () => {
    const checkpoint = db.prepare("SELECT evaluators, state FROM trust ORDER BY epoch DESC LIMIT 1").get() as
      | { evaluators: string; state: string }
      | undefined;
    const evaluators = checkpoint ? (JSON.parse(checkpoint.evaluators) as Hex[]) : [];
    const json = checkpoint ? (JSON.parse(checkpoint.state) as PoqTrustJson) : null;
    const state = json ? trustFromJson(json, json.weights.length, o.round) : initialTrust(0, o.round);
    return {
      aggregator: o.round.aggregator,
      evaluators: evaluators.map((evaluator, i) => ({
        evaluator,
        weight: consensusWeight(state, i, o.round),
      })),
    };
  });
  // The latest settled epochs (a page: a year of hourly epochs is 8,760 of them, and gateways ask
  // every few seconds), oldest first; `more` says whether older ones are left (`before` pages on).
  app.get("/v1/epochs", async (request) => {
    const q = EPOCHS_QUERY.safeParse(request.query);
    if (!q.success)
      throw new VerinferError(
        "API_REQUEST_INVALID",
        `GET /v1/epochs takes limit (1–${MAX_EPOCHS_PAGE}), before (an epoch) and work (true: only epochs with attributed work): ${q.error.issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; ")}`,
      );
    const { limit, before, work } = q.data;
    const rows = db
      .prepare(
        `SELECT epoch, status, root, minted, attribution FROM epochs
          WHERE epoch < ? ${work === "true" ? "AND EXISTS (SELECT 1 FROM json_each(epochs.attribution))" : ""}
          ORDER BY epoch DESC LIMIT ?`,
      )
      .all(before ?? Number.MAX_SAFE_INTEGER, limit + 1) as { attribution: string }[];
    return {
      epochs: rows
        .slice(0, limit)
        .reverse()
        .map((r) => ({ ...r, attribution: JSON.parse(r.attribution) })),
      more: rows.length > limit,
    };
  });
  app.get<{ Params: { epoch: string } }>("/v1/epochs/:epoch", async (request, reply) => {
    const row = db.prepare("SELECT * FROM epochs WHERE epoch = ?").get(Number(request.params.epoch)) as
      | {
          epoch: number;
          status: string;
          root: string;
          minted: string;
          inputs: string;
          entries: string;
          rounds: string;
          attribution: string;
        }
      | undefined;
    if (!row)
      throw new VerinferError("EPOCH_NOT_SETTLED", `epoch ${request.params.epoch} is not settled yet`);
    const entries = (JSON.parse(row.entries) as Record<string, string | number>[]).map(entryOf);
    const tree = rewardTree(entries);
    return reply.header("content-type", "application/json").send(
      jsonText({
        epoch: row.epoch,
        status: row.status,
        root: row.root,
        minted: row.minted,
        entries: entries.map((x, i) => ({ ...x, proof: tree.proof(i).map(bytesToHex) })),
        attribution: JSON.parse(row.attribution),
        rounds: JSON.parse(row.rounds) as EpochRound[] | null,
        inputs: JSON.parse(row.inputs),
        ...(row.inputs === FORGOTTEN
          ? {
              forgotten: `this settler keeps an epoch's inputs and rounds ${(o.retentionMs ?? 0) / 86_400_000} days after its end; an auditor recomputes them from the chain (verinfer node settler --mode audit)`,
            }
          : {}),
      }),
    );
  });

  // A store from before trust checkpoints: its epochs replayed once, and checkpointed.
  const latest = db
    .prepare(
      `SELECT inputs FROM epochs WHERE inputs NOT IN ('{}', '${FORGOTTEN}') ORDER BY epoch DESC LIMIT 1`,
    )
    .get() as { inputs: string } | undefined;
  if (latest && !db.prepare("SELECT 1 FROM trust").get())
    trustFor((JSON.parse(latest.inputs) as EpochInputs).evaluators.length);

  return followerNode({ app, pass, pollMs: o.pollMs, db });
}
