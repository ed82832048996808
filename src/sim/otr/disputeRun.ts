/**
 * Plays one dispute of the simulator with the protocol's own game (dispute/game.ts) and solver: two
 * synthetic traces of `leaves` leaves that agree up to `divergeAt` (the worker's and the challenger's;
 * run-length trees, so a dispute over 2^24 leaves costs the game, not 2^25 hashes),
 * each party acting `reactionMs` after the other's move, the one-step check answered by an oracle (the
 * simulator knows which trace is the honest one; the real check recomputes the leaf). Returns who won,
 * when, the moves and the gas and bonds each side spent.
 */

import {
  type GameOutcome,
  type GameState,
  gameDeadline,
  openGame,
  resolveGame,
  type StepVerifier,
} from "../../protocol/dispute/game.ts";
import { applyAction, type PlayerView, solve } from "../../protocol/dispute/solver.ts";
import { bytesToHex, type Hex } from "../../protocol/encoding/hex.ts";
import type { DisputeParams } from "../../protocol/params/otr.ts";
import type { Hash32 } from "../../protocol/verifiable/trace.ts";
import { RunLengthTree } from "./runLengthTree.ts";

/** A dispute to play. */
export interface DisputeSetup {
  readonly leaves: number;
  /** Index of the first leaf where the worker's trace and the challenger's differ. */
  readonly divergeAt: number;
  /** Which of the two traces is honest. */
  readonly honest: "worker" | "challenger";
  /** The worker stops answering (its clock runs out). */
  readonly workerAbsent: boolean;
  readonly reactionMs: number;
  readonly seed: number;
}

/** What happened. */
export interface DisputeResult {
  readonly workerLost: boolean;
  /** Milliseconds from the first attack to the game's resolution. */
  readonly durationMs: number;
  readonly moves: number;
  readonly gas: { readonly worker: number; readonly challenger: number };
  readonly bonds: { readonly worker: bigint; readonly challenger: bigint };
  readonly outcome: GameOutcome;
}

const WORKER = "0x00000000000000000000000000000000000000a1" as Hex;
const CHALLENGER = "0x00000000000000000000000000000000000000c1" as Hex;

/** A trace that agrees with the honest one before `divergeAt` and differs from there on (variant 1). */
function syntheticTree(
  leaves: number,
  seed: number,
  divergeAt: number,
  variant: number,
  hash: Hash32,
): RunLengthTree {
  const leaf = (v: number) => {
    const buf = new Uint8Array(8);
    new DataView(buf.buffer).setUint32(0, seed);
    new DataView(buf.buffer).setUint32(4, v);
    return hash(buf);
  };
  return new RunLengthTree(
    variant === 0 || divergeAt >= leaves
      ? [{ end: leaves, leaf: leaf(0) }]
      : [...(divergeAt > 0 ? [{ end: divergeAt, leaf: leaf(0) }] : []), { end: leaves, leaf: leaf(variant) }],
    hash,
  );
}

/** Plays the dispute to its resolution. */
export function runDispute(setup: DisputeSetup, params: DisputeParams, hash: Hash32): DisputeResult {
  const honestTree = syntheticTree(setup.leaves, setup.seed, setup.divergeAt, 0, hash);
  const otherTree = syntheticTree(setup.leaves, setup.seed, setup.divergeAt, 1, hash);
  const workerTree = setup.honest === "worker" ? honestTree : otherTree;
  const challengerTree = setup.honest === "worker" ? otherTree : honestTree;
  const subject = { traceRoot: bytesToHex(workerTree.root), leafCount: setup.leaves, worker: WORKER };
  const opened = openGame(subject, params, CHALLENGER, 0);
  if (!opened.ok) throw new Error(opened.error.message);
  // The oracle one-step check: the honest trace's leaf is the correct one.
  const verify = (index: number) => ({ ok: true as const, value: honestTree.node(0, index) });
  const players: PlayerView[] = [
    ...(setup.workerAbsent ? [] : [{ me: WORKER, tree: workerTree, stepEvidence: () => null }]),
    { me: CHALLENGER, tree: challengerTree, stepEvidence: () => null },
  ];
  return playDispute(opened.value, players, verify, params, hash, setup.reactionMs);
}

/**
 * Plays an opened game to its resolution with the protocol's solver for every player, each acting
 * `reactionMs` after the last move (or skipping to the next deadline when nobody can act). The worker
 * is the game's subject; every other player is on the challenger's side of the ledger.
 */
export function playDispute(
  state: GameState,
  players: readonly PlayerView[],
  verify: StepVerifier,
  params: DisputeParams,
  hash: Hash32,
  reactionMs: number,
): DisputeResult {
  const worker = state.subject.worker.toLowerCase();
  const sideOf = (p: PlayerView) => (p.me.toLowerCase() === worker ? "worker" : "challenger");
  const gas = { worker: 0, challenger: params.gas.attack };
  let now = state.claims[0]?.createdAt ?? 0;
  const start = now;
  let moves = 1;
  for (let guard = 0; guard < 100_000; guard++) {
    let acted = false;
    for (const p of players) {
      for (const a of solve(state, p, now)) {
        if (a.type === "resolve") continue;
        if (!applyAction(state, a, p.me, now, verify, hash).ok) continue;
        acted = true;
        moves++;
        gas[sideOf(p)] +=
          a.type === "attack"
            ? params.gas.attack
            : a.type === "dissect"
              ? params.gas.dissect
              : params.gas.oneStep;
      }
    }
    const outcome = resolveGame(state, now);
    if (outcome) {
      const bonded = (side: "worker" | "challenger") =>
        state.claims
          .filter((c) => (c.claimant.toLowerCase() === worker) === (side === "worker"))
          .reduce((s, c) => s + c.bond, 0n);
      return {
        workerLost: outcome.rootCountered,
        durationMs: now - start,
        moves,
        gas,
        bonds: { worker: bonded("worker"), challenger: bonded("challenger") },
        outcome,
      };
    }
    // Nothing to do: skip to when the next deadline passes.
    now = acted ? now + reactionMs : Math.max(now + reactionMs, nextDeadline(state, now) + 1);
  }
  throw new Error("the dispute did not resolve");
}

function nextDeadline(state: GameState, now: number): number {
  const upcoming = state.claims.filter((c) => c.kind !== "root" && c.deadline >= now).map((c) => c.deadline);
  return upcoming.length ? Math.min(...upcoming) : gameDeadline(state);
}
