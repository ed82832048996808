/**
 * The dispute game on chain (contracts/src/DisputeGame.sol) from TypeScript: deployment wired to the
 * rollup and the registry, and the one translation of the protocol solver's actions
 * (dispute/solver.ts) into contract calls with the bonds the spec sizes — used by the fisherman and the
 * worker nodes and by the tests.
 */
import type { Hex } from "viem";
import type { GameState } from "../protocol/dispute/game.ts";
import type { DisputeAction } from "../protocol/dispute/solver.ts";
import { attackBond, type DisputeParams, dissectBond } from "../protocol/params/otr.ts";
import { send } from "./clients.ts";
import { type ChainClients, type Deployment, deployContract } from "./deploy.ts";
import { disputeGameAbi, disputeGameBytecode, registryAbi, rollupAbi } from "./generated/contracts.ts";

/** DisputeGame's constructor parameters (seconds, wei) from the protocol's (milliseconds). */
export function disputeGameParams(p: DisputeParams) {
  return {
    arityLog2: Math.log2(p.arity),
    maxClock: p.maxClockMs / 1000,
    extension: p.extensionMs / 1000,
    oneStepExtension: p.oneStepExtensionMs / 1000,
    attackNodeBond: attackBond(p, 1),
    attackLeafBond: attackBond(p, 0),
    dissectBond: dissectBond(p),
    workerSlash: p.workerSlash,
    challengerShareBps: BigInt(p.challengerShareBps),
  };
}

/**
 * Deploys a dispute game over `stepVerifier` and makes it the rollup's dispute game and a slasher in the
 * registry (owner calls).
 */
export async function deployDisputeGame(
  c: ChainClients,
  d: Pick<Deployment, "registry" | "rollup">,
  stepVerifier: Hex,
  p: DisputeParams,
): Promise<Hex> {
  const game = await deployContract(c, disputeGameAbi, disputeGameBytecode, [
    d.registry,
    d.rollup,
    stepVerifier,
    disputeGameParams(p),
  ]);
  await send(c, d.rollup, rollupAbi, "setDisputeGame", [game]);
  await send(c, d.registry, registryAbi, "setSlasher", [game, true]);
  return game;
}

/** A solver action as a DisputeGame call: function, arguments and the bond it posts. */
export function disputeCall(
  state: GameState,
  gameId: bigint,
  action: Exclude<DisputeAction, { type: "resolve" }>,
  oneStepEvidence: (index: number) => Hex,
): { functionName: "attack" | "dissect" | "oneStep"; args: readonly unknown[]; value: bigint } {
  const p = state.params;
  switch (action.type) {
    case "attack": {
      const parent = state.claims[action.parent];
      if (!parent) throw new RangeError(`claim ${action.parent} is not in the game`);
      // Attacks reveal the dissection's children (the contract stores only their hash).
      const children = parent.kind === "dissect" ? (parent.children ?? []) : [];
      const height = parent.kind === "root" ? parent.height : parent.childHeight;
      return {
        functionName: "attack",
        args: [gameId, BigInt(action.parent), action.child, children],
        value: attackBond(p, height),
      };
    }
    case "dissect":
      return {
        functionName: "dissect",
        args: [gameId, BigInt(action.attack), action.children],
        value: dissectBond(p),
      };
    case "oneStep": {
      const attacked = state.claims[action.attack];
      if (!attacked) throw new RangeError(`claim ${action.attack} is not in the game`);
      return {
        functionName: "oneStep",
        args: [gameId, BigInt(action.attack), oneStepEvidence(attacked.index)],
        value: 0n,
      };
    }
  }
}

/** Sends a solver action to the game contract (reverts surface as viem errors; see revert.ts). */
export function sendDisputeAction(
  c: ChainClients,
  game: Hex,
  state: GameState,
  gameId: bigint,
  action: Exclude<DisputeAction, { type: "resolve" }>,
  oneStepEvidence: (index: number) => Hex,
): Promise<Hex> {
  const call = disputeCall(state, gameId, action, oneStepEvidence);
  return send(c, game, disputeGameAbi, call.functionName, call.args, call.value);
}

/**
 * The longest trace (positions) whose every one-step fits a block, for a model of width `dim` and
 * context `seqLen`: attention costs ≈ 267k gas per earlier position at dim 288 (docs/contracts.md,
 * measured) and grows with the width, so 107 positions at dim 288 bound narrower models too.
 */
export function disputablePositions(dim: number, seqLen: number): number {
  return Math.max(1, Math.min(seqLen, Math.floor((107 * 288) / Math.max(dim, 288))));
}
