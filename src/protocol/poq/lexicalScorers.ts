/**
 * Reference-based lexical scorers on the 0–10 scale: token F1 (SQuAD rules), ROUGE-L F-measure,
 * chrF, TF-IDF cosine and normalized BM25. Each takes the best match over the references.
 */
import type { PureScorer } from "./evaluator.ts";
import { maxOverReferences } from "./evaluator.ts";
import { memoize } from "./memo.ts";
import { chrfFromStats, chrfStats } from "./metrics/chrf.ts";
import { rougeLTokens, rougeTokenize } from "./metrics/rouge.ts";
import { answerTokens, tokenF1 } from "./metrics/squad.ts";
import { type DocumentFrequencies, EMPTY_CORPUS, normalizedBm25, tfidfCosine } from "./metrics/tfidf.ts";
import { wordTokens } from "./metrics/words.ts";

const lexical = (name: string, description: string) =>
  ({ name, kind: "lexical", needsReference: true, needsPeers: false, description }) as const;

const referenceAnswerTokens = memoize(answerTokens);
const referenceRougeTokens = memoize((text) => rougeTokenize(text, true));
const referenceChrfStats = memoize(chrfStats, 5_000);

/** Token F1 with the official SQuAD normalization, × 10. */
export const tokenF1Scorer: PureScorer = {
  info: lexical("token-f1", "SQuAD token F1 against the best reference, x10"),
  scoreSync(input) {
    const out = answerTokens(input.output);
    return 10 * maxOverReferences(input, (r) => tokenF1(out, referenceAnswerTokens(r)));
  },
};

/** ROUGE-L F-measure (rouge_score tokenization, Porter stemming), × 10. */
export const rougeLScorer: PureScorer = {
  info: lexical("rouge-l", "ROUGE-L F-measure (stemmed) against the best reference, x10"),
  scoreSync(input) {
    const out = rougeTokenize(input.output, true);
    return 10 * maxOverReferences(input, (r) => rougeLTokens(referenceRougeTokens(r), out).fmeasure);
  },
};

/** chrF (orders 1–6, β = 2), ÷ 10. */
export const chrfScorer: PureScorer = {
  info: lexical("chrf", "character n-gram F-score (chrF, beta=2) against the best reference, /10"),
  scoreSync(input) {
    const out = chrfStats(input.output);
    return maxOverReferences(input, (r) => chrfFromStats(out, referenceChrfStats(r))) / 10;
  },
};

/** TF-IDF cosine with IDF from a fitted corpus, × 10. */
export function createTfidfScorer(corpus: DocumentFrequencies = EMPTY_CORPUS): PureScorer {
  const referenceTokens = memoize(wordTokens);
  return {
    info: lexical(
      "tfidf",
      `TF-IDF cosine against the best reference (IDF from ${corpus.documents} documents), x10`,
    ),
    scoreSync(input) {
      const out = wordTokens(input.output);
      return 10 * maxOverReferences(input, (r) => tfidfCosine(referenceTokens(r), out, corpus));
    },
  };
}

/** BM25 of the output for the reference as query, normalized by the reference's self-score, × 10. */
export function createBm25Scorer(corpus: DocumentFrequencies = EMPTY_CORPUS): PureScorer {
  const referenceTokens = memoize(wordTokens);
  return {
    info: lexical(
      "bm25",
      `Okapi BM25 (k1=1.2, b=0.75) normalized by the reference's self-score (${corpus.documents} documents), x10`,
    ),
    scoreSync(input) {
      const out = wordTokens(input.output);
      return 10 * maxOverReferences(input, (r) => normalizedBm25(referenceTokens(r), out, corpus));
    },
  };
}
