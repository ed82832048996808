/**
 * Playing a dispute game on chain from a node: the game's state is mirrored from the contract's
 * events (GameOpened, Attacked, Dissected, OneStep) through the same pure transitions the contract is
 * tested against (dispute/game.ts), the protocol's solver picks this party's honest moves, and
 * disputeClient.ts sends them. The chain is the single source of truth: a move counts once its event
 * is seen, so a crashed or restarted player just re-reads the events and carries on.
 */
import type { Hex } from "viem";
import { resolveGame } from "../protocol/dispute/game.ts";
import { type DisputeAction, type PlayerView, solve } from "../protocol/dispute/solver.ts";
import type { DisputeParams } from "../protocol/params/otr.ts";
import { chainErrorLine } from "./chainErrors.ts";
import type { ChainClients } from "./deploy.ts";
import { resolveOnChain, sendDisputeAction } from "./disputeClient.ts";
import { mirrorGame, readGame } from "./gameMirror.ts";

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
  const { state, resolved, claims } = await mirrorGame(c, game, gameId, subject, params);
  const onChain = () => readGame(c, game, gameId);
  if (resolved)
    return { sent: [], failed: [], resolved: true, rootCountered: (await onChain()).rootCountered };
  if (!state) return { sent: [], failed: [], resolved: false, rootCountered: null };
  const now = Number((await c.public.getBlock()).timestamp) * 1000;
  const sent: DisputeAction["type"][] = [];
  const failed: string[] = [];
  // The game as the chain has it, once this turn resolved it or lost the race to resolve it.
  let after: { rootCountered: boolean; resolved: boolean } | null = null;
  for (const action of solve(state, view, now)) {
    try {
      if (action.type === "resolve") {
        // The contract resolves after the last deadline (strictly): wait for a block past it.
        if (resolveGame(state, now - 1000) === null) continue;
        await resolveOnChain(c, game, gameId, claims);
      } else await sendDisputeAction(c, game, { state, claims }, gameId, action, oneStepEvidence);
      sent.push(action.type);
    } catch (e) {
      // Either party may resolve: losing that race to the other is no refusal.
      if (action.type === "resolve") {
        const game = await onChain();
        if (game.resolved) {
          after = game;
          continue;
        }
      }
      failed.push(`${action.type}: ${chainErrorLine(e)}`);
    }
  }
  if (sent.includes("resolve")) after = await onChain();
  return { sent, failed, resolved: after?.resolved ?? false, rootCountered: after?.rootCountered ?? null };
}
