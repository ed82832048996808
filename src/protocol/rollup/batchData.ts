/**
 * What a batch publishes for data availability (docs/spec/otr.md §3.2): its signed receipts in a compact
 * binary form that anyone can decode, re-hash and check against the posted root. Fields a worker repeats
 * on every receipt (its address, model, weights, engine, attestation) are stored once per batch in a
 * table; each receipt is 257 bytes. All integers big-endian.
 *
 *   header  "VRB1" ‖ chainId u64 ‖ settlement 20 ‖ count u32 ‖ entries u16
 *   entry   worker 20 ‖ modelId 32 ‖ weightsHash 32 ‖ engineHash 32 ‖ attestationHash 32   (148 bytes)
 *   receipt entry u16 ‖ version u16 ‖ requestId 32 ‖ promptHash 32 ‖ paramsHash 32 ‖ outputHash 32 ‖
 *           traceRoot 32 ‖ inputTokens u32 ‖ outputTokens u32 ‖ latencyMs u32 ‖ timestamp u64 ‖
 *           sequence u64 ‖ signature 65
 */
import { bytesToHex, type Hex, writeHex } from "../encoding/hex.ts";
import { fail, ok, type Verdict } from "../errors.ts";
import type { Receipt, SignedReceipt } from "../receipt/receipt.ts";

const MAGIC = [0x56, 0x52, 0x42, 0x31]; // "VRB1"
/** Bytes of the header, of a worker-table entry and of a receipt. */
export const BATCH_HEADER_BYTES = 4 + 8 + 20 + 4 + 2;
export const WORKER_ENTRY_BYTES = 20 + 4 * 32;
export const RECEIPT_DATA_BYTES = 2 + 2 + 5 * 32 + 3 * 4 + 2 * 8 + 65;

const ENTRY_FIELDS = ["modelId", "weightsHash", "engineHash", "attestationHash"] as const;
const RECEIPT_HASHES = ["requestId", "promptHash", "paramsHash", "outputHash", "traceRoot"] as const;

/** The worker-table key of a receipt: what its worker repeats on every receipt. */
export function workerEntryKey(r: Receipt): string {
  return `${r.worker}|${r.modelId}|${r.weightsHash}|${r.engineHash}|${r.attestationHash}`.toLowerCase();
}

/** Encodes a batch's signed receipts (all for one chain and settlement contract). */
export function encodeBatchData(receipts: readonly SignedReceipt[]): Uint8Array {
  if (receipts.length === 0) throw new RangeError("a batch has at least one receipt");
  const first = (receipts[0] as SignedReceipt).receipt;
  const entries = new Map<string, number>();
  const table: Receipt[] = [];
  const entryOf = new Uint16Array(receipts.length);
  receipts.forEach(({ receipt }, i) => {
    const key = workerEntryKey(receipt);
    let entry = entries.get(key);
    if (entry === undefined) {
      entry = table.length;
      entries.set(key, entry);
      table.push(receipt);
    }
    entryOf[i] = entry;
  });
  const out = new Uint8Array(
    BATCH_HEADER_BYTES + table.length * WORKER_ENTRY_BYTES + receipts.length * RECEIPT_DATA_BYTES,
  );
  const view = new DataView(out.buffer);
  // Hex fields are written in place (no intermediate arrays: this runs on every seal).
  const put = (hex: string, bytes: number, offset: number) => {
    if (hex.length !== 2 + 2 * bytes) throw new RangeError(`expected ${bytes} bytes of hex, got ${hex}`);
    writeHex(hex, out, offset);
  };
  let at = 0;
  out.set(MAGIC, 0);
  view.setBigUint64(4, first.chainId);
  put(first.settlement, 20, 12);
  view.setUint32(32, receipts.length);
  view.setUint16(36, table.length);
  at = BATCH_HEADER_BYTES;
  for (const r of table) {
    put(r.worker, 20, at);
    at += 20;
    for (const f of ENTRY_FIELDS) {
      put(r[f], 32, at);
      at += 32;
    }
  }
  const settlement = first.settlement.toLowerCase();
  receipts.forEach(({ receipt: r, signature }, i) => {
    if (r.chainId !== first.chainId || r.settlement.toLowerCase() !== settlement)
      throw new RangeError("every receipt of a batch is for the same chain and settlement contract");
    view.setUint16(at, entryOf[i] as number);
    view.setUint16(at + 2, r.version);
    at += 4;
    for (const f of RECEIPT_HASHES) {
      put(r[f], 32, at);
      at += 32;
    }
    view.setUint32(at, r.inputTokens);
    view.setUint32(at + 4, r.outputTokens);
    view.setUint32(at + 8, r.latencyMs);
    view.setBigUint64(at + 12, r.timestamp);
    view.setBigUint64(at + 20, r.sequence);
    put(signature, 65, at + 28);
    at += 28 + 65;
  });
  return out;
}

/** Decodes batch data back into signed receipts, or says where it is malformed. */
export function decodeBatchData(data: Uint8Array): Verdict<SignedReceipt[]> {
  const bad = (message: string) => fail<SignedReceipt[]>("BATCH_DATA_MALFORMED", message);
  if (data.length < BATCH_HEADER_BYTES || MAGIC.some((b, i) => data[i] !== b))
    return bad("batch data must start with the VRB1 header");
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const chainId = view.getBigUint64(4);
  const settlement = bytesToHex(data.subarray(12, 32));
  const count = view.getUint32(32);
  const entries = view.getUint16(36);
  const expected = BATCH_HEADER_BYTES + entries * WORKER_ENTRY_BYTES + count * RECEIPT_DATA_BYTES;
  if (count === 0 || entries === 0)
    return bad("batch data must hold at least one receipt and one worker entry");
  if (data.length !== expected)
    return bad(
      `batch data of ${count} receipts and ${entries} entries is ${expected} bytes, not ${data.length}`,
    );
  let at = BATCH_HEADER_BYTES;
  const table: Pick<Receipt, "worker" | (typeof ENTRY_FIELDS)[number]>[] = [];
  for (let e = 0; e < entries; e++) {
    const worker = bytesToHex(data.subarray(at, at + 20));
    at += 20;
    const fields: Record<string, Hex> = {};
    for (const f of ENTRY_FIELDS) {
      fields[f] = bytesToHex(data.subarray(at, at + 32));
      at += 32;
    }
    table.push({ worker, ...(fields as Record<(typeof ENTRY_FIELDS)[number], Hex>) });
  }
  const out: SignedReceipt[] = [];
  for (let i = 0; i < count; i++) {
    const entry = table[view.getUint16(at)];
    if (!entry) return bad(`receipt ${i} names worker entry ${view.getUint16(at)} of ${entries}`);
    const version = view.getUint16(at + 2);
    at += 4;
    const hashes: Record<string, Hex> = {};
    for (const f of RECEIPT_HASHES) {
      hashes[f] = bytesToHex(data.subarray(at, at + 32));
      at += 32;
    }
    const receipt: Receipt = {
      version,
      chainId,
      settlement,
      ...entry,
      ...(hashes as Record<(typeof RECEIPT_HASHES)[number], Hex>),
      inputTokens: view.getUint32(at),
      outputTokens: view.getUint32(at + 4),
      latencyMs: view.getUint32(at + 8),
      timestamp: view.getBigUint64(at + 12),
      sequence: view.getBigUint64(at + 20),
    };
    out.push({ receipt, signature: bytesToHex(data.subarray(at + 28, at + 28 + 65)) });
    at += 28 + 65;
  }
  return ok(out);
}
