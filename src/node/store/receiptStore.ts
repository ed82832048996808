/**
 * The gateway's durable record of receipts and batches (SQLite through better-sqlite3). A receipt is
 * written — WAL journal, `synchronous = FULL`, so it is on disk when `admit` returns — before its client
 * is answered; batches then seal, post and finalize it. A restarted gateway resumes from here: the
 * unsealed receipts rebuild the sequencer's open batch, and a client that retries with the same
 * idempotency key gets the receipt already admitted instead of a second one. The protocol decides
 * (admission, sealing); this module only records what it decided, each change in one transaction.
 */
import Database from "better-sqlite3";
import { VerinferError } from "../../errors.ts";
import type { Hex } from "../../protocol/encoding/hex.ts";
import { receiptToJson, type SignedReceipt, validateSignedReceipt } from "../../protocol/receipt/receipt.ts";
import { RESUME_POINTS_TABLE, type ResumeStore, sqliteResumePoints } from "../resumePoint.ts";

/**
 * Where a receipt stands: admitted (provisional), in a sealed batch, posted on chain, under dispute,
 * final, voided, or stale: posted more than the rollup's `maxReceiptAge` after its signing
 * (docs/spec/otr.md §3.4), so never checked and never paid.
 */
export type ReceiptStatus = "provisional" | "sealed" | "posted" | "disputed" | "final" | "voided" | "stale";

export interface StoredReceipt {
  readonly signed: SignedReceipt;
  /** keccak256 of the receipt's EIP-712 digest input, as the sequencer computed it. */
  readonly digest: Hex;
  readonly client: string;
  readonly idempotencyKey: string | null;
  readonly admittedAtMs: number;
  readonly status: ReceiptStatus;
  readonly batch: number | null;
  readonly position: number | null;
  /** What the client was answered (JSON), replayed to a retry with the same idempotency key. */
  readonly answer: unknown;
}

export interface StoredBatch {
  readonly index: number;
  readonly root: Hex;
  readonly count: number;
  readonly status: "sealed" | "posted" | "final";
  readonly postedTx: Hex | null;
}

/** What `admit` did: stored the receipt, or found the same request (or idempotent retry) already stored. */
export type AdmitResult =
  | { readonly kind: "stored"; readonly receipt: StoredReceipt }
  | { readonly kind: "existing"; readonly receipt: StoredReceipt };

const SCHEMA_VERSION = 3;

/*
 * Admission writes one row and as few index entries as the look-ups need: every B-tree page an
 * insert touches goes to the WAL and is fsynced before the client is answered. So the request kept
 * for checkers is a column (not a second table), and the two uniqueness rules that only bind some
 * rows (a client's idempotency key, a position in a batch) are partial indexes that a receipt without
 * a key, or not yet sealed, does not enter. (Version 1 had both as table constraints and a `requests`
 * table: about a third more CPU per admission; `migrateFromV1` rebuilds such a store. Version 2 had no
 * `stale` status; `migrateFromV2` rebuilds its receipts table, since SQLite cannot alter a CHECK.)
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS receipts (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id TEXT NOT NULL UNIQUE,
  digest TEXT NOT NULL,
  signed TEXT NOT NULL,
  client TEXT NOT NULL,
  idempotency_key TEXT,
  admitted_at_ms INTEGER NOT NULL,
  status TEXT NOT NULL
    CHECK (status IN ('provisional', 'sealed', 'posted', 'disputed', 'final', 'voided', 'stale')),
  batch INTEGER REFERENCES batches(idx),
  position INTEGER,
  answer TEXT,
  -- What the gateway asked the worker (messages, sampling, seed): the checkers' copy of a request's
  -- context when its worker will not serve it (data availability for disputes), until its batch is final.
  request TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS receipts_idempotency ON receipts (client, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS receipts_position ON receipts (batch, position) WHERE batch IS NOT NULL;
CREATE INDEX IF NOT EXISTS receipts_status ON receipts (status, seq);
CREATE TABLE IF NOT EXISTS batches (
  idx INTEGER PRIMARY KEY,
  root TEXT NOT NULL,
  count INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('sealed', 'posted', 'final')),
  posted_tx TEXT
);
-- The poster reads the sealed and the posted batches on every pass; the final ones pile up.
CREATE INDEX IF NOT EXISTS batches_status ON batches (status, idx);
-- Receipts clients included on chain themselves (never sequenced again), kept because a restart
-- resumes following the rollup after a saved block, not from the deployment.
CREATE TABLE IF NOT EXISTS forced (digest TEXT PRIMARY KEY);
${RESUME_POINTS_TABLE}
`;

/** Rebuilds a version-1 store's receipts table in version 2's shape, its kept requests moved in. */
function migrateFromV1(db: Database.Database): void {
  db.exec(`
    ALTER TABLE receipts RENAME TO receipts_v1;
    DROP INDEX IF EXISTS receipts_status;
    ${SCHEMA}
    INSERT INTO receipts (seq, request_id, digest, signed, client, idempotency_key, admitted_at_ms, status,
                          batch, position, answer, request)
      SELECT r.seq, r.request_id, r.digest, r.signed, r.client, r.idempotency_key, r.admitted_at_ms, r.status,
             r.batch, r.position, r.answer, q.request
        FROM receipts_v1 r LEFT JOIN requests q ON q.request_id = r.request_id;
    DROP TABLE receipts_v1;
    DROP TABLE requests;
  `);
}

