/**
 * The honest-party solver of the dispute game (op-challenger's solver/agent split: this decides, a shell
 * acts). Given the game's state, the party's own trace and the time, it returns the moves that an
 * honest party makes: defend every attacked value that its own trace agrees with (dissect it, or prove
 * the leaf by a one-step check) and attack the leftmost child of every dissection where its trace
 * disagrees. The same solver plays either side: a worker defending its receipt, a fisherman, or a
 * third party continuing the honest branch.
 */
import { bytesToHex, type Hex } from "../encoding/hex.ts";
import type { Verdict } from "../errors.ts";
import type { Hash32 } from "../verifiable/trace.ts";
import {
  attack,
  dissect,
  dissectionShape,
  type GameState,
  oneStep,
  resolveGame,
  type StepVerifier,
} from "./game.ts";

/** What a player reads of its own trace tree (a TraceTree, or any tree equal to one). */
export interface TraceView {
  node(height: number, index: number): Uint8Array;
}

/** What a party knows: its own trace (same leaf count as the game) and how to prove any of its leaves. */
export interface PlayerView {
  readonly me: Hex;
  readonly tree: TraceView;
  readonly stepEvidence: (index: number) => unknown;
}

/** A move the solver wants made. */
export type DisputeAction =
  | { readonly type: "attack"; readonly parent: number; readonly child: number }
  | { readonly type: "dissect"; readonly attack: number; readonly children: readonly Hex[] }
  | { readonly type: "oneStep"; readonly attack: number; readonly evidence: unknown }
  | { readonly type: "resolve" };

/** The honest moves available now. */
export function solve(state: GameState, view: PlayerView, now: number): DisputeAction[] {
  if (resolveGame(state, now) !== null) return [{ type: "resolve" }];
  const mine = (height: number, index: number) => bytesToHex(view.tree.node(height, index));
  const actions: DisputeAction[] = [];
  for (const c of state.claims) {
    if (c.kind === "root" || now > c.deadline) continue;
    if (c.kind === "attack") {
      // Defend a value our trace agrees with, unless someone already did.
      if (mine(c.height, c.index) !== c.value) continue;
      if (c.height === 0) {
        if (!state.oneSteps.some((s) => s.attack === c.id))
          actions.push({ type: "oneStep", attack: c.id, evidence: view.stepEvidence(c.index) });
      } else if (!state.claims.some((d) => d.kind === "dissect" && d.parent === c.id)) {
        const { count, childHeight } = dissectionShape(state.params.arity, c.height);
        actions.push({
          type: "dissect",
          attack: c.id,
          children: Array.from({ length: count }, (_, j) => mine(childHeight, c.index * count + j)),
        });
      }
    } else {
      // Attack the leftmost child of a dissection that our trace disagrees with: everything to its left
      // is then agreed, so the one-step check at the bottom reads honest inputs.
      const j = c.children.findIndex((v, k) => v !== mine(c.childHeight, c.index * c.children.length + k));
      if (j >= 0 && !state.claims.some((a) => a.kind === "attack" && a.parent === c.id && a.child === j))
        actions.push({ type: "attack", parent: c.id, child: j });
    }
  }
  return actions;
}

/** Makes a solver's move as `player` (the shell's job; one dispatch for every shell). */
export function applyAction(
  state: GameState,
  action: Exclude<DisputeAction, { type: "resolve" }>,
  player: Hex,
  now: number,
  verify: StepVerifier,
  hash: Hash32,
): Verdict<unknown> {
  switch (action.type) {
    case "attack":
      return attack(state, action.parent, action.child, player, now);
    case "dissect":
      return dissect(state, action.attack, action.children, player, now, hash);
    case "oneStep":
      return oneStep(state, action.attack, action.evidence, verify, player, now);
  }
}
