/**
 * A dispute game's state mirrored from the contract's events (GameOpened, Attacked, Dissected,
 * OneStep, Resolved) through the same pure transitions the contract is tested against
 * (dispute/game.ts). Read-only — players (disputePlayer.ts) and the dashboard (in the browser) use it.
 *
 * The contract stores only each claim's hash: the events carry every claim whole, and the mirror keeps
 * them (`claims`) for the moves that must pass them back. A dissection's children are not logged (that
 * would cost each move 4k gas): they are read from the dissect call's calldata.
 */
import { decodeFunctionData, type Hex, type PublicClient } from "viem";
import { type GameState, oneStep, openGame } from "../protocol/dispute/game.ts";
import { applyAction } from "../protocol/dispute/solver.ts";
import { hexToBytes } from "../protocol/encoding/hex.ts";
import { keccak256 } from "../protocol/encoding/keccak.ts";
import { ok } from "../protocol/errors.ts";
import type { DisputeParams } from "../protocol/params/otr.ts";
import { disputeGameAbi } from "./generated/contracts.ts";
import { contractEvents } from "./logs.ts";

/** A claim as DisputeGame.sol committed to it (its `Claim` struct), to pass back in later moves. */
export interface ChainClaim {
  readonly parent: number;
  readonly kind: number;
  readonly height: number;
  readonly childHeight: number;
  readonly child: number;
  readonly createdAt: number;
  readonly deadline: number;
  readonly clockDefender: number;
  readonly clockChallenger: number;
  readonly claimant: Hex;
  readonly index: bigint;
  readonly value: Hex;
}

interface GameLog {
  readonly eventName: "GameOpened" | "Attacked" | "Dissected" | "OneStep" | "Resolved";
  readonly args: Record<string, unknown>;
  readonly blockNumber: bigint;
  readonly logIndex: number;
  readonly transactionHash: Hex;
}

/** What the game's events say: its state (null until opened, or if the events are inconsistent). */
export interface MirroredGame {
  readonly state: GameState | null;
  readonly resolved: boolean;
  /** Every claim as the contract committed to it, by id. */
  readonly claims: readonly ChainClaim[];
}

/**
 * Dissections' children by transaction hash. A transaction's input never changes (its hash commits to
 * it), so players that mirror a game every block read each dissection's transaction once.
 */
const childrenByTx = new Map<Hex, Hex[] | null>();
const CACHED_DISSECTIONS = 10_000;

/** The children a dissection revealed, from its transaction's calldata (a direct dissect call). */
async function dissectionChildren(
  c: { readonly public: Pick<PublicClient, "getTransaction"> },
  tx: Hex,
): Promise<Hex[] | null> {
  const cached = childrenByTx.get(tx);
  if (cached !== undefined) return cached;
  const { input } = await c.public.getTransaction({ hash: tx });
  let children: Hex[] | null = null;
  try {
    const call = decodeFunctionData({ abi: disputeGameAbi, data: input });
    if (call.functionName === "dissect") children = [...(call.args[3] as readonly Hex[])];
  } catch {
    // Not a call of this game's ABI: the children cannot be had from it.
  }
  if (childrenByTx.size >= CACHED_DISSECTIONS) childrenByTx.delete(childrenByTx.keys().next().value as Hex);
  childrenByTx.set(tx, children);
  return children;
}

/** A game's record as the contract keeps it (the fields nodes read). */
export interface GameRecord {
  readonly subject: { readonly batch: bigint; readonly position: number };
  readonly claimCount: number;
  readonly resolvedCount: number;
  readonly resolved: boolean;
  readonly rootCountered: boolean;
  /** 0 for a game that does not exist. */
  readonly openedBlock: bigint;
}

/** Reads game `gameId`'s record (one call). */
export async function readGame(
  c: { readonly public: Pick<PublicClient, "readContract"> },
  game: Hex,
  gameId: bigint,
): Promise<GameRecord> {
  return (await c.public.readContract({
    address: game,
    abi: disputeGameAbi,
    functionName: "game",
    args: [gameId],
  } as never)) as GameRecord;
}

/** The game's state rebuilt from its events. */
export async function mirrorGame(
  c: {
    readonly public: Pick<
      PublicClient,
      "getContractEvents" | "getBlock" | "getBlockNumber" | "getTransaction" | "readContract"
    >;
  },
  game: Hex,
  gameId: bigint,
  subject: { readonly traceRoot: Hex; readonly leafCount: number; readonly worker: Hex },
  params: DisputeParams,
): Promise<MirroredGame> {
  // From the block the game was opened in (0 for a game that does not exist: no events then).
  const { openedBlock } = await readGame(c, game, gameId);
  if (openedBlock === 0n) return { state: null, resolved: false, claims: [] };
  const logs = await contractEvents<GameLog>(
    c,
    { address: game, abi: disputeGameAbi, args: { game: gameId } },
    { fromBlock: openedBlock },
  );
  logs.sort((a, b) =>
    a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
  );
  const times = new Map<bigint, number>();
  const timeOf = async (block: bigint) => {
    let t = times.get(block);
    if (t === undefined) {
      t = Number((await c.public.getBlock({ blockNumber: block })).timestamp) * 1000;
      times.set(block, t);
    }
    return t;
  };
  let state: GameState | null = null;
  let resolved = false;
  const claims: ChainClaim[] = [];
  const inconsistent = () => ({ state: null, resolved, claims });
  for (const log of logs) {
    const at = await timeOf(log.blockNumber);
    const a = log.args;
    if (log.eventName === "Resolved") resolved = true;
    else if (log.eventName === "GameOpened") claims[0] = a.root as ChainClaim;
    else if (log.eventName === "Attacked" || log.eventName === "Dissected") {
      const claim = a.claim as ChainClaim;
      claims[Number(a.id)] = claim;
      if (log.eventName === "Attacked" && claim.parent === 0 && !state) {
        const opened = openGame(subject, params, claim.claimant, at);
        if (!opened.ok) return inconsistent();
        state = opened.value;
      } else if (state && log.eventName === "Attacked") {
        applyAction(
          state,
          { type: "attack", parent: claim.parent, child: claim.child },
          claim.claimant,
          at,
          () => ok(new Uint8Array()),
          keccak256,
        );
      } else if (state) {
        const children = await dissectionChildren(c, log.transactionHash);
        if (!children) return inconsistent();
        applyAction(
          state,
          { type: "dissect", attack: claim.parent, children },
          claim.claimant,
          at,
          () => ok(new Uint8Array()),
          keccak256,
        );
      }
    } else if (state && log.eventName === "OneStep") {
      // The contract checked the step: the mirror takes its leaf as proven.
      oneStep(state, Number(a.attack), null, () => ok(hexToBytes(a.leaf as Hex, 32)), a.claimant as Hex, at);
    }
  }
  return { state, resolved, claims };
}
