/**
 * An LLM-judge evaluator over any OpenAI-compatible chat endpoint. verinfer's rubric asks for a 0–10
 * score with a short justification and a final `Score: N` line; the reply parser also accepts JSON
 * (`{"score": N}`), MT-Bench's `[[N]]`, and `N/10`, taking the last score stated. An unparseable reply
 * is asked once more, then reported as JUDGE_REPLY_INVALID (never guessed). A judge's own request is
 * never judged (JUDGE_REQUEST_NOT_JUDGED): a judge asking the network it evaluates would loop.
 */
import { performance } from "node:perf_hooks";
import { z } from "zod";
import {
  type ChatEndpoint,
  type ChatMessage,
  chatCompletion,
} from "../../engine/openaiCompatible/chatClient.ts";
import { VerinferError } from "../../errors.ts";
import type { PoqScoringParams } from "../../protocol/params/params.ts";
import {
  type EvaluationInput,
  type EvaluationScore,
  type Evaluator,
  referencesOf,
} from "../../protocol/poq/evaluator.ts";
import { assertEvaluationInput, assertScore } from "../timedEvaluator.ts";

/** Judge settings (validated). */
export const JUDGE_CONFIG = z.object({
  baseUrl: z.string().min(1, "is required (--judge-url or VERINFER_JUDGE_BASE_URL)"),
  model: z.string().min(1, "is required (--judge-model or VERINFER_JUDGE_MODEL)"),
  apiKey: z.string().optional(),
  timeoutMs: z.coerce.number().int().min(100).max(600_000).default(60_000),
  maxRetries: z.coerce.number().int().min(0).max(10).default(3),
  retryBaseMs: z.coerce.number().int().min(0).max(60_000).default(500),
  concurrency: z.coerce.number().int().min(1).max(64).default(4),
  maxTokens: z.coerce.number().int().min(16).max(8192).default(400),
});
/** Judge settings. */
export type JudgeConfig = z.infer<typeof JUDGE_CONFIG>;

/** The system prompt: verinfer's 0–10 rubric. */
export const JUDGE_SYSTEM_PROMPT = [
  "You are a strict, impartial evaluator of answers produced by AI assistants.",
  "Rate the answer to the user's request on a scale from 0 to 10:",
  "10 = fully correct, complete and directly responsive; 7-9 = correct with minor omissions or style problems;",
  "4-6 = partly correct or missing important parts; 1-3 = mostly wrong, off-topic or unusable; 0 = empty, harmful or nonsense.",
  "When a reference answer is given, treat it as correct and judge the answer's agreement with its facts; wording may differ.",
  "Ignore the answer's length except where it hurts correctness or usefulness. Do not reward confident tone.",
  "Reply with one or two sentences of justification, then a final line exactly of the form: Score: N (N between 0 and 10).",
].join("\n");

/**
 * Whether `query` is a judge's own request: it holds the rubric (whitespace aside, as a tokenizer's
 * round trip may change it). A judge that asks the network it evaluates (its own gateway) makes
 * receipts of its own, for which evaluators are sampled in turn; judging those would ask the network
 * again, k times as many requests each round, without end. So a judge's request is never judged.
 */
export function isJudgeRequest(query: string): boolean {
  return squeezed(query).includes(squeezed(JUDGE_SYSTEM_PROMPT));
}

const squeezed = (text: string) => text.replace(/\s+/g, " ");

/** What the judge is asked for one evaluation: the rubric, then the request and the answer. */
export function judgeMessages(input: EvaluationInput): ChatMessage[] {
  return [
    { role: "system", content: JUDGE_SYSTEM_PROMPT },
    { role: "user", content: judgeUserMessage(input) },
  ];
}

/** The user message for one evaluation. */
export function judgeUserMessage(input: EvaluationInput): string {
  const references = referencesOf(input);
  const parts = [`[Request]\n${input.query}`];
  if (references.length === 1) parts.push(`[Reference answer]\n${references[0]}`);
  else if (references.length > 1)
    parts.push(
      `[Reference answers (any is correct)]\n${references.map((r, i) => `${i + 1}. ${r}`).join("\n")}`,
    );
  parts.push(`[Answer to rate]\n${input.output}`);
  return parts.join("\n\n");
}

const NUMBER = "(10(?:\\.0+)?|\\d(?:\\.\\d+)?)";
const PATTERNS = [
  new RegExp(`\\[\\[\\s*${NUMBER}\\s*\\]\\]`, "g"),
  new RegExp(`\\b(?:score|rating|grade)\\s*(?:is|of|=|:)?\\s*\\**\\s*${NUMBER}(?!\\d)`, "gi"),
  new RegExp(`(?<![\\d.])${NUMBER}\\s*(?:/|out of)\\s*10\\b`, "gi"),
];

/** Extracts a 0–10 score from a judge reply, or null when there is none. */
export function parseJudgeScore(reply: string): number | null {
  const fenced = reply.replace(/```(?:json)?/g, " ");
  for (const match of fenced.matchAll(/\{[^{}]*\}/g)) {
    try {
      const value = (JSON.parse(match[0]) as { score?: unknown }).score;
      const n = typeof value === "string" ? Number(value) : value;
      if (typeof n === "number" && Number.isFinite(n) && n >= 0 && n <= 10) return n;
    } catch {
      // not JSON: try the other patterns
    }
  }
  for (const pattern of PATTERNS) {
    const matches = [...reply.matchAll(pattern)];
    const last = matches[matches.length - 1];
    if (last) {
      const n = Number(last[1]);
      if (Number.isFinite(n) && n >= 0 && n <= 10) return n;
    }
  }
  return null;
}

async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return out;
}

/** Creates the `llm-judge` evaluator. */
export function createLlmJudgeEvaluator(
  config: JudgeConfig,
  params: Pick<PoqScoringParams, "maxTextChars">,
): Evaluator {
  const endpoint: ChatEndpoint = {
    baseUrl: config.baseUrl,
    model: config.model,
    apiKey: config.apiKey,
    timeoutMs: config.timeoutMs,
    maxRetries: config.maxRetries,
    retryBaseMs: config.retryBaseMs,
  };
  const info = {
    name: "llm-judge",
    kind: "llm-judge",
    needsReference: false,
    needsPeers: false,
    description: `LLM judge ${config.model} at ${config.baseUrl} with verinfer's 0-10 rubric`,
  } as const;
  const scoreOne = async (input: EvaluationInput): Promise<EvaluationScore> => {
    assertEvaluationInput(input, { info }, params);
    if (isJudgeRequest(input.query))
      throw new VerinferError(
        "JUDGE_REQUEST_NOT_JUDGED",
        "the answer is to an LLM judge's own request: judging it would ask the network again, without end",
      );
    const messages = judgeMessages(input);
    const start = performance.now();
    let lastReply = "";
    for (let ask = 0; ask < 2; ask++) {
      const completion = await chatCompletion(endpoint, {
        messages,
        temperature: 0,
        maxTokens: config.maxTokens,
        seed: 0,
      });
      lastReply = completion.content;
      const score = parseJudgeScore(completion.content);
      if (score !== null) return { score: assertScore(info.name, score), costMs: performance.now() - start };
    }
    const excerpt = lastReply.slice(-80).replace(/\s+/g, " ");
    throw new VerinferError("JUDGE_REPLY_INVALID", `judge reply has no 0-10 score (ends: "${excerpt}")`, {
      model: config.model,
    });
  };
  return {
    info,
    score: scoreOne,
    scoreBatch: (inputs) => mapConcurrent(inputs, config.concurrency, scoreOne),
    close: async () => {},
  };
}