/** Rebuilds a version-2 store's receipts table in version 3's shape (the `stale` status allowed). */
function migrateFromV2(db: Database.Database): void {
  db.exec(`
    ALTER TABLE receipts RENAME TO receipts_v2;
    DROP INDEX receipts_idempotency;
    DROP INDEX receipts_position;
    DROP INDEX receipts_status;
    ${SCHEMA}
    INSERT INTO receipts SELECT * FROM receipts_v2;
    DROP TABLE receipts_v2;
  `);
}

interface ReceiptRow {
  request_id: string;
  digest: string;
  signed: string;
  client: string;
  idempotency_key: string | null;
  admitted_at_ms: number;
  status: ReceiptStatus;
  batch: number | null;
  position: number | null;
  answer: string | null;
}

interface BatchRow {
  idx: number;
  root: string;
  count: number;
  status: StoredBatch["status"];
  posted_tx: string | null;
}

function fromRow(row: ReceiptRow): StoredReceipt {
  const signed = validateSignedReceipt(JSON.parse(row.signed));
  if (!signed.ok)
    throw new VerinferError("STORE_CORRUPT", `stored receipt ${row.request_id}: ${signed.error.message}`);
  return {
    signed: signed.value,
    digest: row.digest as Hex,
    client: row.client,
    idempotencyKey: row.idempotency_key,
    admittedAtMs: row.admitted_at_ms,
    status: row.status,
    batch: row.batch,
    position: row.position,
    answer: row.answer === null ? null : JSON.parse(row.answer),
  };
}

const batchFromRow = (row: BatchRow): StoredBatch => ({
  index: row.idx,
  root: row.root as Hex,
  count: row.count,
  status: row.status,
  postedTx: row.posted_tx as Hex | null,
});

export class ReceiptStore {
  /** Where the batch poster picks up following the rollup after a restart. */
  readonly resumePoints: ResumeStore;

  /**
   * How many receipts and batches are in each status, counted once at open and kept with each change
   * (`GET /v1/network` reads them on every poll; counting a month of receipts each time would hold the
   * gateway's event loop for seconds).
   */
  private readonly tally: {
    readonly receipts: Record<ReceiptStatus, number>;
    readonly batches: Record<StoredBatch["status"], number>;
  };

