/**
 * Rule-based structure quality (reference-free): an output loses points for being empty, truncated,
 * degenerate (repeating itself), too short or too long for its task, or malformed (unbalanced code
 * fences or brackets, control characters, U+FFFD, stray markup). The penalties are our choice (the
 * multi-dimensional PoQ paper does not publish its rules) and are listed in each assessment.
 */
import { wordTokens } from "../metrics/words.ts";

/** Expected output length, in words, for a task. */
export interface LengthRange {
  readonly minWords: number;
  readonly maxWords: number;
}

/** Default length ranges per task (our choice, from the datasets' typical lengths). */
export const TASK_LENGTHS: Readonly<Record<string, LengthRange>> = {
  qa: { minWords: 1, maxWords: 40 },
  summarization: { minWords: 10, maxWords: 200 },
  chat: { minWords: 3, maxWords: 2500 },
  sts: { minWords: 1, maxWords: 120 },
};

/** One structural problem and its penalty on the 0–10 scale. */
export interface StructureIssue {
  readonly rule: "empty" | "truncated" | "repetition" | "too-short" | "too-long" | "format";
  readonly penalty: number;
  readonly detail: string;
}

/** Score and the issues that lowered it. */
export interface StructureAssessment {
  readonly score: number;
  readonly issues: readonly StructureIssue[];
}

function repeatedNgramShare(tokens: readonly string[], n: number): number {
  const total = tokens.length - n + 1;
  if (total <= 1) return 0;
  const seen = new Set<string>();
  let repeats = 0;
  for (let i = 0; i < total; i++) {
    const key = tokens.slice(i, i + n).join(" ");
    if (seen.has(key)) repeats++;
    else seen.add(key);
  }
  return repeats / total;
}

function unbalanced(text: string): string | null {
  const fences = text.match(/```/g)?.length ?? 0;
  if (fences % 2 === 1) return "unclosed code fence";
  const pairs: [string, string][] = [
    ["(", ")"],
    ["[", "]"],
    ["{", "}"],
  ];
  for (const [open, close] of pairs) {
    const diff = text.split(open).length - text.split(close).length;
    if (Math.abs(diff) >= 2) return `unbalanced ${open}${close}`;
  }
  return null;
}

/** Control characters other than tab, newline and carriage return, or the replacement character U+FFFD. */
function hasBadCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f || c === 0xfffd) return true;
  }
  return false;
}
const STRAY_TAG = /^\s*<\/?[a-z][a-z0-9]*\s*\/?>/i;
const TERMINAL = /[.!?。！？"')\]}*`:;]\s*$|```\s*$|\n\s*$/u;

/** Assesses an output's structure for a task's length range. */
export function assessStructure(output: string, range: LengthRange): StructureAssessment {
  const issues: StructureIssue[] = [];
  const tokens = wordTokens(output);
  if (output.trim().length === 0 || tokens.length === 0) {
    return { score: 0, issues: [{ rule: "empty", penalty: 10, detail: "no words in the output" }] };
  }
  if (tokens.length < range.minWords) {
    issues.push({
      rule: "too-short",
      penalty: 3,
      detail: `${tokens.length} words, fewer than ${range.minWords}`,
    });
  }
  if (tokens.length > range.maxWords) {
    const over = Math.min(1, (tokens.length - range.maxWords) / range.maxWords);
    issues.push({
      rule: "too-long",
      penalty: 2 + 2 * over,
      detail: `${tokens.length} words, more than ${range.maxWords}`,
    });
  }
  const repetition = Math.max(
    repeatedNgramShare(tokens, 4),
    tokens.length >= 8 ? repeatedNgramShare(tokens, 1) - 0.75 : 0,
  );
  if (tokens.length >= 8 && repetition > 0.3) {
    issues.push({
      rule: "repetition",
      penalty: Math.min(8, 10 * repetition),
      detail: `${Math.round(repetition * 100)}% of 4-grams repeat`,
    });
  }
  // A long answer that stops mid-sentence is probably cut off at the token limit.
  if (tokens.length >= 25 && !TERMINAL.test(output)) {
    issues.push({ rule: "truncated", penalty: 2, detail: "ends without closing punctuation" });
  }
  const imbalance = unbalanced(output);
  if (imbalance) issues.push({ rule: "format", penalty: 1.5, detail: imbalance });
  if (hasBadCharacters(output))
    issues.push({ rule: "format", penalty: 2, detail: "control or replacement characters" });
  if (STRAY_TAG.test(output))
    issues.push({ rule: "format", penalty: 1, detail: "starts with a stray markup tag" });
  const total = issues.reduce((s, i) => s + i.penalty, 0);
  return { score: Math.max(0, 10 - total), issues };
}
