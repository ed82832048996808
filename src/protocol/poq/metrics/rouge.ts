/**
 * ROUGE-N, ROUGE-L and ROUGE-Lsum exactly as Google's `rouge_score` (which matches ROUGE-1.5.5):
 * lowercase, replace every run outside [a-z0-9] by a space, split, optionally Porter-stem tokens
 * longer than 3 characters. ROUGE-Lsum splits on newlines and uses the summary-level union LCS with
 * per-token count clipping (Lin 2004, §3.2), including rouge_score's backtracking tie-break.
 */
import { memoize } from "../memo.ts";
import { porterStem } from "./porterStemmer.ts";

/** Precision, recall and F-measure of one ROUGE variant. */
export interface RougeScore {
  readonly precision: number;
  readonly recall: number;
  readonly fmeasure: number;
}

/** The four ROUGE variants of a pair. */
export interface RougeScores {
  readonly rouge1: RougeScore;
  readonly rouge2: RougeScore;
  readonly rougeL: RougeScore;
  readonly rougeLsum: RougeScore;
}

const NON_ALPHANUMERIC = /[^a-z0-9]+/g;
const stemCached = memoize(porterStem, 200_000);

/** rouge_score's default tokenizer. */
export function rougeTokenize(text: string, stem: boolean): string[] {
  const tokens = text.toLowerCase().replace(NON_ALPHANUMERIC, " ").split(" ");
  const out: string[] = [];
  for (const token of tokens) {
    if (token.length === 0) continue;
    out.push(stem && token.length > 3 ? stemCached(token) : token);
  }
  return out;
}

function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

function score(hits: number, predictionCount: number, targetCount: number): RougeScore {
  const precision = hits / Math.max(predictionCount, 1);
  const recall = hits / Math.max(targetCount, 1);
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = n === 1 ? (tokens[i] as string) : tokens.slice(i, i + n).join("\u0001");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** ROUGE-N on token lists: clipped n-gram overlap. */
export function rougeNTokens(
  target: readonly string[],
  prediction: readonly string[],
  n: number,
): RougeScore {
  const t = ngramCounts(target, n);
  const p = ngramCounts(prediction, n);
  let hits = 0;
  let pTotal = 0;
  let tTotal = 0;
  for (const c of t.values()) tTotal += c;
  for (const [gram, c] of p) {
    pTotal += c;
    const tc = t.get(gram);
    if (tc !== undefined) hits += Math.min(c, tc);
  }
  return score(hits, pTotal, tTotal);
}

/** Length of the longest common subsequence (two-row dynamic programme). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Uint32Array(b.length + 1);
  let curr = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const ai = a[i - 1];
    for (let j = 1; j <= b.length; j++) {
      curr[j] =
        ai === b[j - 1] ? (prev[j - 1] as number) + 1 : Math.max(prev[j] as number, curr[j - 1] as number);
    }
    [prev, curr] = [curr, prev];
  }
  return prev[b.length] as number;
}

/** ROUGE-L on token lists. */
export function rougeLTokens(target: readonly string[], prediction: readonly string[]): RougeScore {
  if (target.length === 0 || prediction.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const lcs = lcsLength(target, prediction);
  const precision = lcs / prediction.length;
  const recall = lcs / target.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** Indices into `ref` of one LCS with `can`, using rouge_score's backtracking tie-break. */
function lcsIndices(ref: readonly string[], can: readonly string[]): number[] {
  const rows = ref.length + 1;
  const cols = can.length + 1;
  const table = new Uint32Array(rows * cols);
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      table[i * cols + j] =
        ref[i - 1] === can[j - 1]
          ? (table[(i - 1) * cols + j - 1] as number) + 1
          : Math.max(table[(i - 1) * cols + j] as number, table[i * cols + j - 1] as number);
    }
  }
  const out: number[] = [];
  let i = ref.length;
  let j = can.length;
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      out.push(i - 1);
      i--;
      j--;
    } else if ((table[i * cols + j - 1] as number) > (table[(i - 1) * cols + j] as number)) {
      j--;
    } else {
      i--;
    }
  }
  return out.reverse();
}

/** ROUGE-Lsum on sentence-split token lists (summary-level union LCS). */
export function rougeLsumTokens(
  targetSents: readonly string[][],
  predictionSents: readonly string[][],
): RougeScore {
  const zero = { precision: 0, recall: 0, fmeasure: 0 };
  if (targetSents.length === 0 || predictionSents.length === 0) return zero;
  let m = 0;
  let n = 0;
  const refCounts = new Map<string, number>();
  const canCounts = new Map<string, number>();
  for (const s of targetSents) {
    m += s.length;
    for (const t of s) refCounts.set(t, (refCounts.get(t) ?? 0) + 1);
  }
  for (const s of predictionSents) {
    n += s.length;
    for (const t of s) canCounts.set(t, (canCounts.get(t) ?? 0) + 1);
  }
  if (m === 0 || n === 0) return zero;
  let hits = 0;
  for (const ref of targetSents) {
    const union = new Set<number>();
    for (const can of predictionSents) for (const idx of lcsIndices(ref, can)) union.add(idx);
    for (const idx of [...union].sort((a, b) => a - b)) {
      const token = ref[idx] as string;
      const c = canCounts.get(token) ?? 0;
      const r = refCounts.get(token) ?? 0;
      if (c > 0 && r > 0) {
        hits++;
        canCounts.set(token, c - 1);
        refCounts.set(token, r - 1);
      }
    }
  }
  const precision = hits / n;
  const recall = hits / m;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

function sentences(text: string, stem: boolean): string[][] {
  return text
    .split("\n")
    .filter((s) => s.length > 0)
    .map((s) => rougeTokenize(s, stem));
}

/** All four ROUGE variants of one (target, prediction) pair, as `RougeScorer(...).score(target, prediction)`. */
export function rougeScores(target: string, prediction: string, stem: boolean): RougeScores {
  const t = rougeTokenize(target, stem);
  const p = rougeTokenize(prediction, stem);
  return {
    rouge1: rougeNTokens(t, p, 1),
    rouge2: rougeNTokens(t, p, 2),
    rougeL: rougeLTokens(t, p),
    rougeLsum: rougeLsumTokens(sentences(target, stem), sentences(prediction, stem)),
  };
}
