/**
 * A dispute game's state mirrored from the contract's events (GameOpened, Attacked, Dissected,
 * OneStep, Resolved) through the same pure transitions the contract is tested against
 * (dispute/game.ts). Read-only — players (disputePlayer.ts) and the dashboard (in the browser) use it.
 */
import type { Hex, PublicClient } from "viem";
import { type GameState, oneStep, openGame } from "../protocol/dispute/game.ts";
import { applyAction } from "../protocol/dispute/solver.ts";
import { hexToBytes } from "../protocol/encoding/hex.ts";
import { keccak256 } from "../protocol/encoding/keccak.ts";
import { ok } from "../protocol/errors.ts";
import type { DisputeParams } from "../protocol/params/otr.ts";
import { disputeGameAbi } from "./generated/contracts.ts";

const ROOT_CHILD = 0xffff;

interface GameLog {
  readonly eventName: "GameOpened" | "Attacked" | "Dissected" | "OneStep" | "Resolved";
  readonly args: Record<string, unknown>;
  readonly blockNumber: bigint;
  readonly logIndex: number;
}

/** The game's state rebuilt from its events; null until it is opened (or if the events are inconsistent). */
export async function mirrorGame(
  c: { readonly public: Pick<PublicClient, "getContractEvents" | "getBlock"> },
  game: Hex,
  gameId: bigint,
  subject: { readonly traceRoot: Hex; readonly leafCount: number; readonly worker: Hex },
  params: DisputeParams,
): Promise<{ state: GameState | null; resolved: boolean }> {
  const logs = (await c.public.getContractEvents({
    address: game,
    abi: disputeGameAbi,
    args: { game: gameId },
    fromBlock: 0n,
  } as never)) as unknown as GameLog[];
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
  for (const log of logs) {
    const at = await timeOf(log.blockNumber);
    const a = log.args;
    if (log.eventName === "Resolved") resolved = true;
    else if (
      log.eventName === "Attacked" &&
      Number(a.parent) === 0 &&
      Number(a.child) === ROOT_CHILD &&
      !state
    ) {
      const opened = openGame(subject, params, a.claimant as Hex, at);
      if (!opened.ok) return { state: null, resolved };
      state = opened.value;
    } else if (state && log.eventName === "Attacked") {
      applyAction(
        state,
        { type: "attack", parent: Number(a.parent), child: Number(a.child) },
        a.claimant as Hex,
        at,
        () => ok(new Uint8Array()),
        keccak256,
      );
    } else if (state && log.eventName === "Dissected") {
      applyAction(
        state,
        { type: "dissect", attack: Number(a.attack), children: a.children as Hex[] },
        a.claimant as Hex,
        at,
        () => ok(new Uint8Array()),
        keccak256,
      );
    } else if (state && log.eventName === "OneStep") {
      // The contract checked the step: the mirror takes its leaf as proven.
      oneStep(state, Number(a.attack), null, () => ok(hexToBytes(a.leaf as Hex, 32)), a.claimant as Hex, at);
    }
  }
  return { state, resolved };
}

/** What one call of {@link playTurn} did. */
