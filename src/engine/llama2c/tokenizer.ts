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

/** run.c never merges a pair scoring at or below its initial best score. */
const MERGE_THRESHOLD = -1e10;

/**
 * Token ids of `text` (run.c's encode), with BOS and optionally EOS, in O(n log n): run.c rescans every
 * pair after each merge (quadratic: 36 s for a 64,000-character prompt); here candidate merges wait in
 * a heap ordered as run.c chooses — highest score first, leftmost on ties — and a popped candidate is
 * used only while both of its tokens are still the ones it was made from.
 */
export function encode(t: Tokenizer, text: string, bos = true, eos = false): number[] {
  const symbols = codePointTokens(t, text);
  const n = symbols.length;
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  // Pair lookups repeat (the same pairs recur across a long text): cache them by id pair.
  const pairs = new Map<number, number>();
  const mergeOf = (a: number, b: number): number => {
    const key = a * t.vocabSize + b;
    let merged = pairs.get(key);
    if (merged === undefined) {
      const id = t.lookup.get((t.pieces[a] as string) + (t.pieces[b] as string));
      merged = id !== undefined && (t.scores[id] as number) > MERGE_THRESHOLD ? id : -1;
      pairs.set(key, merged);
    }
    return merged;
  };
  const heap = new MergeHeap(n);
  const consider = (left: number) => {
    const right = left < 0 ? -1 : (next[left] as number);
    if (right < 0) return;
    const merged = mergeOf(symbols[left] as number, symbols[right] as number);
    if (merged >= 0)
      heap.push(t.scores[merged] as number, left, right, symbols[left] as number, symbols[right] as number);
  };
  for (let i = 0; i + 1 < n; i++) consider(i);
  while (heap.size > 0) {
    const c = heap.pop();
    const { left, right } = heap;
    // Stale when either token was merged away or changed since the candidate was made.
    if (next[left] !== right || symbols[left] !== heap.leftIds[c] || symbols[right] !== heap.rightIds[c])
      continue;
    symbols[left] = mergeOf(symbols[left] as number, symbols[right] as number);
    const after = next[right] as number;
    next[left] = after;
    if (after >= 0) prev[after] = left;
    next[right] = -1;
    symbols[right] = -1;
    consider(prev[left] as number);
    consider(left);
  }
  const ids: number[] = bos ? [BOS] : [];
  for (let i = n > 0 ? 0 : -1; i >= 0; i = next[i] as number) ids.push(symbols[i] as number);
  if (eos) ids.push(EOS);
  return ids;
}

/** The dummy-prefix space, then each UTF-8 code point as a piece, else its bytes as byte tokens. */
function codePointTokens(t: Tokenizer, text: string): number[] {
  const out: number[] = [];
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > 0) {
    const space = t.lookup.get(" ");
    if (space !== undefined) out.push(space);
  }
  for (let i = 0; i < bytes.length; ) {
    let n = 1;
    const b = bytes[i] as number;
    if (b >= 0xf0) n = 4;
    else if (b >= 0xe0) n = 3;
    else if (b >= 0xc0) n = 2;
    const cp = latin1(bytes.subarray(i, Math.min(i + n, bytes.length)));
    const id = t.lookup.get(cp);
    if (id !== undefined) out.push(id);
    else for (let k = 0; k < cp.length; k++) out.push(cp.charCodeAt(k) + 3);
    i += n;
  }
  return out;
}

/**
 * The fewest tokens `text` can encode to (BOS and the dummy space included): no piece is longer than
 * `maxTokenLength` bytes. Lets a caller reject a prompt that cannot fit the context before encoding it.
 */
export function minTokens(t: Tokenizer, text: string, bos = true): number {
  const bytes = Buffer.byteLength(text, "utf8");
  return (bos ? 1 : 0) + Math.ceil(bytes / t.maxTokenLength);
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

/**
 * A binary max-heap of merge candidates in typed arrays (higher score first, then the leftmost pair).
 * {@link pop} returns the slot of the best candidate and leaves its pair in `left` / `right`.
 */
class MergeHeap {
  private scores: Float64Array;
  private lefts: Int32Array;
  private rights: Int32Array;
  leftIds: Int32Array;
  rightIds: Int32Array;
  /** Heap order over slots. */
  private order: Int32Array;
  private slots = 0;
  size = 0;
  left = -1;
  right = -1;

  constructor(capacity: number) {
    const c = Math.max(16, capacity);
    this.scores = new Float64Array(c);
    this.lefts = new Int32Array(c);
    this.rights = new Int32Array(c);
    this.leftIds = new Int32Array(c);
    this.rightIds = new Int32Array(c);
    this.order = new Int32Array(c);
  }

  private before(a: number, b: number): boolean {
    const sa = this.scores[a] as number;
    const sb = this.scores[b] as number;
    return sa > sb || (sa === sb && (this.lefts[a] as number) < (this.lefts[b] as number));
  }

  private grow(): void {
    const c = this.scores.length * 2;
    const widen = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(c);
      b.set(a);
      return b;
    };
    this.scores = widen(this.scores, (k) => new Float64Array(k));
    this.lefts = widen(this.lefts, (k) => new Int32Array(k));
    this.rights = widen(this.rights, (k) => new Int32Array(k));
    this.leftIds = widen(this.leftIds, (k) => new Int32Array(k));
    this.rightIds = widen(this.rightIds, (k) => new Int32Array(k));
    this.order = widen(this.order, (k) => new Int32Array(k));
  }

  push(score: number, left: number, right: number, leftId: number, rightId: number): void {
    if (this.slots === this.scores.length) this.grow();
    const slot = this.slots++;
    this.scores[slot] = score;
    this.lefts[slot] = left;
    this.rights[slot] = right;
    this.leftIds[slot] = leftId;
    this.rightIds[slot] = rightId;
    const h = this.order;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(slot, h[parent] as number)) break;
      h[i] = h[parent] as number;
      i = parent;
    }
    h[i] = slot;
  }

  pop(): number {
    const h = this.order;
    const top = h[0] as number;
    this.left = this.lefts[top] as number;
    this.right = this.rights[top] as number;
    const last = h[--this.size] as number;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.size) break;
      const r = l + 1;
      const child = r < this.size && this.before(h[r] as number, h[l] as number) ? r : l;
      if (!this.before(h[child] as number, last)) break;
      h[i] = h[child] as number;
      i = child;
    }
    h[i] = last;
    return top;
  }
}
