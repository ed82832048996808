/**
 * The settler's store answers each look-up of a pass through an index: an epoch's batches and the
 * epochs awaiting claims (a scan of every batch or epoch ever filed would make each pass cost more as
 * the network ages).
 */
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { queryPlan } from "../../../testing/queryPlan.ts";
import { EPOCH_BATCHES_SQL, POSTED_EPOCHS_SQL, SETTLER_SCHEMA } from "./settlerService.ts";

describe("the settler's store", () => {
  it("finds an epoch's batches and the posted epochs by index, not by scanning", () => {
    const db = new Database(":memory:");
    db.exec(SETTLER_SCHEMA);
    const batch = db.prepare("INSERT INTO batches (batch, epoch) VALUES (?, ?)");
    for (let b = 0; b < 100; b++) batch.run(b, Math.floor(b / 10));
    const epoch = db.prepare(
      "INSERT INTO epochs (epoch, status, minted, inputs, entries, rounds, attribution) VALUES (?, ?, '0', '{}', '[]', '[]', '{}')",
    );
    for (let e = 0; e < 10; e++) epoch.run(e, e === 8 ? "posted" : "claimed");
    for (const sql of [EPOCH_BATCHES_SQL, POSTED_EPOCHS_SQL]) {
      expect(
        queryPlan(db, sql).filter((step) => step.startsWith("SCAN")),
        sql,
      ).toEqual([]);
    }
    expect((db.prepare(EPOCH_BATCHES_SQL).all(3) as { batch: number }[]).map((b) => b.batch)).toEqual([
      30, 31, 32, 33, 34, 35, 36, 37, 38, 39,
    ]);
    expect((db.prepare(POSTED_EPOCHS_SQL).all() as { epoch: number }[]).map((e) => e.epoch)).toEqual([8]);
  });
});
