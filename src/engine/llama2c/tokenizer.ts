/**
 * llama2.c's tokenizer (`tokenizer.bin`): pieces with merge scores, encoded the way run.c encodes —
 * UTF-8 code points looked up as pieces with byte fallback (`<0xXX>` = id byte+3), a dummy-prefix space
 * for non-empty text, then repeatedly the adjacent pair whose concatenation is a piece with the highest
 * score is merged — and decoded with run.c's rules (a leading space after BOS is dropped, byte pieces
 * are raw bytes). Pieces are byte strings; they are kept as latin1 strings so lookups are exact.
 */
import { fail, ok, type Verdict } from "../../protocol/errors.ts";

/** Beginning / end of sequence ids (llama2.c, Llama 2). */
export const BOS = 1;
export const EOS = 2;

/** A loaded tokenizer. */
export interface Tokenizer {
  readonly vocabSize: number;
  readonly maxTokenLength: number;
  /** Piece bytes as latin1 strings (one char per byte). */
  readonly pieces: readonly string[];
  readonly scores: Float32Array;
  readonly lookup: ReadonlyMap<string, number>;
}

const latin1 = (b: Uint8Array) => {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return s;
};

/** Parses a tokenizer.bin for a model with `vocabSize` tokens (the file does not store it). */
export function parseTokenizer(bytes: Uint8Array, vocabSize: number): Verdict<Tokenizer> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) return fail("MODEL_MALFORMED", "tokenizer file is shorter than its header");
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength <= 0 || maxTokenLength > 1024)
    return fail("MODEL_MALFORMED", `implausible max_token_length ${maxTokenLength}`);
  const pieces: string[] = [];
  const scores = new Float32Array(vocabSize);
  let at = 4;
  for (let i = 0; i < vocabSize; i++) {
    if (at + 8 > bytes.length) {
      return fail(
        "MODEL_MALFORMED",
        `tokenizer file ends after ${i} of ${vocabSize} tokens (does it belong to this model?)`,
      );
    }
    scores[i] = view.getFloat32(at, true);
    const len = view.getInt32(at + 4, true);
    at += 8;
    if (len < 0 || len > maxTokenLength || at + len > bytes.length)
      return fail("MODEL_MALFORMED", `token ${i} has an invalid length ${len}`);
    pieces.push(latin1(bytes.subarray(at, at + len)));
    at += len;
  }
  if (at !== bytes.length) {
    return fail(
      "MODEL_MALFORMED",
      `tokenizer file has ${bytes.length - at} bytes after ${vocabSize} tokens (is the model's vocab_size right?)`,
    );
  }
  const lookup = new Map<string, number>();
  // run.c sorts the vocab and binary-searches, so a duplicated piece resolves to one of its ids; the
  // first occurrence is what its qsort keeps for the byte-identical keys in practice.
  pieces.forEach((p, i) => {
    if (!lookup.has(p)) lookup.set(p, i);
  });
  return ok({ vocabSize, maxTokenLength, pieces, scores, lookup });
}

/** Writes a tokenizer.bin. */
export function writeTokenizer(pieces: readonly Uint8Array[], scores: ArrayLike<number>): Uint8Array {
  const maxLen = Math.max(1, ...pieces.map((p) => p.length));
  const out = new Uint8Array(4 + pieces.reduce((n, p) => n + 8 + p.length, 0));
  const view = new DataView(out.buffer);
  view.setInt32(0, maxLen, true);
  let at = 4;
  pieces.forEach((p, i) => {
    view.setFloat32(at, scores[i] as number, true);
    view.setInt32(at + 4, p.length, true);
    out.set(p, at + 8);
    at += 8 + p.length;
  });
  return out;
}

/** Token ids of `text` (run.c's encode), with BOS and optionally EOS. */
export function encode(t: Tokenizer, text: string, bos = true, eos = false): number[] {
  const ids: number[] = [];
  if (bos) ids.push(BOS);
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > 0) {
    const space = t.lookup.get(" ");
    if (space !== undefined) ids.push(space);
  }
  // Code points as pieces, else their bytes as byte tokens.
  for (let i = 0; i < bytes.length; ) {
    let n = 1;
    const b = bytes[i] as number;
    if (b >= 0xf0) n = 4;
    else if (b >= 0xe0) n = 3;
    else if (b >= 0xc0) n = 2;
    const cp = latin1(bytes.subarray(i, Math.min(i + n, bytes.length)));
    const id = t.lookup.get(cp);
    if (id !== undefined) ids.push(id);
    else for (let k = 0; k < cp.length; k++) ids.push(cp.charCodeAt(k) + 3);
    i += n;
  }
  // Greedy BPE: merge the best-scoring adjacent pair until none merges (run.c's threshold included).
  for (;;) {
    let best = -1e10;
    let bestId = -1;
    let bestAt = -1;
    for (let i = 0; i + 1 < ids.length; i++) {
      const merged = t.lookup.get(
        (t.pieces[ids[i] as number] as string) + (t.pieces[ids[i + 1] as number] as string),
      );
      if (merged !== undefined && (t.scores[merged] as number) > best) {
        best = t.scores[merged] as number;
        bestId = merged;
        bestAt = i;
      }
    }
    if (bestAt < 0) break;
    ids.splice(bestAt, 2, bestId);
  }
  if (eos) ids.push(EOS);
  return ids;
}

/** The bytes a token contributes after `previous` (run.c's decode). */
export function decodePiece(t: Tokenizer, previous: number, token: number): Uint8Array {
  let piece = t.pieces[token] ?? "";
  if (previous === BOS && piece.startsWith(" ")) piece = piece.slice(1);
  const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
  if (byte) return Uint8Array.of(Number.parseInt(byte[1] as string, 16));
  return Uint8Array.from(piece, (c) => c.charCodeAt(0));
}

/** Decodes a token sequence to text (invalid UTF-8 becomes U+FFFD). */
export function decode(t: Tokenizer, ids: readonly number[], previous = BOS): string {
  const parts: Uint8Array[] = [];
  let prev = previous;
  for (const id of ids) {
    parts.push(decodePiece(t, prev, id));
    prev = id;
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new TextDecoder().decode(all);
}
