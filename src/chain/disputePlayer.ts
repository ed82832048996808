/**
 * Playing a dispute game on chain from a node: the game's state is mirrored from the contract's
 * events (GameOpened, Attacked, Dissected, OneStep) through the same pure transitions the contract is
 * tested against (dispute/game.ts), the protocol's solver picks this party's honest moves, and
 * disputeClient.ts sends them. The chain is the single source of truth: a move counts once its event
 * is seen, so a crashed or restarted player just re-reads the events and carries on.
 */
import type { Hex } from "viem";
import { type GameState, oneStep, openGame, resolveGame } from "../protocol/dispute/game.ts";
import { applyAction, type DisputeAction, type PlayerView, solve } from "../protocol/dispute/solver.ts";
import { hexToBytes } from "../protocol/encoding/hex.ts";
import { keccak256 } from "../protocol/encoding/keccak.ts";
import { ok } from "../protocol/errors.ts";
import type { DisputeParams } from "../protocol/params/otr.ts";
import type { ChainClients } from "./deploy.ts";
import { sendDisputeAction } from "./disputeClient.ts";
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
  c: Pick<ChainClients, "public">,
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
export interface TurnResult {
  readonly sent: readonly DisputeAction["type"][];
  readonly failed: readonly string[];
  readonly resolved: boolean;
  readonly rootCountered: boolean | null;
}

/**
 * One turn of a party: mirror the game, make every honest move the solver wants now, and once every
 * deadline has passed resolve it on chain. Call repeatedly (every block or so) until `resolved`.
 */
export async function playTurn(
  c: ChainClients,
  game: Hex,
  gameId: bigint,
  subject: { readonly traceRoot: Hex; readonly leafCount: number; readonly worker: Hex },
  params: DisputeParams,
  view: PlayerView,
  oneStepEvidence: (index: number) => Hex,
): Promise<TurnResult> {
  const { state, resolved } = await mirrorGame(c, game, gameId, subject, params);
  const onChain = async () =>
    (await c.public.readContract({
      address: game,
      abi: disputeGameAbi,
      functionName: "game",
      args: [gameId],
    } as never)) as { rootCountered: boolean; resolved: boolean };
  if (resolved)
    return { sent: [], failed: [], resolved: true, rootCountered: (await onChain()).rootCountered };
  if (!state) return { sent: [], failed: [], resolved: false, rootCountered: null };
  const now = Number((await c.public.getBlock()).timestamp) * 1000;
  const sent: DisputeAction["type"][] = [];
  const failed: string[] = [];
  for (const action of solve(state, view, now)) {
    try {
      if (action.type === "resolve") {
        // The contract resolves after the last deadline (strictly): wait for a block past it.
        if (resolveGame(state, now - 1000) === null) continue;
        await sendResolve(c, game, gameId);
      } else await sendDisputeAction(c, game, state, gameId, action, oneStepEvidence);
      sent.push(action.type);
    } catch (e) {
      failed.push(`${action.type}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  const after = sent.includes("resolve") ? await onChain() : null;
  return { sent, failed, resolved: after?.resolved ?? false, rootCountered: after?.rootCountered ?? null };
}

async function sendResolve(c: ChainClients, game: Hex, gameId: bigint): Promise<void> {
  const hash = await c.wallet.writeContract({
    address: game,
    abi: disputeGameAbi,
    functionName: "resolve",
    args: [gameId, 10_000n],
  } as never);
  const receipt = await c.public.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`resolve reverted in ${hash}`);
}
