/**
 * Document frequencies, TF-IDF cosine and Okapi BM25. IDF is scikit-learn's smoothed form
 * `ln((1 + N) / (1 + df)) + 1`; BM25 uses k1 = 1.2, b = 0.75 and the non-negative Lucene IDF
 * `ln(1 + (N − df + 0.5) / (df + 0.5))`. With no fitted corpus every term has the same IDF, so the
 * cosine degrades gracefully to plain term-frequency cosine.
 */
import { countTokens } from "./words.ts";

/** Document-frequency statistics of a corpus. */
export interface DocumentFrequencies {
  readonly documents: number;
  readonly averageLength: number;
  readonly df: ReadonlyMap<string, number>;
}

/** An empty corpus (no IDF information). */
export const EMPTY_CORPUS: DocumentFrequencies = { documents: 0, averageLength: 0, df: new Map() };

/** Counts in how many documents each token occurs. */
export function fitDocumentFrequencies(documents: Iterable<readonly string[]>): DocumentFrequencies {
  const df = new Map<string, number>();
  let count = 0;
  let totalLength = 0;
  for (const tokens of documents) {
    count++;
    totalLength += tokens.length;
    for (const t of new Set(tokens)) df.set(t, (df.get(t) ?? 0) + 1);
  }
  return { documents: count, averageLength: count === 0 ? 0 : totalLength / count, df };
}

/** Smoothed IDF of a token. */
export function smoothIdf(corpus: DocumentFrequencies, token: string): number {
  return Math.log((1 + corpus.documents) / (1 + (corpus.df.get(token) ?? 0))) + 1;
}

/** Cosine of TF-IDF vectors of two token lists, in [0, 1]. */
export function tfidfCosine(a: readonly string[], b: readonly string[], corpus: DocumentFrequencies): number {
  if (a.length === 0 || b.length === 0) return 0;
  const ca = countTokens(a);
  const cb = countTokens(b);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (const [t, c] of ca) {
    const w = c * smoothIdf(corpus, t);
    na += w * w;
    const cbt = cb.get(t);
    if (cbt !== undefined) dot += w * cbt * smoothIdf(corpus, t);
  }
  for (const [t, c] of cb) {
    const w = c * smoothIdf(corpus, t);
    nb += w * w;
  }
  if (na === 0 || nb === 0) return 0;
  return Math.min(1, dot / Math.sqrt(na * nb));
}

/** BM25 parameters. */
export interface Bm25Options {
  readonly k1: number;
  readonly b: number;
}

const BM25_DEFAULTS: Bm25Options = { k1: 1.2, b: 0.75 };

function bm25Idf(corpus: DocumentFrequencies, token: string): number {
  const n = Math.max(corpus.documents, 1);
  const df = Math.min(corpus.df.get(token) ?? 0, n);
  return Math.log(1 + (n - df + 0.5) / (df + 0.5));
}

/** Okapi BM25 score of a document for a query (both token lists). */
export function bm25(
  query: readonly string[],
  document: readonly string[],
  corpus: DocumentFrequencies,
  options = BM25_DEFAULTS,
): number {
  if (query.length === 0 || document.length === 0) return 0;
  const tf = countTokens(document);
  const avg = corpus.averageLength > 0 ? corpus.averageLength : document.length;
  const norm = options.k1 * (1 - options.b + (options.b * document.length) / avg);
  let score = 0;
  for (const t of query) {
    const f = tf.get(t);
    if (f !== undefined) score += (bm25Idf(corpus, t) * f * (options.k1 + 1)) / (f + norm);
  }
  return score;
}

/**
 * BM25 of the output for the reference as query, divided by the reference's BM25 against itself,
 * clipped to [0, 1]: "how much of what matching the reference perfectly would earn".
 */
export function normalizedBm25(
  reference: readonly string[],
  output: readonly string[],
  corpus: DocumentFrequencies,
): number {
  const ideal = bm25(reference, reference, corpus);
  if (ideal <= 0) return 0;
  return Math.max(0, Math.min(1, bm25(reference, output, corpus) / ideal));
}