  private constructor(private readonly db: Database.Database) {
    this.resumePoints = sqliteResumePoints(db);
    this.tally = {
      receipts: { provisional: 0, sealed: 0, posted: 0, disputed: 0, final: 0, voided: 0, stale: 0 },
      batches: { sealed: 0, posted: 0, final: 0 },
    };
    for (const r of db.prepare("SELECT status, COUNT(*) AS n FROM receipts GROUP BY status").all() as {
      status: ReceiptStatus;
      n: number;
    }[])
      this.tally.receipts[r.status] = r.n;
    for (const r of db.prepare("SELECT status, COUNT(*) AS n FROM batches GROUP BY status").all() as {
      status: StoredBatch["status"];
      n: number;
    }[])
      this.tally.batches[r.status] = r.n;
  }

  /** `n` receipts moved from one status to another (or in, or out), once their change is committed. */
  private moved(from: ReceiptStatus | null, to: ReceiptStatus | null, n: number): void {
    if (from) this.tally.receipts[from] -= n;
    if (to) this.tally.receipts[to] += n;
  }

  /** Statements are prepared once each: admission runs several per request. */
  private readonly statements = new Map<string, Database.Statement>();

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  /** Opens (creating if needed) the store at `path` (":memory:" for a throwaway one). */
  static open(path: string): ReceiptStore {
    let db: Database.Database;
    try {
      db = new Database(path);
    } catch (e) {
      throw new VerinferError(
        "STORE_UNAVAILABLE",
        `cannot open the receipt store ${path}: ${(e as Error).message}`,
      );
    }
    try {
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      db.pragma("busy_timeout = 5000");
      const version = db.pragma("user_version", { simple: true }) as number;
      if (!Number.isInteger(version) || version < 0 || version > SCHEMA_VERSION)
        throw new Error(`schema version ${version}, this gateway reads 1 to ${SCHEMA_VERSION}`);
      db.transaction(() => {
        if (version === 1) migrateFromV1(db);
        else if (version === 2) migrateFromV2(db);
        else db.exec(SCHEMA);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })();
    } catch (e) {
      db.close();
      throw new VerinferError(
        "STORE_CORRUPT",
        `${path} is not a receipt store this gateway reads: ${(e as Error).message}`,
      );
    }
    return new ReceiptStore(db);
  }

  /**
   * Records an admitted receipt, durably, before the client is answered. The same request (same
   * digest) or a retry with the same client idempotency key returns the receipt already stored; the
   * same request id with another receipt is refused (RECEIPT_DUPLICATE), and nothing is written.
   */
  admit(a: {
    readonly signed: SignedReceipt;
    readonly digest: Hex;
    readonly client: string;
    readonly idempotencyKey?: string;
    readonly admittedAtMs: number;
    readonly answer?: unknown;
    /** The request as the worker got it, kept for fishermen (`requestOf`). */
    readonly request?: unknown;
  }): AdmitResult {
    const requestId = a.signed.receipt.requestId;
    const result = this.db.transaction((): AdmitResult => {
      const retried =
        a.idempotencyKey === undefined ? undefined : this.byIdempotencyKey(a.client, a.idempotencyKey);
      if (retried) return { kind: "existing", receipt: retried };
      const same = this.byRequestId(requestId);
      if (same) {
        if (same.digest !== a.digest)
          throw new VerinferError("RECEIPT_REPLAYED", `request ${requestId} already has another receipt`);
        return { kind: "existing", receipt: same };
      }
      this.sql(
        `INSERT INTO receipts (request_id, digest, signed, client, idempotency_key, admitted_at_ms, status, answer,
                               request)
           VALUES (?, ?, ?, ?, ?, ?, 'provisional', ?, ?)`,
      ).run(
        requestId,
        a.digest,
        JSON.stringify(receiptToJson(a.signed)),
        a.client,
        a.idempotencyKey ?? null,
        a.admittedAtMs,
        a.answer === undefined ? null : JSON.stringify(a.answer),
        a.request === undefined ? null : JSON.stringify(a.request),
      );
      const receipt: StoredReceipt = {
        signed: a.signed,
        digest: a.digest,
        client: a.client,
        idempotencyKey: a.idempotencyKey ?? null,
        admittedAtMs: a.admittedAtMs,
        status: "provisional",
        batch: null,
        position: null,
        answer: a.answer ?? null,
      };
      return { kind: "stored", receipt };
    })();
    if (result.kind === "stored") this.moved(null, "provisional", 1);
    return result;
  }

