/**
 * Proof of Quality on a running network (docs/spec/otr.md §6.1): which evaluators score which posted
 * receipt, how an evaluator's scores of an epoch are encoded, committed and revealed on chain
 * (contracts/src/ScoreCommits.sol), and how the settler turns the revealed scores into the epoch's
 * PoQ rounds — consensus, trust, the quality each worker is paid for and each evaluator's reward —
 * ready for `settleEpoch` / `rewardEntries` (poea/epoch.ts). Evaluator nodes, the settler and the
 * tests run this same code; anyone with the chain's data can recompute an epoch with it.
 *
 * - Sampling: per receipt, k distinct evaluators drawn with the project's PRNG from a seed of the
 *   batch root and the hash of the block `seedDelayBlocks` after the batch's posting block — data no
 *   single party controls when the batch is posted (the same grinding bound as the spot-checks').
 * - Scores: 0–10 in hundredths; 10 bytes each (batch uint32, position uint32, score uint16), sorted.
 * - Rounds: only the sampled evaluators' revealed scores count; a receipt nobody revealed a score for
 *   has no round. Evaluators' costs are taken as equal (a node's own claim of its cost is not
 *   checkable), so their rewards follow agreement with consensus alone.
 * - Workers: verified work is the tokens of their non-voided receipts; quality is the mean paid quality
 *   of those receipts' rounds (the epoch's mean for a worker none of whose receipts was scored, and
 *   {@link UNSCORED_EPOCH_QUALITY} for every worker of an epoch with no paid round at all); cost per token is the mean receipt latency per generated token, normalized per round by the epoch's
 *   highest for the inference reward.
 */

import { concatBytes, type Hex, hexToBytes, utf8Bytes } from "../encoding/hex.ts";
import { keccak256, keccak256Hex } from "../encoding/keccak.ts";
import { fail, ok, type Verdict } from "../errors.ts";
import type { PoqRoundParams } from "../params/poq.ts";
import type { EvaluatorEpoch, WorkerEpoch } from "../poea/epoch.ts";
import { createRng } from "../rng/prng.ts";
import { type PoqRoundScratch, type PoqTrustState, poqRound, roundScratch, settleRound } from "./round.ts";

/** One evaluator's score of one posted receipt (0–10, in hundredths). */
export interface ReceiptScore {
  readonly batch: number;
  readonly position: number;
  readonly score: number;
}

export const SCORE_BYTES = 10;
const MAX_HUNDREDTHS = 1_000;

/**
 * Every worker's quality in an epoch no evaluator revealed a score for (the evaluators down, or their
 * commitments lost to a reorganisation): no quality signal, so no worker weighs more than another on
 * quality and the worker pool splits by verified work × efficiency. Any common value splits it alike;
 * the scale's midpoint says "unknown". Without it every worker weighed 0 and the pool was burned:
 * workers lost an epoch's pay for the evaluators' failure, which no worker can prevent.
 */
export const UNSCORED_EPOCH_QUALITY = 5;

/**
 * What an honest evaluator scores a sampled receipt whose output it was not shown: the worker refused
 * it (404), gave one that does not hash to the receipt, or could not be reached until the evaluator had
 * to prepare its commitment. Left unscored instead, such a receipt would have no round, and a worker
 * could show the evaluators only its good outputs and be paid their mean: hiding the bad ones would pay.
 * Showing what it served, for the evaluation window, is part of the work paid for. An evaluator that
 * claims a shown output was withheld is one score of k, outvoted like any other wrong score.
 */
export const UNSHOWN_OUTPUT_SCORE = 0;

/** A score rounded to what is committed on chain (hundredths, clamped to 0–10). */
export function quantizeScore(score: number): number {
  return Math.round(Math.min(10, Math.max(0, score)) * 100) / 100;
}

