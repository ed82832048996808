/**
 * A worker's durable record (SQLite, WAL, synchronous = FULL): the receipt sequence it signs with —
 * strictly increasing across restarts, as the sequencer's replay rule needs — and, per request it
 * served, the execution context (prompt token ids and sampling) and its answer. The context is what a
 * dispute or a spot-check needs: the trace regenerates from it bit for bit (the engine is
 * deterministic), so the worker keeps kilobytes per request instead of every step's output.
 */
import Database from "better-sqlite3";
import { VerinferError } from "../../../errors.ts";
import type { Hex } from "../../../protocol/encoding/hex.ts";
import type { ExecutionContext } from "../../../protocol/verifiable/replay.ts";
import { RESUME_POINTS_TABLE, type ResumeStore, sqliteResumePoints } from "../../resumePoint.ts";

/** What the worker answered for a request (replayed as is when the same request comes again). */
export interface ServedAnswer {
  readonly text: string;
  readonly finishReason: "stop" | "length" | "eos";
  readonly usage: { readonly promptTokens: number; readonly completionTokens: number };
  /** receiptToJson of the signed receipt. */
  readonly receipt: { readonly receipt: Record<string, unknown>; readonly signature: Hex };
}

export interface ServedRequest {
  readonly requestId: Hex;
  /** keccak256 of the request as the gateway sent it: the same id with another request is refused. */
  readonly requestHash: Hex;
  readonly sequence: bigint;
  readonly context: ExecutionContext;
  readonly outputTokens: number;
  /** The generated token ids (what the receipt's outputHash commits to; evaluators score them). */
  readonly output: readonly number[];
  readonly answer: ServedAnswer;
  readonly servedAtMs: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS served (
  request_id TEXT PRIMARY KEY,
  request_hash TEXT NOT NULL,
  sequence INTEGER NOT NULL UNIQUE,
  context TEXT NOT NULL,
  output_tokens INTEGER NOT NULL,
  output TEXT NOT NULL,
  answer TEXT NOT NULL,
  served_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS spot_proofs (
  key TEXT PRIMARY KEY,
  opened TEXT NOT NULL,
  bytes TEXT NOT NULL,
  prove_ms INTEGER NOT NULL,
  mined_at INTEGER
);
${RESUME_POINTS_TABLE}
`;

/**
 * A spot-check proof the worker made, kept until its obligation is done with: its send may fail, or a
 * reorganisation may take it off the chain, and proving again takes seconds a deadline may not have.
 */
export interface KeptProof {
  /** The obligation and the selection proven (one opened again after a reorganisation may select another). */
  readonly key: string;
  /** The obligation's opening event, as the prover encodes it. */
  readonly opened: string;
  /** The proof, encoded for SpotChecks.prove. */
  readonly bytes: Hex;
  readonly proveMs: number;
  /** The head when the proof was seen mined; null while unsent or not yet mined. */
  readonly minedAt: bigint | null;
}

interface ProofRow {
  key: string;
  opened: string;
  bytes: string;
  prove_ms: number;
  mined_at: number | null;
}

const keptProof = (r: ProofRow): KeptProof => ({
  key: r.key,
  opened: r.opened,
  bytes: r.bytes as Hex,
  proveMs: r.prove_ms,
  minedAt: r.mined_at === null ? null : BigInt(r.mined_at),
});

interface Row {
  request_id: string;
  request_hash: string;
  sequence: number;
  context: string;
  output_tokens: number;
  output: string;
  answer: string;
  served_at_ms: number;
}

export class WorkerStore {
  /** Where the dispute defence and the spot-check prover pick up after a restart. */
  readonly resumePoints: ResumeStore;

  private constructor(private readonly db: Database.Database) {
    this.resumePoints = sqliteResumePoints(db);
  }

  static open(path: string): WorkerStore {
    let db: Database.Database;
    try {
      db = new Database(path);
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      db.exec(SCHEMA);
    } catch (e) {
      throw new VerinferError(
        "STORE_UNAVAILABLE",
        `cannot open the worker store ${path}: ${(e as Error).message}`,
      );
    }
    return new WorkerStore(db);
  }

  /**
   * Reserves the next receipt sequence, durably: a sequence is never signed twice, even when the
   * worker crashes between reserving and recording (the gap is harmless to the replay rule).
   */
  nextSequence(): bigint {
    return this.db.transaction(() => {
      const row = this.db.prepare("SELECT value FROM counters WHERE name = 'sequence'").get() as
        | { value: number }
        | undefined;
      const next = (row?.value ?? 0) + 1;
      this.db
        .prepare(
          "INSERT INTO counters (name, value) VALUES ('sequence', ?) ON CONFLICT(name) DO UPDATE SET value = ?",
        )
        .run(next, next);
      return BigInt(next);
    })();
  }

  /** Records a served request (before its receipt leaves the worker). */
  record(s: ServedRequest): void {
    this.db
      .prepare(
        "INSERT INTO served (request_id, request_hash, sequence, context, output_tokens, output, answer, served_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(
        s.requestId.toLowerCase(),
        s.requestHash,
        Number(s.sequence),
        JSON.stringify(s.context),
        s.outputTokens,
        JSON.stringify(s.output),
        JSON.stringify(s.answer),
        s.servedAtMs,
      );
  }

  byRequestId(requestId: Hex): ServedRequest | undefined {
    const row = this.db.prepare("SELECT * FROM served WHERE request_id = ?").get(requestId.toLowerCase()) as
      | Row
      | undefined;
    if (!row) return undefined;
    return {
      requestId: row.request_id as Hex,
      requestHash: row.request_hash as Hex,
      sequence: BigInt(row.sequence),
      context: JSON.parse(row.context) as ExecutionContext,
      outputTokens: row.output_tokens,
      output: JSON.parse(row.output) as number[],
      answer: JSON.parse(row.answer) as ServedAnswer,
      servedAtMs: row.served_at_ms,
    };
  }

  /**
   * Forgets requests served before `beforeMs` (nothing can dispute them or owe a proof for them any
   * more: receiptAge.ts), except those in `keep` (games still being played): oldest first, at most
   * `maxRows` in one transaction. Rows are read in the order they were written, stopping at the first
   * one served since `beforeMs`, so no call scans the table (the caller yields between calls: a worker's
   * store is written on its event loop). Returns how many were forgotten and whether more may be.
   */
  prune(beforeMs: number, keep: readonly Hex[] = [], maxRows = 1000): { forgotten: number; more: boolean } {
    const kept = new Set(keep.map((id) => id.toLowerCase()));
    return this.db.transaction(() => {
      const oldest = this.db
        .prepare("SELECT rowid AS id, request_id, served_at_ms FROM served ORDER BY rowid LIMIT ?")
        .all(maxRows + kept.size) as { id: number; request_id: string; served_at_ms: number }[];
      const forget = this.db.prepare("DELETE FROM served WHERE rowid = ?");
      let forgotten = 0;
      for (const row of oldest) {
        if (row.served_at_ms >= beforeMs) return { forgotten, more: false };
        if (!kept.has(row.request_id)) forgotten += forget.run(row.id).changes;
      }
      return { forgotten, more: oldest.length === maxRows + kept.size };
    })();
  }

  /** Keeps a proof (again, when it was mined or is made again). */
  keepProof(p: KeptProof): void {
    this.db
      .prepare(
        "INSERT OR REPLACE INTO spot_proofs (key, opened, bytes, prove_ms, mined_at) VALUES (?, ?, ?, ?, ?)",
      )
      .run(p.key, p.opened, p.bytes, p.proveMs, p.minedAt === null ? null : Number(p.minedAt));
  }

  keptProof(key: string): KeptProof | undefined {
    const row = this.db.prepare("SELECT * FROM spot_proofs WHERE key = ?").get(key) as ProofRow | undefined;
    return row && keptProof(row);
  }

  /** The proofs seen mined, oldest first. */
  minedProofs(): KeptProof[] {
    return (
      this.db
        .prepare("SELECT * FROM spot_proofs WHERE mined_at IS NOT NULL ORDER BY mined_at")
        .all() as ProofRow[]
    ).map(keptProof);
  }

  forgetProof(key: string): void {
    this.db.prepare("DELETE FROM spot_proofs WHERE key = ?").run(key);
  }

  /** Forgets the proofs seen mined before block `block` (no reorganisation that deep is expected). */
  forgetProofsMinedBefore(block: bigint): void {
    this.db.prepare("DELETE FROM spot_proofs WHERE mined_at < ?").run(Number(block));
  }

  close(): void {
    this.db.close();
  }
}