  byRequestId(requestId: Hex): StoredReceipt | undefined {
    const row = this.sql("SELECT * FROM receipts WHERE request_id = ?").get(requestId) as
      | ReceiptRow
      | undefined;
    return row && fromRow(row);
  }

  /** The request the worker got for an admitted receipt, if it was kept. */
  requestOf(requestId: Hex): unknown {
    const row = this.sql("SELECT request FROM receipts WHERE request_id = ?").get(requestId) as
      | { request: string | null }
      | undefined;
    return row?.request ? JSON.parse(row.request) : undefined;
  }

  byIdempotencyKey(client: string, key: string): StoredReceipt | undefined {
    const row = this.sql("SELECT * FROM receipts WHERE client = ? AND idempotency_key = ?").get(
      client,
      key,
    ) as ReceiptRow | undefined;
    return row && fromRow(row);
  }

  /** Receipts admitted but not yet sealed, in admission order (what a restarted sequencer re-opens). */
  unsealed(): StoredReceipt[] {
    const rows = this.sql(
      "SELECT * FROM receipts WHERE status = 'provisional' ORDER BY seq",
    ).all() as ReceiptRow[];
    return rows.map(fromRow);
  }

  /**
   * Records a sealed batch: its root and its receipts at their positions, in one transaction. Every
   * receipt must be stored and provisional (a receipt is sealed once), and the index new.
   */
  seal(batch: { readonly index: number; readonly root: Hex; readonly requestIds: readonly Hex[] }): void {
    this.db.transaction(() => {
      if (this.batch(batch.index))
        throw new VerinferError("BATCH_EXISTS", `batch ${batch.index} is already recorded`);
      this.sql("INSERT INTO batches (idx, root, count, status) VALUES (?, ?, ?, 'sealed')").run(
        batch.index,
        batch.root,
        batch.requestIds.length,
      );
      const update = this.sql(
        "UPDATE receipts SET status = 'sealed', batch = ?, position = ? WHERE request_id = ? AND status = 'provisional'",
      );
      batch.requestIds.forEach((id, position) => {
        if (update.run(batch.index, position, id).changes !== 1)
          throw new VerinferError(
            "RECEIPT_NOT_PROVISIONAL",
            `receipt ${id} is not a provisional receipt of this store`,
          );
      });
    })();
    this.moved("provisional", "sealed", batch.requestIds.length);
    this.tally.batches.sealed++;
  }

  /** The batch's root is on chain (transaction `tx`): its receipts are posted. */
  markPosted(index: number, tx: Hex): void {
    this.advance(index, "sealed", "posted", tx);
  }

  /**
   * The chain no longer holds the posted batch `index` (a reorganisation): it is sealed again, to be
   * posted again, and its receipts with it, whatever the chain had said of them since (stale, disputed,
   * voided: the new chain says it again if it holds it).
   */
  unpost(index: number): void {
    const gone: [ReceiptStatus, number][] = [];
    this.db.transaction(() => {
      const changed = this.sql(
        "UPDATE batches SET status = 'sealed', posted_tx = NULL WHERE idx = ? AND status = 'posted'",
      ).run(index).changes;
      if (changed !== 1)
        throw new VerinferError(
          "BATCH_STATUS_INVALID",
          `batch ${index} is not posted, cannot be sealed again`,
        );
      for (const r of this.sql(
        "SELECT status, COUNT(*) AS n FROM receipts WHERE batch = ? AND status != 'sealed' GROUP BY status",
      ).all(index) as { status: ReceiptStatus; n: number }[])
        gone.push([r.status, r.n]);
      this.sql("UPDATE receipts SET status = 'sealed' WHERE batch = ?").run(index);
    })();
    this.tally.batches.posted--;
    this.tally.batches.sealed++;
    for (const [status, n] of gone) this.moved(status, "sealed", n);
  }

