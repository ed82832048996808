/**
 * Sentence-level chrF (Popović 2015) with sacreBLEU 2.x defaults: character n-grams of orders 1–6
 * with whitespace removed, β = 2, precision and recall averaged over the orders where both sides have
 * n-grams (sacreBLEU's effective order), result in 0–100.
 */

/** Maximum n-gram order (sacreBLEU's char_order default). */
export const CHRF_ORDER = 6;
const BETA_SQUARED = 4;

/**
 * Character n-gram statistics of one text. Fast form: every n-gram is an exact number — characters get
 * dense 8-bit ids from a process-wide alphabet, six ids plus the order fit in 51 bits (key = order·2^48
 * + code) — kept as sorted unique keys with counts, so comparing two texts is a merge. Texts that need a
 * character beyond the alphabet's 255 entries use string keys instead; both forms give identical scores.
 */
export type ChrfStats =
  | {
      readonly kind: "numeric";
      readonly keys: readonly number[];
      readonly counts: readonly number[];
      readonly totals: readonly number[];
      readonly text: string;
    }
  | {
      readonly kind: "strings";
      readonly grams: ReadonlyMap<string, number>;
      readonly totals: readonly number[];
      readonly text: string;
    };

const WHITESPACE = /\s+/gu;
const ORDER_UNIT = 2 ** 48;
// Ids depend on first-seen order, but only equality of keys matters, so scores never do.
const bmpIds = new Uint8Array(0x10000);
const astralIds = new Map<number, number>();
let assigned = 0;

function charId(codePoint: number): number {
  let id = codePoint < 0x10000 ? bmpIds[codePoint]! : (astralIds.get(codePoint) ?? 0);
  if (id === 0 && assigned < 255) {
    id = ++assigned;
    if (codePoint < 0x10000) bmpIds[codePoint] = id;
    else astralIds.set(codePoint, id);
  }
  return id;
}

/** JavaScript's `\s` (WhiteSpace and LineTerminator), which sacreBLEU's str.split() matches closely enough for scoring. */
function isWhitespace(c: number): boolean {
  return (
    c === 0x20 ||
    (c >= 0x09 && c <= 0x0d) ||
    (c > 0x7f &&
      (c === 0xa0 ||
        c === 0x1680 ||
        (c >= 0x2000 && c <= 0x200a) ||
        c === 0x2028 ||
        c === 0x2029 ||
        c === 0x202f ||
        c === 0x205f ||
        c === 0x3000 ||
        c === 0xfeff))
  );
}

function totalsOf(length: number): number[] {
  const totals: number[] = [];
  for (let k = 0; k < CHRF_ORDER; k++) totals.push(length > k ? length - k : 0);
  return totals;
}

function stringStats(codePoints: readonly string[], text: string): ChrfStats {
  const grams = new Map<string, number>();
  for (let n = 1; n <= CHRF_ORDER; n++) {
    for (let i = 0; i + n <= codePoints.length; i++) {
      const g = `${n}:${codePoints.slice(i, i + n).join("")}`;
      grams.set(g, (grams.get(g) ?? 0) + 1);
    }
  }
  return { kind: "strings", grams, totals: totalsOf(codePoints.length), text };
}

/** Alphabet ids of the text's non-whitespace code points, or null when the alphabet is exhausted. */
function characterIds(text: string): number[] | null {
  const ids: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      // Surrogates: pair them only after whitespace removal, exactly as the string form does.
      ids.length = 0;
      for (const ch of text.replace(WHITESPACE, "")) {
        const id = charId(ch.codePointAt(0) as number);
        if (id === 0) return null;
        ids.push(id);
      }
      return ids;
    }
    if (isWhitespace(c)) continue;
    const id = charId(c);
    if (id === 0) return null;
    ids.push(id);
  }
  return ids;
}

