/**
 * Plays one dispute of the simulator with the protocol's own game (dispute/game.ts) and solver: two
 * synthetic traces of `leaves` leaves that agree up to `divergeAt` (the worker's and the challenger's),
 * each party acting `reactionMs` after the other's move, the one-step check answered by an oracle (the
 * simulator knows which trace is the honest one; the real check recomputes the leaf). Returns who won,
 * when, the moves and the gas and bonds each side spent.
 */

import {
  attack,
  dissect,
  type GameOutcome,
  gameDeadline,
  oneStep,
  openGame,
  resolveGame,
} from "../../protocol/dispute/game.ts";
import { type PlayerView, solve } from "../../protocol/dispute/solver.ts";
import { bytesToHex, type Hex } from "../../protocol/encoding/hex.ts";
import type { DisputeParams } from "../../protocol/params/otr.ts";
import { type Hash32, TraceTree } from "../../protocol/verifiable/trace.ts";

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

function syntheticTree(
  leaves: number,
  seed: number,
  divergeAt: number,
  variant: number,
  hash: Hash32,
): TraceTree {
  const buf = new Uint8Array(12);
  const view = new DataView(buf.buffer);
  return new TraceTree(
    Array.from({ length: leaves }, (_, i) => {
      view.setUint32(0, seed);
      view.setUint32(4, i);
      view.setUint32(8, i < divergeAt ? 0 : variant);
      return hash(buf);
    }),
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
  const state = opened.value;
  // The oracle one-step check: the honest trace's leaf is the correct one.
  const verify = (index: number) => ({ ok: true as const, value: honestTree.node(0, index) });
  const players: PlayerView[] = [
    ...(setup.workerAbsent ? [] : [{ me: WORKER, tree: workerTree, stepEvidence: () => null }]),
    { me: CHALLENGER, tree: challengerTree, stepEvidence: () => null },
  ];
  const gas = { worker: 0, challenger: 0 };
  gas.challenger += params.gas.attack;
  let now = 0;
  let moves = 1;
  for (let guard = 0; guard < 100_000; guard++) {
    let acted = false;
    for (const p of players) {
      const side = p.me === WORKER ? "worker" : "challenger";
      for (const a of solve(state, p, now)) {
        if (a.type === "resolve") continue;
        const v =
          a.type === "attack"
            ? attack(state, a.parent, a.child, p.me, now)
            : a.type === "dissect"
              ? dissect(state, a.attack, a.children, p.me, now, hash)
              : oneStep(state, a.attack, a.evidence, verify, p.me, now);
        if (!v.ok) continue;
        acted = true;
        moves++;
        gas[side] +=
          a.type === "attack"
            ? params.gas.attack
            : a.type === "dissect"
              ? params.gas.dissect
              : params.gas.oneStep;
      }
    }
    const outcome = resolveGame(state, now);
    if (outcome) {
      const bonded = (who: Hex) =>
        state.claims.filter((c) => c.claimant === who).reduce((s, c) => s + c.bond, 0n);
      return {
        workerLost: outcome.rootCountered,
        durationMs: now,
        moves,
        gas,
        bonds: { worker: bonded(WORKER), challenger: bonded(CHALLENGER) },
        outcome,
      };
    }
    // Nothing to do: skip to when the next deadline passes.
    now = acted ? now + setup.reactionMs : Math.max(now + setup.reactionMs, nextDeadline(state, now) + 1);
  }
  throw new Error("the dispute did not resolve");
}

function nextDeadline(state: Parameters<typeof gameDeadline>[0], now: number): number {
  const upcoming = state.claims.filter((c) => c.kind !== "root" && c.deadline >= now).map((c) => c.deadline);
  return upcoming.length ? Math.min(...upcoming) : gameDeadline(state);
}