  /**
   * The batch's window has closed: its receipts are final, and the requests kept for checkers are
   * forgotten (no dispute can open any more; a fisherman that opened one stored the context itself).
   */
  markFinal(index: number): void {
    this.advance(index, "posted", "final", null, () =>
      this.sql("UPDATE receipts SET request = NULL WHERE batch = ?").run(index),
    );
  }

  /**
   * Forgets the receipts of the oldest batches, in index order, while each is final and its newest
   * receipt was admitted before `beforeMs`: whole batches, since a proof needs every leaf of its batch;
   * at most `maxBatches` in one transaction (the caller yields between calls: a gateway's store is
   * written on its event loop). The batch rows go with them, but for the newest batch's (the sequencer
   * numbers on from it). Returns the receipts forgotten and whether another call may forget more.
   */
  forgetFinalBefore(beforeMs: number, maxBatches = 64): { forgotten: number; more: boolean } {
    const gone: [ReceiptStatus, number][] = [];
    let batchesGone = 0;
    const result = this.db.transaction(() => {
      let forgotten = 0;
      for (let n = 0; n < maxBatches; n++) {
        const { b } = this.sql("SELECT MIN(batch) AS b FROM receipts WHERE batch IS NOT NULL").get() as {
          b: number | null;
        };
        if (b === null || this.batch(b)?.status !== "final") return { forgotten, more: false };
        const { newest } = this.sql("SELECT MAX(admitted_at_ms) AS newest FROM receipts WHERE batch = ?").get(
          b,
        ) as { newest: number };
        if (newest >= beforeMs) return { forgotten, more: false };
        for (const r of this.sql(
          "SELECT status, COUNT(*) AS n FROM receipts WHERE batch = ? GROUP BY status",
        ).all(b) as { status: ReceiptStatus; n: number }[])
          gone.push([r.status, r.n]);
        forgotten += this.sql("DELETE FROM receipts WHERE batch = ?").run(b).changes;
        batchesGone += this.sql(
          "DELETE FROM batches WHERE idx = ? AND idx < (SELECT MAX(idx) FROM batches)",
        ).run(b).changes;
      }
      return { forgotten, more: true };
    })();
    for (const [status, n] of gone) this.moved(status, null, n);
    this.tally.batches.final -= batchesGone;
    return result;
  }

  /** A receipt its client included on chain itself (a `ReceiptForced` event; noted once). */
  noteForced(digest: Hex): void {
    this.sql("INSERT OR IGNORE INTO forced (digest) VALUES (?)").run(digest.toLowerCase());
  }

  /** Every receipt noted as forced in. */
  forcedDigests(): Hex[] {
    return (this.sql("SELECT digest FROM forced").all() as { digest: Hex }[]).map((r) => r.digest);
  }

  /**
   * Batch `index` was posted too late for its receipts signed before `signedBefore` (ms; the protocol's
   * `staleBefore`): they are stale. Returns how many.
   */
  markStale(index: number, signedBefore: bigint): number {
    const { changes } = this.sql(
      `UPDATE receipts SET status = 'stale' WHERE batch = ? AND status = 'posted'
         AND CAST(json_extract(signed, '$.receipt.timestamp') AS INTEGER) < ?`,
    ).run(index, signedBefore);
    this.moved("posted", "stale", changes);
    return changes;
  }

  /** A receipt proven fraudulent is voided; its batch stands. */
  voidReceipt(requestId: Hex): void {
    const from = this.db.transaction(() => {
      const row = this.sql("SELECT status FROM receipts WHERE request_id = ?").get(requestId) as
        | { status: ReceiptStatus }
        | undefined;
      if (!row || !["sealed", "posted", "disputed"].includes(row.status))
        throw new VerinferError(
          "RECEIPT_NOT_VOIDABLE",
          `receipt ${requestId} is not in a sealed or posted batch`,
        );
      this.sql("UPDATE receipts SET status = 'voided' WHERE request_id = ?").run(requestId);
      return row.status;
    })();
    this.moved(from, "voided", 1);
  }