/** n-gram statistics of a text (whitespace removed; code points, not UTF-16 units). */
export function chrfStats(text: string): ChrfStats {
  const ids = characterIds(text);
  if (ids === null) return stringStats(Array.from(text.replace(WHITESPACE, "")), text);
  const length = ids.length;
  const totals = totalsOf(length);
  let size = 0;
  for (const t of totals) size += t;
  // Keys are produced order by order; each order's segment is sorted on its own (short segments by
  // insertion), and order-major segments concatenate into one globally sorted array. Plain arrays:
  // allocating small typed arrays per text costs more than all the arithmetic.
  const keys: number[] = [];
  const codes: number[] = ids.map(() => 0);
  for (let n = 1; n <= CHRF_ORDER; n++) {
    const start = keys.length;
    for (let i = 0; i + n <= length; i++) {
      codes[i] = codes[i]! * 256 + ids[i + n - 1]!;
      keys.push(n * ORDER_UNIT + codes[i]!);
    }
    sortSegment(keys, start, keys.length);
  }
  // Collapse runs in place: keys[0..u) become the unique keys, counts[0..u) their multiplicities.
  const counts: number[] = [];
  let u = 0;
  for (let i = 0; i < size; i++) {
    if (u > 0 && keys[i] === keys[u - 1]) counts[u - 1]!++;
    else {
      keys[u++] = keys[i]!;
      counts.push(1);
    }
  }
  keys.length = u;
  return { kind: "numeric", keys, counts, totals, text };
}

function sortSegment(a: number[], from: number, to: number): void {
  if (to - from > 48) {
    const sorted = Float64Array.from(a.slice(from, to)).sort();
    for (let i = from; i < to; i++) a[i] = sorted[i - from]!;
    return;
  }
  for (let i = from + 1; i < to; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= from && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
}

/** Matched n-grams per order (index 1..6). */
function matchesPerOrder(hyp: ChrfStats, ref: ChrfStats): Float64Array {
  const matches = new Float64Array(CHRF_ORDER + 1);
  if (hyp.kind === "numeric" && ref.kind === "numeric") {
    let i = 0;
    let j = 0;
    while (i < hyp.keys.length && j < ref.keys.length) {
      const a = hyp.keys[i]!;
      const b = ref.keys[j]!;
      if (a < b) i++;
      else if (a > b) j++;
      else {
        matches[Math.floor(a / ORDER_UNIT)]! += Math.min(hyp.counts[i]!, ref.counts[j]!);
        i++;
        j++;
      }
    }
    return matches;
  }
  const h =
    hyp.kind === "strings"
      ? hyp
      : (stringStats(Array.from(hyp.text.replace(WHITESPACE, "")), hyp.text) as {
          grams: ReadonlyMap<string, number>;
        });
  const r =
    ref.kind === "strings"
      ? ref
      : (stringStats(Array.from(ref.text.replace(WHITESPACE, "")), ref.text) as {
          grams: ReadonlyMap<string, number>;
        });
  for (const [g, c] of h.grams) {
    const other = r.grams.get(g);
    if (other !== undefined) matches[Number(g.slice(0, g.indexOf(":")))]! += Math.min(c, other);
  }
  return matches;
}

/** chrF from precomputed statistics, 0–100. */
export function chrfFromStats(hyp: ChrfStats, ref: ChrfStats): number {
  const matches = matchesPerOrder(hyp, ref);
  let precisionSum = 0;
  let recallSum = 0;
  let effectiveOrder = 0;
  for (let n = 1; n <= CHRF_ORDER; n++) {
    const hypCount = hyp.totals[n - 1] as number;
    const refCount = ref.totals[n - 1] as number;
    if (hypCount === 0 || refCount === 0) continue;
    precisionSum += matches[n]! / hypCount;
    recallSum += matches[n]! / refCount;
    effectiveOrder++;
  }
  if (effectiveOrder === 0) return 0;
  const p = precisionSum / effectiveOrder;
  const r = recallSum / effectiveOrder;
  if (p + r === 0) return 0;
  return (100 * ((1 + BETA_SQUARED) * p * r)) / (BETA_SQUARED * p + r);
}

/** chrF of a hypothesis against one reference, 0–100. */
export function chrf(hypothesis: string, reference: string): number {
  return chrfFromStats(chrfStats(hypothesis), chrfStats(reference));
}

/** chrF computed only with string keys (the reference form the fast path must equal; for tests). */
export function chrfWithStringKeys(hypothesis: string, reference: string): number {
  const stats = (t: string) => stringStats(Array.from(t.replace(WHITESPACE, "")), t);
  return chrfFromStats(stats(hypothesis), stats(reference));
}
