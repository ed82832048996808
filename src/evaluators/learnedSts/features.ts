/**
 * Pair features for the learned STS evaluator: lexical overlap at word, stem, bigram and character
 * level, IDF-weighted overlap, length, numbers and negation agreement, order (LCS), edit distance and,
 * when word vectors are available, soft alignment (a static-vector BERTScore) and mean-vector cosine.
 */
import { memoize } from "../../protocol/poq/memo.ts";
import { porterStem } from "../../protocol/poq/metrics/porterStemmer.ts";
import { lcsLength } from "../../protocol/poq/metrics/rouge.ts";
import { type DocumentFrequencies, smoothIdf, tfidfCosine } from "../../protocol/poq/metrics/tfidf.ts";
import { wordTokens } from "../../protocol/poq/metrics/words.ts";

const STOPWORDS = new Set(
  (
    "a an the and or but if then else of at by for with about against between into through during before after above below " +
    "to from up down in out on off over under again further once here there when where why how all any both each few more " +
    "most other some such only own same so than too very s t can will just don should now i me my myself we our ours ourselves " +
    "you your yours yourself yourselves he him his himself she her hers herself it its itself they them their theirs themselves " +
    "what which who whom this that these those am is are was were be been being have has had having do does did doing would " +
    "could shall might must may as until while also its"
  ).split(" "),
);
const NEGATIONS = new Set([
  "not",
  "no",
  "never",
  "none",
  "nobody",
  "nothing",
  "neither",
  "nor",
  "without",
  "nt",
  "cannot",
]);
const NUMBER = /^\d+([.,]\d+)*$/;

/** One sentence, pre-processed once and reused for every feature. */
export interface Prepared {
  readonly tokens: readonly string[];
  readonly stems: readonly string[];
  readonly content: readonly string[];
  readonly numbers: ReadonlySet<string>;
  readonly negations: number;
  readonly chars: string;
}

const stem = memoize(porterStem, 200_000);

/** Pre-processes a sentence. "n't" becomes the token "nt" so negation is visible. */
export function prepare(text: string): Prepared {
  const tokens = wordTokens(text.replace(/n['’]t\b/gi, " nt"));
  const stems = tokens.map(stem);
  return {
    tokens,
    stems,
    content: stems.filter((_, i) => !STOPWORDS.has(tokens[i] as string)),
    numbers: new Set(tokens.filter((t) => NUMBER.test(t))),
    negations: tokens.filter((t) => NEGATIONS.has(t)).length,
    chars: ` ${tokens.join(" ")} `,
  };
}

function setOf<T>(xs: Iterable<T>): Set<T> {
  return new Set(xs);
}

function intersectionSize<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): number {
  let n = 0;
  for (const x of a) if (b.has(x)) n++;
  return n;
}

function jaccard<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): number {
  const inter = intersectionSize(a, b);
  const union = a.size + b.size - inter;
  return union === 0 ? 1 : inter / union;
}

function containment<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): number {
  return a.size === 0 ? 1 : intersectionSize(a, b) / a.size;
}

function ngrams(tokens: readonly string[], n: number): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i + n <= tokens.length; i++) out.add(tokens.slice(i, i + n).join(" "));
  return out;
}

function charGrams(text: string, n: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i + n <= text.length; i++) {
    const g = text.slice(i, i + n);
    out.set(g, (out.get(g) ?? 0) + 1);
  }
  return out;
}

function countCosine(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (const [k, v] of a) {
    na += v * v;
    const w = b.get(k);
    if (w !== undefined) dot += v * w;
  }
  for (const v of b.values()) nb += v * v;
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

function idfOverlap(a: readonly string[], b: readonly string[], corpus: DocumentFrequencies): number {
  const sa = setOf(a);
  const sb = setOf(b);
  let shared = 0;
  let total = 0;
  for (const t of new Set([...sa, ...sb])) {
    const w = smoothIdf(corpus, t);
    total += w;
    if (sa.has(t) && sb.has(t)) shared += w;
  }
  return total === 0 ? 1 : shared / total;
}

/** Levenshtein distance over word sequences, normalized by the longer length. */
function editRatio(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 && b.length === 0) return 0;
  let prev = new Uint32Array(b.length + 1);
  let curr = new Uint32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    curr[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      curr[j] = Math.min(
        (prev[j] as number) + 1,
        (curr[j - 1] as number) + 1,
        (prev[j - 1] as number) + cost,
      );
    }
    [prev, curr] = [curr, prev];
  }
  return (prev[b.length] as number) / Math.max(a.length, b.length);
}

/** Feature names, in vector order (recorded in the model file). */
export const FEATURE_NAMES = [
  "jaccard_tokens",
  "jaccard_stems",
  "jaccard_content",
  "containment_content_ab",
  "containment_content_ba",
  "containment_min",
  "dice_bigrams",
  "jaccard_trigrams",
  "char3_cosine",
  "char4_cosine",
  "char5_cosine",
  "tfidf_cosine",
  "idf_overlap",
  "lcs_ratio",
  "word_edit_ratio",
  "len_min",
  "len_max",
  "len_diff_ratio",
  "content_unmatched",
  "numbers_present",
  "numbers_jaccard",
  "numbers_mismatch",
  "negation_mismatch",
] as const;

/** The feature vector of a pair. Symmetric features are computed so that order barely matters. */
export function pairFeatures(a: Prepared, b: Prepared, corpus: DocumentFrequencies): Float64Array {
  const ta = setOf(a.tokens);
  const tb = setOf(b.tokens);
  const ca = setOf(a.content);
  const cb = setOf(b.content);
  const containAb = containment(ca, cb);
  const containBa = containment(cb, ca);
  const b2a = ngrams(a.stems, 2);
  const b2b = ngrams(b.stems, 2);
  const interBigrams = intersectionSize(b2a, b2b);
  const dice = b2a.size + b2b.size === 0 ? 1 : (2 * interBigrams) / (b2a.size + b2b.size);
  const la = a.tokens.length;
  const lb = b.tokens.length;
  const maxLen = Math.max(la, lb, 1);
  const numbersPresent = a.numbers.size + b.numbers.size > 0 ? 1 : 0;
  const numbersMismatch = numbersPresent && (a.numbers.size === 0) !== (b.numbers.size === 0) ? 1 : 0;
  let unmatched = 0;
  for (const x of ca) if (!cb.has(x)) unmatched++;
  for (const x of cb) if (!ca.has(x)) unmatched++;
  return Float64Array.from([
    jaccard(ta, tb),
    jaccard(setOf(a.stems), setOf(b.stems)),
    jaccard(ca, cb),
    containAb,
    containBa,
    Math.min(containAb, containBa),
    dice,
    jaccard(ngrams(a.stems, 3), ngrams(b.stems, 3)),
    countCosine(charGrams(a.chars, 3), charGrams(b.chars, 3)),
    countCosine(charGrams(a.chars, 4), charGrams(b.chars, 4)),
    countCosine(charGrams(a.chars, 5), charGrams(b.chars, 5)),
    tfidfCosine(a.stems, b.stems, corpus),
    idfOverlap(a.content, b.content, corpus),
    lcsLength(a.stems, b.stems) / maxLen,
    editRatio(a.stems, b.stems),
    Math.log1p(Math.min(la, lb)),
    Math.log1p(Math.max(la, lb)),
    Math.abs(la - lb) / maxLen,
    unmatched / Math.max(ca.size + cb.size, 1),
    numbersPresent,
    numbersPresent ? jaccard(a.numbers, b.numbers) : 1,
    numbersMismatch,
    a.negations % 2 !== b.negations % 2 ? 1 : 0,
  ]);
}
