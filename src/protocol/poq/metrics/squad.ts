/**
 * SQuAD v1.1 exact match and F1, rule for rule as the official `evaluate-v1.1.py`:
 * normalize = lowercase → drop ASCII punctuation → replace whole words a/an/the by a space → collapse
 * whitespace; F1 on whitespace tokens with multiset overlap; per question the max over gold answers;
 * missing predictions score 0; results in percent.
 */
import { PY_WORD_CHAR, pySplit } from "./pythonText.ts";

const ASCII_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
const ARTICLES = new RegExp(`(?<!${PY_WORD_CHAR})(?:a|an|the)(?!${PY_WORD_CHAR})`, "gu");
// For pure-ASCII text, Python's Unicode \b equals JavaScript's ASCII \b, and whitespace is a short list.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the range test for pure ASCII must include controls
const ASCII_ONLY = /^[\x00-\x7f]*$/;
const ASCII_ARTICLES = /\b(?:a|an|the)\b/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: Python counts U+001C..U+001F as whitespace
const ASCII_WHITESPACE = /[\t\n\v\f\r\x1c-\x1f ]+/;

/** The official `normalize_answer`, via the general Unicode path (the fast path must equal it). */
export function normalizeAnswerUnicode(text: string): string {
  const noPunct = text.toLowerCase().replace(ASCII_PUNCTUATION, "");
  return pySplit(noPunct.replace(ARTICLES, " ")).join(" ");
}

/** The official `normalize_answer`. */
export function normalizeAnswer(text: string): string {
  if (!ASCII_ONLY.test(text)) return normalizeAnswerUnicode(text);
  const spaced = text.toLowerCase().replace(ASCII_PUNCTUATION, "").replace(ASCII_ARTICLES, " ");
  const parts = spaced.split(ASCII_WHITESPACE);
  let out = "";
  for (const p of parts) if (p.length > 0) out = out.length === 0 ? p : `${out} ${p}`;
  return out;
}

/** Normalized answer tokens. */
export function answerTokens(text: string): string[] {
  return pySplit(normalizeAnswer(text));
}

/** Official `exact_match_score` (1 or 0). */
export function squadExactMatch(prediction: string, groundTruth: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(groundTruth) ? 1 : 0;
}

/** Token F1 of two token lists with multiset overlap (0 when nothing overlaps). */
export function tokenF1(predictionTokens: readonly string[], truthTokens: readonly string[]): number {
  if (predictionTokens.length === 0 || truthTokens.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const t of truthTokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of predictionTokens) {
    const c = counts.get(t);
    if (c !== undefined && c > 0) {
      same++;
      counts.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / predictionTokens.length;
  const recall = same / truthTokens.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Official `f1_score` on raw strings. */
export function squadF1(prediction: string, groundTruth: string): number {
  return tokenF1(answerTokens(prediction), answerTokens(groundTruth));
}

/** Official `metric_max_over_ground_truths`; 0 when there are no ground truths. */
export function maxOverGroundTruths(
  metric: (prediction: string, truth: string) => number,
  prediction: string,
  groundTruths: readonly string[],
): number {
  let best = 0;
  for (const truth of groundTruths) best = Math.max(best, metric(prediction, truth));
  return best;
}

/** One question of a SQuAD-format dataset. */
export interface SquadQuestion {
  readonly id: string;
  readonly question: string;
  readonly context: string;
  readonly answers: readonly string[];
}

/** Scores of a predictions file, as the official script prints them plus bookkeeping. */
export interface SquadScores {
  readonly exact_match: number;
  readonly f1: number;
  readonly n_questions: number;
  readonly n_predictions: number;
  readonly missing: number;
  /** Prediction ids that match no question (ignored, as the official script does). */
  readonly unknown_ids: number;
}

/** Per-question scores (fractions in [0, 1]); `null` when the prediction is missing. */
export interface SquadQuestionScore {
  readonly id: string;
  readonly exactMatch: number;
  readonly f1: number;
  readonly missing: boolean;
}

/** Scores every question; missing predictions score 0 and are flagged. */
export function scoreSquadQuestions(
  questions: readonly SquadQuestion[],
  predictions: ReadonlyMap<string, string>,
): SquadQuestionScore[] {
  return questions.map((q) => {
    const prediction = predictions.get(q.id);
    if (prediction === undefined) return { id: q.id, exactMatch: 0, f1: 0, missing: true };
    return {
      id: q.id,
      exactMatch: maxOverGroundTruths(squadExactMatch, prediction, q.answers),
      f1: maxOverGroundTruths(squadF1, prediction, q.answers),
      missing: false,
    };
  });
}

/** The official `evaluate(dataset, predictions)`, in percent. */
export function evaluateSquad(
  questions: readonly SquadQuestion[],
  predictions: ReadonlyMap<string, string>,
): SquadScores {
  const perQuestion = scoreSquadQuestions(questions, predictions);
  let em = 0;
  let f1 = 0;
  let missing = 0;
  for (const s of perQuestion) {
    em += s.exactMatch;
    f1 += s.f1;
    if (s.missing) missing++;
  }
  const ids = new Set(questions.map((q) => q.id));
  let unknown = 0;
  for (const id of predictions.keys()) if (!ids.has(id)) unknown++;
  const total = questions.length;
  return {
    exact_match: total === 0 ? 0 : (100 * em) / total,
    f1: total === 0 ? 0 : (100 * f1) / total,
    n_questions: total,
    n_predictions: predictions.size,
    missing,
    unknown_ids: unknown,
  };
}
