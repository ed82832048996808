/**
 * Dispute games a node saw resolved, watched until the resolution is {@link REORG_DEPTH_BLOCKS} deep. A
 * reorganisation may take a resolution off the chain, the game open again on the new chain: a player
 * that had stopped would then lose it by its clock (a defending worker its stake, a fisherman its bonds
 * and the cheater's slash). The game is mirrored from the chain's events (chain/disputePlayer.ts), so
 * playing on needs nothing but turns.
 */
import type { Hex } from "viem";
import type { ChainClients } from "../chain/deploy.ts";
import { disputeGameAbi } from "../chain/generated/contracts.ts";
import { contractEvents } from "../chain/logs.ts";

/** How deep a reorganisation nodes guard against (blocks): what they saw mined less deep may be lost. */
export const REORG_DEPTH_BLOCKS = 64n;

/**
 * The games of dispute game `game` resolved in the last {@link REORG_DEPTH_BLOCKS} blocks up to `head`,
 * each with the block of its latest resolution (one log query). A player that restarts finds its
 * games resolved on chain; those in here it watches as if it had seen them resolve (the rest no
 * reorganisation can reopen).
 */
export async function recentResolutions(
  chain: Pick<ChainClients, "public">,
  game: Hex,
  head: bigint,
): Promise<Map<bigint, bigint>> {
  const logs = await contractEvents<{ blockNumber: bigint; args: { game: bigint } }>(
    chain,
    { address: game, abi: disputeGameAbi, eventName: "Resolved" },
    { fromBlock: head > REORG_DEPTH_BLOCKS ? head - REORG_DEPTH_BLOCKS + 1n : 0n, toBlock: head },
  );
  return new Map(logs.map((l) => [l.args.game, l.blockNumber]));
}

export class ResolvedGames {
  /** Game → the chain's head when it was seen resolved. */
  private readonly seen = new Map<bigint, bigint>();
  /** Games whose resolution the chain lost, until they are seen resolved again. */
  private readonly reopened = new Set<bigint>();

  /** `isResolved`: whether the chain's head holds the game resolved (one call). */
  constructor(private readonly isResolved: (game: bigint) => Promise<boolean>) {}

  /**
   * Notes `game` seen resolved when the head was `head` (or, found at a restart, in block `head`); true
   * unless it was seen resolved before and lost (count it once).
   */
  add(game: bigint, head: bigint): boolean {
    this.seen.set(game, head);
    return !this.reopened.delete(game);
  }

  /** Stops watching `game` (its opening was in blocks the chain lost: it may be found again, or not). */
  forget(game: bigint): void {
    this.seen.delete(game);
    this.reopened.delete(game);
  }

  /** Whether `game` was seen resolved and is watched: no turns to play. */
  has(game: bigint): boolean {
    return this.seen.has(game);
  }

  /**
   * Reads again each game seen resolved: `settled`, those resolved {@link REORG_DEPTH_BLOCKS} deep,
   * forgotten here (the caller forgets them too); `reopened`, those the chain holds unresolved again,
   * which the caller plays on. A read that fails throws, and the next check reads again.
   */
  async check(head: bigint): Promise<{ settled: bigint[]; reopened: bigint[] }> {
    const settled: bigint[] = [];
    const reopened: bigint[] = [];
    for (const [game, at] of this.seen) {
      if (head - at >= REORG_DEPTH_BLOCKS) settled.push(game);
      else if (!(await this.isResolved(game))) reopened.push(game);
    }
    for (const game of settled) this.seen.delete(game);
    for (const game of reopened) {
      this.seen.delete(game);
      this.reopened.add(game);
    }
    return { settled, reopened };
  }
}
