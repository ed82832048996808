import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VerinferError } from "../../errors.ts";
import { bytesToHex, type Hex } from "../../protocol/encoding/hex.ts";
import { receiptDigest, receiptToJson, type SignedReceipt } from "../../protocol/receipt/receipt.ts";
import { signReceipt } from "../../protocol/receipt/verifyReceipt.ts";
import { devReceipt, ENCLAVE_KEY } from "../../testing/devWorker.ts";
import { queryPlan } from "../../testing/queryPlan.ts";
import { thrownCode } from "../../testing/thrownCode.ts";
import { ReceiptStore } from "./receiptStore.ts";

const dir = mkdtempSync(join(tmpdir(), "verinfer-store-"));
const SETTLEMENT = "0x0000000000000000000000000000000000000001" as Hex;
const signedOf = (i: number, fields = {}): SignedReceipt =>
  signReceipt(devReceipt(i, 31337n, SETTLEMENT, fields), ENCLAVE_KEY);
const admitted = (signed: SignedReceipt, key?: string) => ({
  signed,
  digest: bytesToHex(receiptDigest(signed.receipt)),
  client: "alice",
  ...(key ? { idempotencyKey: key } : {}),
  admittedAtMs: 1_000,
});

describe("ReceiptStore", () => {
  it("stores receipts durably and moves them through sealed, posted, final and voided", () => {
    const path = join(dir, "flow.db");
    const store = ReceiptStore.open(path);
    const rs = [0, 1, 2].map((i) => signedOf(i));
    for (const r of rs) expect(store.admit(admitted(r)).kind).toBe("stored");
    expect(store.unsealed().map((s) => s.signed)).toEqual(rs);
    store.seal({ index: 0, root: `0x${"ab".repeat(32)}`, requestIds: rs.map((r) => r.receipt.requestId) });
    expect(store.unsealed()).toEqual([]);
    expect(store.batchReceipts(0).map((s) => [s.status, s.position])).toEqual([
      ["sealed", 0],
      ["sealed", 1],
      ["sealed", 2],
    ]);
    store.markPosted(0, `0x${"cd".repeat(32)}`);
    store.voidReceipt(rs[1]!.receipt.requestId);
    store.markFinal(0);
    expect(store.batchReceipts(0).map((s) => s.status)).toEqual(["final", "voided", "final"]);
    expect(store.batch(0)).toMatchObject({ status: "final", count: 3, postedTx: `0x${"cd".repeat(32)}` });
    expect(store.nextBatchIndex()).toBe(1);
    // The request a worker got is kept with its receipt (the checkers' copy), nothing for others.
    const request = { requestId: rs[0]!.receipt.requestId, messages: [{ role: "user", content: "hi" }] };
    const withRequest = signedOf(3);
    store.admit({
      ...admitted(withRequest),
      request: { ...request, requestId: withRequest.receipt.requestId },
    });
    expect(store.requestOf(withRequest.receipt.requestId)).toEqual({
      ...request,
      requestId: withRequest.receipt.requestId,
    });
    expect(store.requestOf(rs[0]!.receipt.requestId)).toBeUndefined();
    // Once its batch is final, the copy is forgotten (prompts are kept no longer than disputes need).
    store.seal({ index: 1, root: `0x${"ef".repeat(32)}`, requestIds: [withRequest.receipt.requestId] });
    store.markPosted(1, `0x${"cd".repeat(32)}`);
    expect(store.requestOf(withRequest.receipt.requestId)).toBeDefined();
    store.markFinal(1);
    expect(store.requestOf(withRequest.receipt.requestId)).toBeUndefined();
    store.close();
    // Reopened, everything is still there.
    const again = ReceiptStore.open(path);

    expect(again.byRequestId(rs[2]!.receipt.requestId)).toMatchObject({
      status: "final",
      batch: 0,
      position: 2,
    });
    again.close();
  });

  it("forgets whole final batches whose receipts are all older than the cutoff, and nothing else", () => {
    const store = ReceiptStore.open(join(dir, "forget.db"));
    const at = (i: number, ms: number) => ({ ...admitted(signedOf(100 + i)), admittedAtMs: ms });
    // Batch 0 (final): admitted at 1,000 and 2,000; batch 1 (final): 1,500 and 9,000; batch 2 posted, old.
    const batches = [[at(0, 1_000), at(1, 2_000)], [at(2, 1_500), at(3, 9_000)], [at(4, 1_000)]];
    batches.forEach((receipts, index) => {
      for (const r of receipts) store.admit(r);
      store.seal({
        index,
        root: `0x${"ab".repeat(32)}`,
        requestIds: receipts.map((r) => r.signed.receipt.requestId),
      });
      store.markPosted(index, `0x${"cd".repeat(32)}`);
      if (index < 2) store.markFinal(index);
    });
    const provisional = at(5, 500);
    store.admit(provisional);
    const kept = (i: number) => store.byRequestId(signedOf(100 + i).receipt.requestId) !== undefined;
    // In index order, a batch at a time: batch 1 has a receipt too recent, so it and all after stay.
    expect(store.forgetFinalBefore(5_000, 1)).toEqual({ forgotten: 2, more: true });
    expect(store.forgetFinalBefore(5_000, 1)).toEqual({ forgotten: 0, more: false });
    expect([0, 1, 2, 3, 4, 5].map(kept)).toEqual([false, false, true, true, true, true]);
    // Later, batch 1 goes too; batch 2 is not final yet (its window is open), nor is the provisional one.
    expect(store.forgetFinalBefore(10_000)).toEqual({ forgotten: 2, more: false });
    expect([2, 3, 4, 5].map(kept)).toEqual([false, false, true, true]);
    expect(store.batch(0)).toBeUndefined(); // the batch rows go too
    expect(store.batch(2)).toMatchObject({ status: "posted", count: 1 });
    // The newest batch's row stays, forgotten or not: the sequencer numbers on from it.
    store.markFinal(2);
    expect(store.forgetFinalBefore(10_000)).toEqual({ forgotten: 1, more: false });
    expect(store.batch(2)).toMatchObject({ status: "final", count: 1 });
    expect(store.nextBatchIndex()).toBe(3);
    expect(store.counts().batches).toEqual({ sealed: 0, posted: 0, final: 1 });
    store.close();
  });

  it("answers a retry with the receipt already stored, refuses another receipt for the same request", () => {
    const store = ReceiptStore.open(":memory:");
    const r = signedOf(7);
    const first = store.admit(admitted(r, "k1"));
    expect(first.kind).toBe("stored");
    // What admission returns is what the store reads back.
    expect(store.byRequestId(r.receipt.requestId)).toEqual(first.receipt);
    // The client retries (same key): the same receipt, nothing new.
    expect(store.admit(admitted(signedOf(8), "k1"))).toEqual({ kind: "existing", receipt: first.receipt });
    // The same request again without a key: the same receipt.
    expect(store.admit(admitted(r)).kind).toBe("existing");
    // Another receipt claiming the same request id: refused, nothing written.
    const forged = signedOf(7, { outputHash: `0x${"11".repeat(32)}` });
    expect(thrownCode(() => store.admit(admitted(forged, "k2")))).toBe("RECEIPT_REPLAYED");
    expect(store.byIdempotencyKey("alice", "k2")).toBeUndefined();
    expect(store.unsealed()).toHaveLength(1);
    store.close();
  });

  it("refuses impossible transitions with codes and writes nothing", () => {
    const store = ReceiptStore.open(":memory:");
    const [a, b] = [signedOf(1), signedOf(2)];
    store.admit(admitted(a));
    const root = `0x${"ab".repeat(32)}` as Hex;
    // A batch naming a receipt the store never admitted: refused as a whole.
    expect(
      thrownCode(() =>
        store.seal({ index: 0, root, requestIds: [a.receipt.requestId, b.receipt.requestId] }),
      ),
    ).toBe("RECEIPT_NOT_PROVISIONAL");
    expect(store.batch(0)).toBeUndefined();
    expect(store.unsealed()).toHaveLength(1);
    store.seal({ index: 0, root, requestIds: [a.receipt.requestId] });
    store.admit(admitted(b));
    expect(thrownCode(() => store.seal({ index: 0, root, requestIds: [b.receipt.requestId] }))).toBe(
      "BATCH_EXISTS",
    );
    expect(thrownCode(() => store.seal({ index: 1, root, requestIds: [a.receipt.requestId] }))).toBe(
      "RECEIPT_NOT_PROVISIONAL",
    );
    expect(thrownCode(() => store.markFinal(0))).toBe("BATCH_STATUS_INVALID");
    expect(thrownCode(() => store.voidReceipt(b.receipt.requestId))).toBe("RECEIPT_NOT_VOIDABLE");
    expect(thrownCode(() => store.markPosted(5, root))).toBe("BATCH_STATUS_INVALID");
    store.close();
  });

  it("property: its counts by status stay what counting its tables gives, through every change and every refused one", () => {
    const ops = fc.array(fc.tuple(fc.nat(9), fc.nat(1_000)), { minLength: 40, maxLength: 120 });
    let run = 0;
    fc.assert(
      fc.property(ops, (steps) => {
        const path = join(dir, `counts-${run++}.db`);
        const store = ReceiptStore.open(path);
        const raw = new Database(path, { readonly: true });
        const scanned = () => {
          const receipts: Record<string, number> = {};
          const batches: Record<string, number> = {};
          for (const r of raw.prepare("SELECT status, COUNT(*) AS n FROM receipts GROUP BY status").all() as {
            status: string;
            n: number;
          }[])
            receipts[r.status] = r.n;
          for (const r of raw.prepare("SELECT status, COUNT(*) AS n FROM batches GROUP BY status").all() as {
            status: string;
            n: number;
          }[])
            batches[r.status] = r.n;
          return { receipts, batches };
        };
        const nonZero = (x: Record<string, number>) =>
          Object.fromEntries(Object.entries(x).filter(([, n]) => n));
        let next = 0;
        const admittedIds: Hex[] = [];
        const pick = <T>(xs: readonly T[], r: number) => xs[r % Math.max(1, xs.length)];
        try {
          for (const [op, r] of steps) {
            // Mostly a batch the change applies to; now and then any (refused unless it applies).
            const some = (status: "sealed" | "posted") =>
              r % 5 === 0
                ? r % Math.max(1, store.nextBatchIndex())
                : (pick(store.batchesIn(status), r)?.index ?? 0);
            try {
              if (op === 0 || op === 1) {
                const signed = signedOf(1_000 + (op === 1 && r % 4 === 0 && next > 0 ? r % next : next++));
                store.admit(admitted(signed, r % 3 === 0 ? `k${r}` : undefined));
                admittedIds.push(signed.receipt.requestId);
              } else if (op === 2) {
                const ids = store.unsealed().map((u) => u.signed.receipt.requestId);
                // Now and then one that is not provisional: refused, nothing sealed.
                if (r % 4 === 0 && admittedIds.length) ids.push(pick(admittedIds, r) as Hex);
                if (ids.length)
                  store.seal({
                    index: store.nextBatchIndex(),
                    root: `0x${"ab".repeat(32)}`,
                    requestIds: ids,
                  });
              } else if (op === 3) store.markPosted(some("sealed"), `0x${"cd".repeat(32)}`);
              else if (op === 4) store.markStale(some("posted"), 1_800_000_001_000n + BigInt(r % 40));
              else if (op === 5) store.markDisputed(some("posted"), r % 3);
              else if (op === 6) store.settleDispute(some("posted"), r % 3, r % 2 === 0);
              else if (op === 7 && admittedIds.length) store.voidReceipt(pick(admittedIds, r) as Hex);
              else if (op === 8) store.markFinal(some("posted"));
              else if (op === 9) store.forgetFinalBefore(r % 2 === 0 ? 2_000 : 500, 1 + (r % 3));
            } catch (e) {
              if (!(e instanceof VerinferError)) throw e;
            }
            const counted = store.counts();
            const expected = scanned();
            expect(nonZero(counted.receipts)).toEqual(expected.receipts);
            expect(nonZero(counted.batches)).toEqual(expected.batches);
          }
        } finally {
          raw.close();
          store.close();
        }
      }),
      { numRuns: 60, seed: 29 },
    );
  });

  it("marks stale the posted receipts signed before a time, by their signed timestamp, and keeps them stale", () => {
    const store = ReceiptStore.open(join(dir, "stale.db"));
    const rs = [10, 11, 12, 13].map((i) => signedOf(i));
    for (const r of rs) store.admit(admitted(r));
    store.seal({ index: 0, root: `0x${"ab".repeat(32)}`, requestIds: rs.map((r) => r.receipt.requestId) });
    // Not yet posted: nothing is stale before the chain says when the batch was posted.
    expect(store.markStale(0, 1_800_000_000_013n)).toBe(0);
    store.markPosted(0, `0x${"cd".repeat(32)}`);
    expect(store.markDisputed(0, 0)).toBe(true); // a dispute opened before: the chain's verdict stands
    // Signed at 1_800_000_000_000 + i: 11 and 12 are before the bound, 13 is at it.
    expect(store.markStale(0, 1_800_000_000_013n)).toBe(2);
    expect(store.markStale(0, 1_800_000_000_013n)).toBe(0);
    store.markFinal(0);
    expect(store.batchReceipts(0).map((r) => r.status)).toEqual(["disputed", "stale", "stale", "final"]);
    expect(store.counts().receipts).toMatchObject({ stale: 2, final: 1, disputed: 1 });
    store.close();
  });

  it("upgrades a version-2 store in place: the stale status allowed, every row and rule carried over", () => {
    const path = join(dir, "v2.db");
    const db = new Database(path);
    // Version 2's shape: the receipts' status without `stale`.
    db.exec(`
      CREATE TABLE receipts (seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL UNIQUE,
        digest TEXT NOT NULL, signed TEXT NOT NULL, client TEXT NOT NULL, idempotency_key TEXT,
        admitted_at_ms INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('provisional', 'sealed', 'posted', 'disputed', 'final', 'voided')),
        batch INTEGER REFERENCES batches(idx), position INTEGER, answer TEXT, request TEXT);
      CREATE UNIQUE INDEX receipts_idempotency ON receipts (client, idempotency_key)
        WHERE idempotency_key IS NOT NULL;
      CREATE UNIQUE INDEX receipts_position ON receipts (batch, position) WHERE batch IS NOT NULL;
      CREATE INDEX receipts_status ON receipts (status, seq);
      CREATE TABLE batches (idx INTEGER PRIMARY KEY, root TEXT NOT NULL, count INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('sealed', 'posted', 'final')), posted_tx TEXT);
      CREATE TABLE forced (digest TEXT PRIMARY KEY);
      PRAGMA user_version = 2;`);
    const [a, b] = [signedOf(31), signedOf(32)];
    db.prepare("INSERT INTO batches VALUES (0, ?, 1, 'posted', NULL)").run(`0x${"ab".repeat(32)}`);
    const insert = db.prepare(
      "INSERT INTO receipts (seq, request_id, digest, signed, client, idempotency_key, admitted_at_ms, status, batch, position, answer, request) VALUES (?, ?, ?, ?, 'alice', ?, 1000, ?, ?, ?, '{\"n\":1}', ?)",
    );
    insert.run(
      7,
      a.receipt.requestId,
      admitted(a).digest,
      JSON.stringify(receiptToJson(a)),
      "k1",
      "posted",
      0,
      0,
      '{"messages":[]}',
    );
    insert.run(
      8,
      b.receipt.requestId,
      admitted(b).digest,
      JSON.stringify(receiptToJson(b)),
      null,
      "provisional",
      null,
      null,
      null,
    );
    db.close();

    const store = ReceiptStore.open(path);
    expect(store.byIdempotencyKey("alice", "k1")).toMatchObject({
      status: "posted",
      batch: 0,
      position: 0,
      answer: { n: 1 },
    });
    expect(store.requestOf(a.receipt.requestId)).toEqual({ messages: [] });
    expect(store.unsealed().map((r) => r.signed)).toEqual([b]);
    expect(store.markStale(0, 1_800_000_000_032n)).toBe(1);
    expect(store.byRequestId(a.receipt.requestId)?.status).toBe("stale");
    // Admission numbers on after the carried rows; the rules carry over.
    expect(store.admit(admitted(signedOf(33), "k1")).kind).toBe("existing");
    store.admit(admitted(signedOf(34)));
    store.close();
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma("user_version", { simple: true })).toBe(3);
    expect(raw.prepare("SELECT MAX(seq) AS m FROM receipts").get()).toEqual({ m: 9 });
    expect(raw.prepare("SELECT name FROM sqlite_master WHERE name = 'receipts_v2'").all()).toEqual([]);
    expect(
      (
        raw
          .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'receipts_%' ORDER BY name",
          )
          .all() as { name: string }[]
      ).map((r) => r.name),
    ).toEqual(["receipts_idempotency", "receipts_position", "receipts_status"]);
    raw.close();
  });

  it("upgrades a version-1 store in place: receipts, positions, keys and kept requests carried over", () => {
    const path = join(dir, "v1.db");
    const db = new Database(path);
    // Version 1's shape: uniqueness as table constraints, the kept requests in their own table.
    db.exec(`
      CREATE TABLE receipts (seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL UNIQUE,
        digest TEXT NOT NULL, signed TEXT NOT NULL, client TEXT NOT NULL, idempotency_key TEXT,
        admitted_at_ms INTEGER NOT NULL, status TEXT NOT NULL, batch INTEGER REFERENCES batches(idx),
        position INTEGER, answer TEXT, UNIQUE (client, idempotency_key), UNIQUE (batch, position));
      CREATE TABLE batches (idx INTEGER PRIMARY KEY, root TEXT NOT NULL, count INTEGER NOT NULL,
        status TEXT NOT NULL, posted_tx TEXT);
      CREATE INDEX receipts_status ON receipts (status, seq);
      CREATE TABLE requests (request_id TEXT PRIMARY KEY, request TEXT NOT NULL);
      PRAGMA user_version = 1;`);
    const [a, b] = [signedOf(21), signedOf(22)];
    const row = (
      s: SignedReceipt,
      key: string | null,
      status: string,
      batch: number | null,
      position: number | null,
    ) =>
      db
        .prepare(
          "INSERT INTO receipts (request_id, digest, signed, client, idempotency_key, admitted_at_ms, status, batch, position, answer) VALUES (?, ?, ?, 'alice', ?, 1000, ?, ?, ?, '{\"n\":1}')",
        )
        .run(
          s.receipt.requestId,
          admitted(s).digest,
          JSON.stringify(receiptToJson(s)),
          key,
          status,
          batch,
          position,
        );
    db.prepare("INSERT INTO batches VALUES (0, ?, 1, 'posted', NULL)").run(`0x${"ab".repeat(32)}`);
    row(a, "k1", "posted", 0, 0);
    row(b, null, "provisional", null, null);
    db.prepare("INSERT INTO requests VALUES (?, '{\"messages\":[]}')").run(a.receipt.requestId);
    db.close();

    const store = ReceiptStore.open(path);
    expect(store.byIdempotencyKey("alice", "k1")).toMatchObject({ status: "posted", batch: 0, position: 0 });
    expect(store.byIdempotencyKey("alice", "k1")?.answer).toEqual({ n: 1 });
    expect(store.requestOf(a.receipt.requestId)).toEqual({ messages: [] });
    expect(store.unsealed().map((r) => r.signed)).toEqual([b]);
    // The rules carry over: a second receipt at a taken position, or a reused key, is refused.
    expect(store.admit(admitted(signedOf(23), "k1")).kind).toBe("existing");
    expect(
      thrownCode(() =>
        store.seal({ index: 0, root: `0x${"cd".repeat(32)}`, requestIds: [b.receipt.requestId] }),
      ),
    ).toBe("BATCH_EXISTS");
    store.close();
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma("user_version", { simple: true })).toBe(3);
    expect(
      raw.prepare("SELECT name FROM sqlite_master WHERE name IN ('requests', 'receipts_v1')").all(),
    ).toEqual([]);
    // The look-ups use the partial indexes (a scan here would grow with every receipt ever admitted).
    const plan = (sql: string) => queryPlan(raw, sql).join("; ");
    expect(plan("SELECT * FROM receipts WHERE client = ? AND idempotency_key = ?")).toContain(
      "receipts_idempotency",
    );
    expect(plan("SELECT * FROM receipts WHERE batch = ? ORDER BY position")).toContain("receipts_position");
    // The poster's pass reads the sealed and the posted batches; the final ones pile up beside them.
    expect(plan("SELECT * FROM batches WHERE status = ? ORDER BY idx")).toContain("batches_status");
    expect(plan("SELECT * FROM receipts WHERE batch = ? AND position = ? AND status = 'posted'")).toContain(
      "receipts_position",
    );
    raw.close();
  });

  it("refuses a store it cannot open or read", () => {
    expect(thrownCode(() => ReceiptStore.open(join(dir, "no", "such", "dir", "x.db")))).toBe(
      "STORE_UNAVAILABLE",
    );
    const newer = join(dir, "newer.db");
    const db = new Database(newer);
    db.pragma("user_version = 99");
    db.close();
    expect(thrownCode(() => ReceiptStore.open(newer))).toBe("STORE_CORRUPT");
    const garbage = join(dir, "garbage.db");
    writeFileSync(
      garbage,
      "not a database at all, just text that is long enough to have a header".repeat(20),
    );
    expect(thrownCode(() => ReceiptStore.open(garbage))).toBe("STORE_CORRUPT");
  });

  it("loses no acknowledged receipt when the writer is killed -9 mid-stream", async () => {
    const path = join(dir, "crash.db");
    const writer = spawn(process.execPath, ["--import", "tsx", "src/testing/storeWriter.ts", path], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const acknowledged: string[] = [];
    let buffer = "";
    await new Promise<void>((resolve) => {
      writer.stdout.on("data", (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split("\n");
        buffer = lines.pop() ?? "";
        acknowledged.push(...lines);
        if (acknowledged.length >= 200 && !writer.killed) {
          writer.kill("SIGKILL");
          resolve();
        }
      });
    });
    await new Promise((resolve) => writer.once("exit", resolve));
    const store = ReceiptStore.open(path);
    for (const id of acknowledged) expect(store.byRequestId(id as Hex), id).toBeDefined();
    const stored = store.unsealed();
    expect(stored.length).toBeGreaterThanOrEqual(acknowledged.length);
    expect(new Set(stored.map((s) => s.signed.receipt.requestId)).size).toBe(stored.length);
    store.close();
  }, 60_000);
});
