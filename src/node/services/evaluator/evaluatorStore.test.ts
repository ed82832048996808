/**
 * The evaluator's store reads only recent rows: what is left to commit, the commitments still open and
 * the view of recent epochs each use an index (a scan of every score ever stored would make each pass
 * cost more as the network ages), and give what the pass and the view expect.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { revealEnd, type ScoreClock } from "../../../chain/postedBatches.ts";
import { FORCED_BASE } from "../../../protocol/rollup/rollupState.ts";
import { queryPlan } from "../../../testing/queryPlan.ts";
import { openFollowerStore } from "../../followerNode.ts";
import {
  DEFERRED_SQL,
  EPOCH_DEFERRED_SQL,
  EVALUATOR_SCHEMA,
  FORGET_REDRAWN_SQL,
  forgetOldScores,
  OPEN_COMMITS_SQL,
  RECENT_EPOCHS_SQL,
  UNPREPARED_EPOCHS_SQL,
} from "./evaluatorService.ts";

function store() {
  const db = new Database(":memory:");
  db.exec(EVALUATOR_SCHEMA);
  const score = db.prepare(
    "INSERT INTO scores (batch, position, epoch, score, note) VALUES (?, ?, ?, ?, 'n')",
  );
  // Epochs 0–39, three receipts each (one unavailable in epoch 38); 0–35 committed and revealed,
  // 36 committed, 37 being committed.
  for (let e = 0; e < 40; e++) for (let p = 0; p < 3; p++) score.run(e, p, e, e === 38 && p === 0 ? null : 5);
  const commit = db.prepare(
    "INSERT INTO commits (epoch, scores, salt, commitment, status) VALUES (?, '0x', '0x', '0x', ?)",
  );
  for (let e = 0; e < 38; e++) commit.run(e, e < 36 ? "revealed" : e === 36 ? "committed" : "committing");
  return db;
}

describe("the evaluator's store", () => {
  it("answers each look-up of a pass and the view through an index, never by scanning a table", () => {
    const db = store();
    for (const sql of [
      UNPREPARED_EPOCHS_SQL,
      OPEN_COMMITS_SQL,
      RECENT_EPOCHS_SQL,
      FORGET_REDRAWN_SQL,
      DEFERRED_SQL,
      EPOCH_DEFERRED_SQL,
    ]) {
      expect(
        queryPlan(db, sql).filter((step) => /^SCAN /.test(step)),
        sql,
      ).toEqual([]);
    }
  });

  it("gives the ended epochs left to prepare, the open commitments, and the latest epochs' counts", () => {
    const db = store();
    expect(db.prepare(UNPREPARED_EPOCHS_SQL).all(39)).toEqual([{ epoch: 38 }]);
    expect(db.prepare(UNPREPARED_EPOCHS_SQL).all(40)).toEqual([{ epoch: 38 }, { epoch: 39 }]);
    const open = (from: number) =>
      (db.prepare(OPEN_COMMITS_SQL).all(from) as { epoch: number }[]).map((c) => c.epoch);
    expect(open(40)).toEqual([36, 37]);
    // And the revealed ones whose reveal phase may still be open.
    expect(open(34)).toEqual([34, 35, 36, 37]);
    expect(db.prepare(RECENT_EPOCHS_SQL).all(3)).toEqual([
      { epoch: 37, scored: 3, unavailable: 0, withheld: 0, status: "committing" },
      { epoch: 38, scored: 2, unavailable: 1, withheld: 0, status: null },
      { epoch: 39, scored: 3, unavailable: 0, withheld: 0, status: null },
    ]);
  });

  it("gives the receipts deferred for an unreachable worker in epochs not yet prepared, and no others", () => {
    const db = store();
    const defer = db.prepare(
      "INSERT INTO scores (batch, position, epoch, score, note) VALUES (?, ?, ?, NULL, 'deferred')",
    );
    // Epoch 37 is prepared (being committed): its deferred receipt was settled then; 38's and 39's are asked again.
    defer.run(37, 5, 37);
    defer.run(39, 4, 39);
    defer.run(38, 3, 38);
    expect(db.prepare(DEFERRED_SQL).all()).toEqual([
      { batch: 38, position: 3 },
      { batch: 39, position: 4 },
    ]);
    // An ended epoch whose only receipt is deferred is prepared too (its receipt then scored as withheld).
    defer.run(40, 0, 40);
    expect(db.prepare(UNPREPARED_EPOCHS_SQL).all(41)).toEqual([{ epoch: 38 }, { epoch: 39 }, { epoch: 40 }]);
    // Each epoch's count, which holds its preparation back while some are left.
    const left = (e: number) => (db.prepare(EPOCH_DEFERRED_SQL).get(e) as { n: number }).n;
    expect([36, 37, 38, 39, 40].map(left)).toEqual([0, 1, 1, 1, 1]);
  });

  it("forgets, for a redraw, the scores of the batches drawn again in epochs not yet prepared, and no others", () => {
    const db = store();
    // Forced batches are numbered from FORCED_BASE: one scored in epoch 39.
    db.prepare("INSERT INTO scores (batch, position, epoch, score, note) VALUES (?, 0, 39, 5, 'n')").run(
      FORCED_BASE,
    );
    const batches = () =>
      (
        db.prepare("SELECT DISTINCT batch FROM scores WHERE batch >= 35 ORDER BY batch").all() as {
          batch: number;
        }[]
      ).map((r) => r.batch);
    // Batches 36 on drawn again: 36 and 37's epochs are prepared (committed to), 38 and 39's are not; the
    // forced batch is not among them.
    expect(db.prepare(FORGET_REDRAWN_SQL).run(36, FORCED_BASE).changes).toBe(6);
    expect(batches()).toEqual([35, 36, 37, FORCED_BASE]);
    expect(db.prepare(FORGET_REDRAWN_SQL).run(FORCED_BASE, Number.MAX_SAFE_INTEGER).changes).toBe(1);
    expect(batches()).toEqual([35, 36, 37]);
  });

  it("forgets the scores of epochs done with and past the retention, oldest first, and stops at one still open", () => {
    const store = openFollowerStore(
      mkdtempSync(join(tmpdir(), "verinfer-evaluator-")),
      "e.sqlite",
      EVALUATOR_SCHEMA,
    );
    const { db } = store;
    const score = db.prepare(
      "INSERT INTO scores (batch, position, epoch, score, note) VALUES (?, ?, ?, ?, 'n')",
    );
    const commit = db.prepare(
      "INSERT INTO commits (epoch, scores, salt, commitment, status) VALUES (?, '0xabcd', '0x01', '0x02', ?)",
    );
    // Epoch 0 revealed, 1 missed, 2 never prepared (its only score unavailable), 3 still committed
    // (its reveal not yet sent), 4 revealed.
    for (let e = 0; e < 5; e++) score.run(e, 0, e, e === 2 ? null : 5);
    for (const [e, status] of [
      [0, "revealed"],
      [1, "missed"],
      [3, "committed"],
      [4, "revealed"],
    ] as const)
      commit.run(e, status);
    const k: ScoreClock = { genesis: 1_000, epochSeconds: 60, commitSeconds: 10, revealSeconds: 10 };
    const day = 86_400_000;
    const left = () =>
      (db.prepare("SELECT DISTINCT epoch FROM scores ORDER BY epoch").all() as { epoch: number }[]).map(
        (r) => r.epoch,
      );
    // Epoch 1's reveal phase ended less than a day ago: epoch 0 only.
    forgetOldScores(store, k, revealEnd(k, 1) + 86_399, day);
    expect(left()).toEqual([1, 2, 3, 4]);
    // Much later: 1 and 2 too, then it stops at 3 (its reveal may still be sent), and 4 waits behind it.
    forgetOldScores(store, k, revealEnd(k, 4) + 86_400 * 10, day);
    expect(left()).toEqual([3, 4]);
    expect(db.prepare("SELECT epoch, scores, status FROM commits ORDER BY epoch").all()).toEqual([
      { epoch: 0, scores: "0x", status: "revealed" },
      { epoch: 1, scores: "0x", status: "missed" },
      { epoch: 3, scores: "0xabcd", status: "committed" },
      { epoch: 4, scores: "0xabcd", status: "revealed" },
    ]);
    expect(store.progress("forgetFrom")).toBe(3);
    db.prepare("UPDATE commits SET status = 'revealed' WHERE epoch = 3").run();
    forgetOldScores(store, k, revealEnd(k, 4) + 86_400 * 10, day);
    expect(left()).toEqual([]);
    db.close();
  });
});
