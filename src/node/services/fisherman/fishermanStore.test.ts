/**
 * The fisherman's store reads only what a pass and the view need: due obligations, open games, the
 * latest games and obligations and the verdict counts each come from an index or a small table (a
 * scan of every receipt checked would make each pass and each poll cost more as the network ages).
 */
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { queryPlan } from "../../../testing/queryPlan.ts";
import {
  DUE_OBLIGATIONS_SQL,
  FISHERMAN_SCHEMA,
  forgetCheckedBefore,
  OPEN_GAMES_SQL,
  RECENT_GAMES_SQL,
  RECENT_OBLIGATIONS_SQL,
  upgradeOnce,
} from "./fishermanService.ts";

function store() {
  const db = new Database(":memory:");
  db.exec(FISHERMAN_SCHEMA);
  const obligation = db.prepare(
    "INSERT INTO obligations (batch, position, deadline, status) VALUES (?, ?, ?, ?)",
  );
  for (let b = 0; b < 50; b++) obligation.run(b, b % 3, 1000 + b, b < 45 ? "proven" : "open");
  const game = db.prepare(
    "INSERT INTO games (game, batch, position, receipt, context, status) VALUES (?, ?, 0, '{}', '{}', ?)",
  );
  for (let g = 1; g <= 10; g++) game.run(g, g, g === 9 ? "open" : "won");
  return db;
}

describe("the fisherman's store", () => {
  it("answers each look-up of a pass through an index, and reads only the latest rows for the view", () => {
    const db = store();
    const plan = (sql: string) => queryPlan(db, sql);
    for (const sql of [DUE_OBLIGATIONS_SQL, OPEN_GAMES_SQL])
      expect(
        plan(sql).filter((step) => step.startsWith("SCAN")),
        sql,
      ).toEqual([]);
    // The view's rows come in key order, newest first, so the LIMIT stops the read (only the page is
    // sorted back): one sort, not one of every row.
    for (const sql of [RECENT_GAMES_SQL, RECENT_OBLIGATIONS_SQL])
      expect(
        plan(sql).filter((step) => step.startsWith("USE TEMP B-TREE")),
        sql,
      ).toHaveLength(1);
  });

  it("gives due obligations, open games, the latest of each oldest first, and counts verdicts once for an old store", () => {
    const db = store();
    expect(db.prepare(DUE_OBLIGATIONS_SQL).all(1047)).toEqual([
      { batch: 45, position: 0 },
      { batch: 46, position: 1 },
    ]);
    expect((db.prepare(OPEN_GAMES_SQL).all() as { game: number }[]).map((g) => g.game)).toEqual([9]);
    expect((db.prepare(RECENT_GAMES_SQL).all(3) as { game: number }[]).map((g) => g.game)).toEqual([
      8, 9, 10,
    ]);
    expect((db.prepare(RECENT_OBLIGATIONS_SQL).all(2) as { batch: number }[]).map((o) => o.batch)).toEqual([
      48, 49,
    ]);
    // Checks recorded before the counts existed are counted at the first start that has them, once.
    const check = db.prepare("INSERT INTO checked (batch, position, verdict) VALUES (?, ?, ?)");
    for (let p = 0; p < 5; p++) check.run(0, p, p < 4 ? "match" : "skipped");
    upgradeOnce(db, 5_000);
    upgradeOnce(db, 6_000);
    expect(db.prepare("SELECT verdict, n FROM verdicts ORDER BY verdict").all()).toEqual([
      { verdict: "match", n: 4 },
      { verdict: "skipped", n: 1 },
    ]);
    expect(db.prepare("SELECT batch, at_ms FROM batches_checked").all()).toEqual([
      { batch: 0, at_ms: 5_000 },
    ]);
  });

  it("forgets the verdicts and settled obligations of batches checked before a time, oldest first; counts and games stay", () => {
    const db = store();
    const check = db.prepare("INSERT INTO checked (batch, position, verdict) VALUES (?, ?, 'match')");
    const checkedAt = db.prepare("INSERT INTO batches_checked (batch, at_ms) VALUES (?, ?)");
    for (let b = 40; b < 50; b++) {
      for (let p = 0; p < 3; p++) check.run(b, p);
      checkedAt.run(b, 1_000 * b);
    }
    db.prepare("INSERT INTO verdicts (verdict, n) VALUES ('match', 30)").run();
    const left = (table: string) =>
      (
        db.prepare(`SELECT DISTINCT batch FROM ${table} WHERE batch >= 40 ORDER BY batch`).all() as {
          batch: number;
        }[]
      ).map((r) => r.batch);
    expect(forgetCheckedBefore(db, 46_000)).toBe(false);
    expect(left("checked")).toEqual([46, 47, 48, 49]);
    // Obligations 40–44 were proven (forgotten); 45 is still open (followed until its deadline).
    expect(left("obligations")).toEqual([45, 46, 47, 48, 49]);
    expect(left("batches_checked")).toEqual([46, 47, 48, 49]);
    expect(db.prepare("SELECT n FROM verdicts").get()).toEqual({ n: 30 });
    expect(db.prepare("SELECT COUNT(*) AS n FROM games").get()).toEqual({ n: 10 });
  });
});
