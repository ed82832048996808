/**
 * Where a chain follower picks up after a restart, instead of re-reading every event since the
 * deployment (a restart's first pass would otherwise grow with the chain's history: on a hosted RPC,
 * one `eth_getLogs` per 5,000 blocks). The follower saves the last block it no longer needs to read,
 * with that block's hash: a chain that no longer holds that block (anvil restarted, the contracts
 * deployed again at the same addresses) is noticed, and the follower reads from the deployment again.
 */
import type Database from "better-sqlite3";
import type { Hex, PublicClient } from "viem";
import { EventCursor } from "../chain/events.ts";
import type { Logger } from "./observability.ts";

/** Where resume points are kept (the role's SQLite store). */
export interface ResumeStore {
  resumePoint(name: string): { readonly block: bigint; readonly hash: Hex } | null;
  setResumePoint(name: string, block: bigint, hash: Hex): void;
}

/** The table a role's store keeps its followers' resume points in (part of its schema). */
export const RESUME_POINTS_TABLE =
  "CREATE TABLE IF NOT EXISTS resume_points (name TEXT PRIMARY KEY, block INTEGER NOT NULL, hash TEXT NOT NULL);";

/** The resume points in `db`'s {@link RESUME_POINTS_TABLE}. */
export function sqliteResumePoints(db: Database.Database): ResumeStore {
  return {
    resumePoint(name) {
      const row = db.prepare("SELECT block, hash FROM resume_points WHERE name = ?").get(name) as
        | { block: number; hash: Hex }
        | undefined;
      return row ? { block: BigInt(row.block), hash: row.hash } : null;
    },
    setResumePoint(name, block, hash) {
      db.prepare(
        "INSERT INTO resume_points (name, block, hash) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET block = ?, hash = ?",
      ).run(name, Number(block), hash, Number(block), hash);
    },
  };
}

/** Blocks a follower may re-read after a restart: saving costs a block read, so not on every pass. */
const SAVE_EVERY_BLOCKS = 64n;

export class ResumePoint {
  private saved: bigint | null = null;
  private opened: EventCursor | null = null;

  constructor(
    private readonly store: ResumeStore,
    private readonly name: string,
    private readonly chain: Pick<PublicClient, "getBlock">,
    private readonly logger: Logger,
  ) {}

  /**
   * The follower's cursor, made at the first call where {@link start} says to read from. After a
   * reorganisation it reads again from the newest block it read that the chain still holds (or from
   * `floor`), once `onRewind` has made the follower forget what it learnt from the blocks after it
   * (`reorganised` true). At the first call `onRewind` is told where the cursor starts (`reorganised`
   * false): what an earlier process learnt from the blocks after that (its store) came from blocks a
   * reorganisation may have taken off the chain since.
   */
  async cursor(
    floor: bigint,
    onRewind?: (from: bigint, reorganised: boolean) => Promise<void> | void,
  ): Promise<EventCursor> {
    if (this.opened) return this.opened;
    const from = await this.start(floor);
    await onRewind?.(from, false);
    const saved = this.store.resumePoint(this.name);
    this.opened = new EventCursor(from, {
      floor,
      // The saved block, checked at start: a reorganisation just after it sends the cursor back to it.
      ...(saved && from === saved.block + 1n ? { after: saved } : {}),
      onRewind: async (at) => {
        await onRewind?.(at, true);
        // A saved block at or past `at` is no longer the chain's: the next pass saves one again.
        if (this.saved !== null && this.saved >= at) this.saved = null;
        this.logger.warn(
          { follower: this.name, from: String(at) },
          "the chain reorganised under blocks this follower read: reading again from the newest it still holds",
        );
      },
    });
    return this.opened;
  }

  /** The first block to read: after the saved one if the chain still holds it, else `floor`. */
  async start(floor: bigint): Promise<bigint> {
    const saved = this.store.resumePoint(this.name);
    if (!saved || saved.block < floor) return floor;
    const block = await this.chain.getBlock({ blockNumber: saved.block }).catch(() => null);
    if (block?.hash?.toLowerCase() !== saved.hash.toLowerCase()) {
      this.logger.warn(
        { follower: this.name, block: String(saved.block), from: String(floor) },
        "the chain no longer holds the block this follower stopped at (a reset or another chain): reading from the deployment",
      );
      return floor;
    }
    this.saved = saved.block;
    this.logger.info(
      { follower: this.name, from: String(saved.block + 1n) },
      "resuming from the saved block",
    );
    return saved.block + 1n;
  }

  /** Everything before `next` is done with: saved once it has moved far enough past the last save. */
  async done(next: bigint): Promise<void> {
    const last = next - 1n;
    if (last < 0n || (this.saved !== null && last - this.saved < SAVE_EVERY_BLOCKS)) return;
    const block = await this.chain.getBlock({ blockNumber: last });
    this.store.setResumePoint(this.name, last, block.hash as Hex);
    this.saved = last;
  }
}
