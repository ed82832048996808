/**
 * SQLite's plan for a statement, one step per entry ("SEARCH t USING INDEX …", "SCAN t", …), each `?`
 * bound to 1: how the stores' tests check that a look-up reads through an index, not the whole table.
 */
import type Database from "better-sqlite3";

export function queryPlan(db: Database.Database, sql: string): string[] {
  const args = (sql.match(/\?/g) ?? []).map(() => 1);
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[]).map((p) => p.detail);
}
