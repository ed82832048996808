/**
 * A follower's draw notes (`DrawWatch`, src/chain/postedBatches.ts) kept in its SQLite store: the
 * blocks the latest batches' draws stand on, so that a follower restarted after a reorganisation still
 * finds the draws it must make again.
 */
import type Database from "better-sqlite3";
import type { Hex } from "viem";
import type { DrawNote, DrawNotes } from "../chain/postedBatches.ts";

/** The table the notes are kept in, in block order (part of the follower's schema). */
export const DRAW_NOTES_SCHEMA =
  "CREATE TABLE IF NOT EXISTS draw_notes (batch INTEGER NOT NULL, block INTEGER NOT NULL, hash TEXT NOT NULL);";

/** The notes in `db`'s `draw_notes` table. */
export function sqliteDrawNotes(db: Database.Database): DrawNotes {
  return {
    load: () =>
      (
        db.prepare("SELECT batch, block, hash FROM draw_notes ORDER BY rowid").all() as {
          batch: number;
          block: number;
          hash: Hex;
        }[]
      ).map((r) => ({ index: r.batch, block: BigInt(r.block), hash: r.hash })),
    save: db.transaction((notes: readonly DrawNote[]) => {
      db.prepare("DELETE FROM draw_notes").run();
      const insert = db.prepare("INSERT INTO draw_notes (batch, block, hash) VALUES (?, ?, ?)");
      for (const n of notes) insert.run(n.index, Number(n.block), n.hash);
    }),
  };
}