/** The scores as ScoreCommits.reveal takes them: sorted by (batch, position), 10 bytes each. */
export function encodeScores(scores: readonly ReceiptScore[]): Uint8Array {
  const sorted = [...scores].sort((a, b) => a.batch - b.batch || a.position - b.position);
  const out = new Uint8Array(sorted.length * SCORE_BYTES);
  const view = new DataView(out.buffer);
  sorted.forEach((s, i) => {
    view.setUint32(i * SCORE_BYTES, s.batch);
    view.setUint32(i * SCORE_BYTES + 4, s.position);
    view.setUint16(i * SCORE_BYTES + 8, Math.round(quantizeScore(s.score) * 100));
  });
  return out;
}

/** Reads revealed scores; SCORES_MALFORMED for a ragged length, a score above 10 or a repeated receipt. */
export function decodeScores(bytes: Uint8Array): Verdict<ReceiptScore[]> {
  if (bytes.length % SCORE_BYTES !== 0)
    return fail("SCORES_MALFORMED", `${bytes.length} bytes is not a whole number of 10-byte scores`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const scores: ReceiptScore[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < bytes.length; i += SCORE_BYTES) {
    const batch = view.getUint32(i);
    const position = view.getUint32(i + 4);
    const hundredths = view.getUint16(i + 8);
    if (hundredths > MAX_HUNDREDTHS)
      return fail(
        "SCORES_MALFORMED",
        `score ${hundredths / 100} of batch ${batch} position ${position} is above 10`,
      );
    const key = `${batch}:${position}`;
    if (seen.has(key)) return fail("SCORES_MALFORMED", `batch ${batch} position ${position} is scored twice`);
    seen.add(key);
    scores.push({ batch, position, score: hundredths / 100 });
  }
  return ok(scores);
}

const word = (n: bigint) => hexToBytes(`0x${n.toString(16).padStart(64, "0")}`);

/** What an evaluator commits: keccak256(abi.encode(epoch, evaluator, keccak256(scores), salt)). */
export function scoreCommitment(epoch: bigint, evaluator: Hex, scores: Uint8Array, salt: Hex): Hex {
  return keccak256Hex(
    concatBytes(word(epoch), word(BigInt(evaluator)), keccak256(scores), hexToBytes(salt, 32)),
  );
}

/** The seed of a batch's evaluator sampling: its root and a block hash fixed after it was posted. */
export function evaluatorSeed(batchRoot: Hex, laterBlockHash: Hex): Hex {
  return keccak256Hex(
    concatBytes(utf8Bytes("verinfer.evaluators"), hexToBytes(batchRoot, 32), hexToBytes(laterBlockHash, 32)),
  );
}

/** The evaluators that score receipt `position` of a batch: min(k, n) distinct, in draw order. */
export function sampleEvaluators(seed: Hex, position: number, evaluators: readonly Hex[], k: number): Hex[] {
  const rng = createRng(keccak256Hex(concatBytes(hexToBytes(seed, 32), word(BigInt(position)))));
  return rng
    .sampleIndices(evaluators.length, Math.min(k, evaluators.length))
    .map((i) => evaluators[i] as Hex);
}

/** A posted receipt as the epoch sees it. */
export interface EpochReceipt {
  readonly batch: number;
  readonly position: number;
  readonly worker: Hex;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly latencyMs: number;
  /** Voided by a dispute: it earns nothing (its round still rewards the evaluators who scored it). */
  readonly voided: boolean;
  /** The evaluators sampled for it ({@link sampleEvaluators}). */
  readonly evaluators: readonly Hex[];
}

/** One receipt's round. */
export interface EpochRound {
  readonly batch: number;
  readonly position: number;
  readonly worker: Hex;
  readonly evaluators: readonly Hex[];
  readonly scores: readonly number[];
  readonly consensus: number;
  readonly paidQuality: number;
}

/** What an epoch's rounds decide. */
export interface NetworkEpochOutcome {
  readonly rounds: readonly EpochRound[];
  readonly workers: readonly WorkerEpoch[];
  readonly evaluators: readonly EvaluatorEpoch[];
}

/**
 * Runs the epoch's PoQ rounds in (batch, position) order. `trust` is updated in place (the next
 * epoch's input); `evaluatorIndex` gives each evaluator's node in it (registration order).
 * `reveals` maps an evaluator to its revealed scores keyed "batch:position". Workers and evaluators
 * come out in order of first appearance, which is deterministic.
 */
export function networkEpochRounds(
  receipts: readonly EpochReceipt[],
  reveals: ReadonlyMap<Hex, ReadonlyMap<string, number>>,
  trust: PoqTrustState,
  evaluatorIndex: ReadonlyMap<Hex, number>,
  params: PoqRoundParams,
  decimals = 18,
): NetworkEpochOutcome {
  const ordered = [...receipts].sort((a, b) => a.batch - b.batch || a.position - b.position);
  const costPerToken = (r: EpochReceipt) => r.latencyMs / Math.max(1, r.outputTokens);
  const maxCost = Math.max(1e-9, ...ordered.map(costPerToken));
  const scratches = new Map<number, PoqRoundScratch>();
  const rounds: EpochRound[] = [];
  const evaluatorRewards = new Map<Hex, bigint>();
  for (const r of ordered) {
    const key = `${r.batch}:${r.position}`;
    const scored = r.evaluators.filter((e) => reveals.get(e)?.has(key) && evaluatorIndex.has(e));
    if (scored.length === 0) continue;
    const k = scored.length;
    const scratch = scratches.get(k) ?? roundScratch(k);
    scratches.set(k, scratch);
    const scores = scored.map((e) => reveals.get(e)?.get(key) as number);
    const outcome = poqRound(
      trust,
      {
        evaluators: scored.map((e) => evaluatorIndex.get(e) as number),
        scores,
        audit: null,
        inferenceCostNorm: costPerToken(r) / maxCost,
        evaluatorCostNorms: new Float64Array(k),
      },
      params,
      scratch,
    );
    const settled = settleRound(outcome, k, decimals);
    scored.forEach((e, i) => {
      evaluatorRewards.set(e, (evaluatorRewards.get(e) ?? 0n) + (settled.evaluators[i] as bigint));
    });
    rounds.push({
      batch: r.batch,
      position: r.position,
      worker: r.worker,
      evaluators: scored,
      scores,
      consensus: outcome.consensus,
      paidQuality: outcome.paidQuality,
    });
  }
  const voided = new Set(ordered.filter((r) => r.voided).map((r) => `${r.batch}:${r.position}`));
  const paid = rounds.filter((x) => !voided.has(`${x.batch}:${x.position}`));
  const epochMean =
    paid.length > 0 ? paid.reduce((s, x) => s + x.paidQuality, 0) / paid.length : UNSCORED_EPOCH_QUALITY;
  const byWorker = new Map<Hex, { tokens: bigint; qualities: number[]; costs: number[] }>();
  for (const r of ordered) {
    const w = byWorker.get(r.worker) ?? { tokens: 0n, qualities: [], costs: [] };
    byWorker.set(r.worker, w);
    if (r.voided) continue;
    w.tokens += BigInt(r.inputTokens + r.outputTokens);
    w.costs.push(costPerToken(r));
  }
  for (const x of paid) byWorker.get(x.worker)?.qualities.push(x.paidQuality);
  const meanOf = (xs: readonly number[], otherwise: number) =>
    xs.length > 0 ? xs.reduce((s, v) => s + v, 0) / xs.length : otherwise;
  return {
    rounds,
    workers: [...byWorker].map(([worker, w]) => ({
      worker,
      tokens: w.tokens,
      quality: meanOf(w.qualities, epochMean),
      costPerToken: Math.max(1e-6, meanOf(w.costs, 1)),
    })),
    evaluators: [...evaluatorRewards].map(([evaluator, reward]) => ({ evaluator, reward })),
  };
}