  /** The chain opened a dispute over the receipt at (batch, position); false if it was not posted. */
  markDisputed(batch: number, position: number): boolean {
    const { changes } = this.sql(
      "UPDATE receipts SET status = 'disputed' WHERE batch = ? AND position = ? AND status = 'posted'",
    ).run(batch, position);
    this.moved("posted", "disputed", changes);
    return changes === 1;
  }

  /**
   * The chain settled the dispute at (batch, position): the receipt is voided, or back to its batch's
   * status (posted, or final if the window closed meanwhile). False if no disputed receipt is there.
   */
  settleDispute(batch: number, position: number, voided: boolean): boolean {
    const b = this.batch(batch);
    const to = voided ? "voided" : b?.status === "final" ? "final" : "posted";
    const { changes } = this.sql(
      "UPDATE receipts SET status = ? WHERE batch = ? AND position = ? AND status = 'disputed'",
    ).run(to, batch, position);
    this.moved("disputed", to, changes);
    return changes === 1;
  }

  batch(index: number): StoredBatch | undefined {
    const row = this.sql("SELECT * FROM batches WHERE idx = ?").get(index) as BatchRow | undefined;
    return row && batchFromRow(row);
  }

  /** The receipts of a batch in position order. */
  batchReceipts(index: number): StoredReceipt[] {
    const rows = this.sql("SELECT * FROM receipts WHERE batch = ? ORDER BY position").all(
      index,
    ) as ReceiptRow[];
    return rows.map(fromRow);
  }

  /** Batches in a status, by index. */
  batchesIn(status: StoredBatch["status"]): StoredBatch[] {
    const rows = this.sql("SELECT * FROM batches WHERE status = ? ORDER BY idx").all(status) as BatchRow[];
    return rows.map(batchFromRow);
  }

  /** How many receipts and batches are in each status. */
  counts(): { receipts: Record<ReceiptStatus, number>; batches: Record<StoredBatch["status"], number> } {
    return { receipts: { ...this.tally.receipts }, batches: { ...this.tally.batches } };
  }

  /** The next batch index (one past the highest recorded). */
  nextBatchIndex(): number {
    const row = this.sql("SELECT MAX(idx) AS m FROM batches").get() as { m: number | null };
    return row.m === null ? 0 : row.m + 1;
  }

  /**
   * Caps the store's file at about `maxBytes` (SQLite's `max_page_count`; null: no cap): past it every
   * write that needs a new page fails as a full disk would, and the gateway refuses requests rather
   * than filling a disk it shares. Deleting rows (retention) frees pages for new ones. A cap below the
   * current size holds the store at its current size.
   */
  limitSize(maxBytes: number | null): void {
    const pageSize = this.db.pragma("page_size", { simple: true }) as number;
    const pages = maxBytes === null ? 4_294_967_294 : Math.max(1, Math.floor(maxBytes / pageSize));
    this.db.pragma(`max_page_count = ${pages}`);
  }

  close(): void {
    this.db.close();
  }

  /** Moves batch `index` and its receipts from one status to another, with `also` in the same transaction. */
  private advance(
    index: number,
    from: StoredBatch["status"],
    to: StoredBatch["status"],
    tx: Hex | null,
    also: () => void = () => {},
  ): void {
    const moved = this.db.transaction(() => {
      const changed = this.sql(
        "UPDATE batches SET status = ?, posted_tx = COALESCE(?, posted_tx) WHERE idx = ? AND status = ?",
      ).run(to, tx, index, from).changes;
      if (changed !== 1)
        throw new VerinferError("BATCH_STATUS_INVALID", `batch ${index} is not ${from}, cannot become ${to}`);
      const n = this.sql("UPDATE receipts SET status = ? WHERE batch = ? AND status = ?").run(
        to,
        index,
        from,
      ).changes;
      also();
      return n;
    })();
    this.tally.batches[from]--;
    this.tally.batches[to]++;
    this.moved(from, to, moved);
  }
}
