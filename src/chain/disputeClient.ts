/**
 * The dispute game on chain (contracts/src/DisputeGame.sol) from TypeScript: deployment wired to the
 * rollup and the registry, and the one translation of the protocol solver's actions
 * (dispute/solver.ts) into contract calls with the bonds the spec sizes — used by the fisherman and the
 * worker nodes and by the tests.
 */
import type { Hex } from "viem";
import type { GameState } from "../protocol/dispute/game.ts";
import type { DisputeAction } from "../protocol/dispute/solver.ts";
import { bytesToHex, hexToBytes } from "../protocol/encoding/hex.ts";
import { keccak256 } from "../protocol/encoding/keccak.ts";
import { attackBond, type DisputeParams, dissectBond } from "../protocol/params/otr.ts";
import { TraceTree } from "../protocol/verifiable/trace.ts";
import { send } from "./clients.ts";
import { type ChainClients, type Deployment, deployContract } from "./deploy.ts";
import { type ChainClaim, readGame } from "./gameMirror.ts";
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

/**
 * A solver action as a DisputeGame call: function, arguments and the bond it posts. The contract keeps
 * only each claim's hash, so a move passes the claim it answers as the events gave it (`claims`, from
 * gameMirror.ts), and an attack proves its node with its Merkle path among the dissection's children.
 */
export function disputeCall(
  state: GameState,
  claims: readonly ChainClaim[],
  gameId: bigint,
  action: Exclude<DisputeAction, { type: "resolve" }>,
  oneStepEvidence: (index: number) => Hex,
): { functionName: "attack" | "dissect" | "oneStep"; args: readonly unknown[]; value: bigint } {
  const p = state.params;
  const answered = action.type === "attack" ? action.parent : action.attack;
  const claim = state.claims[answered];
  const onChain = claims[answered];
  if (!claim || !onChain) throw new RangeError(`claim ${answered} is not in the game`);
  switch (action.type) {
    case "attack": {
      const children = claim.children.map((h) => hexToBytes(h));
      const child = children[action.child];
      if (!child) throw new RangeError(`claim ${answered} has no child ${action.child}`);
      const proof = new TraceTree(children, keccak256).proof(action.child).map(bytesToHex);
      return {
        functionName: "attack",
        args: [gameId, BigInt(answered), onChain, action.child, bytesToHex(child), proof],
        value: attackBond(p, claim.childHeight),
      };
    }
    case "dissect":
      return {
        functionName: "dissect",
        args: [gameId, BigInt(answered), onChain, action.children],
        value: dissectBond(p),
      };
    case "oneStep":
      return {
        functionName: "oneStep",
        args: [gameId, BigInt(answered), onChain, oneStepEvidence(claim.index)],
        value: 0n,
      };
  }
}

/** Sends a solver action to the game contract (reverts surface as viem errors; see revert.ts). */
export function sendDisputeAction(
  c: ChainClients,
  game: Hex,
  mirrored: { readonly state: GameState; readonly claims: readonly ChainClaim[] },
  gameId: bigint,
  action: Exclude<DisputeAction, { type: "resolve" }>,
  oneStepEvidence: (index: number) => Hex,
): Promise<Hex> {
  const call = disputeCall(mirrored.state, mirrored.claims, gameId, action, oneStepEvidence);
  return send(c, game, disputeGameAbi, call.functionName, call.args, call.value);
}

/** Claims resolved per transaction: about 50–70k gas each, so a slice stays far below a block. */
const RESOLVE_SLICE = 64;

/**
 * Resolves a game whose deadlines have all passed: passes its claims back from the last unresolved one
 * down, in slices, until the contract has settled the receipt. Returns the transactions sent.
 */
export async function resolveOnChain(
  c: ChainClients,
  game: Hex,
  gameId: bigint,
  claims: readonly ChainClaim[],
  slice = RESOLVE_SLICE,
): Promise<Hex[]> {
  const sent: Hex[] = [];
  for (;;) {
    const g = await readGame(c, game, gameId);
    if (g.resolved) return sent;
    const top = g.claimCount - 1 - g.resolvedCount;
    const next = Array.from({ length: Math.min(slice, top) }, (_, j) => claims[top - j]);
    if (next.some((x) => x === undefined))
      throw new RangeError(`claims ${top - next.length + 1}..${top} are not known`);
    sent.push(await send(c, game, disputeGameAbi, "resolve", [gameId, next]));
  }
}

/**
 * Withdraws the bonds the game has credited this account: resolving pays nobody, it credits each
 * winner's bonds (its own back, and the loser's), which stay in the contract until withdrawn. A node
 * that never withdrew would run dry of the ETH its next bonds need. Returns what it withdrew, and the
 * mined withdrawal (null: nothing was credited).
 */
export async function withdrawCredits(
  c: ChainClients,
  game: Hex,
): Promise<{ wei: bigint; hash: Hex | null }> {
  const credited = (await c.public.readContract({
    address: game,
    abi: disputeGameAbi,
    functionName: "credits",
    args: [c.wallet.account.address],
  } as never)) as bigint;
  if (credited === 0n) return { wei: 0n, hash: null };
  return { wei: credited, hash: await send(c, game, disputeGameAbi, "withdraw", []) };
}

/**
 * The longest trace (positions) whose every one-step fits a block, for a model of width `dim` and
 * context `seqLen`: attention costs ≈ 267k gas per earlier position at dim 288 (docs/contracts.md,
 * measured) and grows with the width, so 107 positions at dim 288 bound narrower models too.
 */
export function disputablePositions(dim: number, seqLen: number): number {
  return Math.max(1, Math.min(seqLen, Math.floor((107 * 288) / Math.max(dim, 288))));
}
