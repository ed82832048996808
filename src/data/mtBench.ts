/** MT-Bench questions, GPT-4 reference answers and judge prompt templates. */
import { z } from "zod";
import { jsonLinesLoader } from "./files.ts";

const QUESTION = z.object({
  question_id: z.number().int(),
  category: z.string(),
  turns: z.array(z.string()).min(1),
  reference: z.array(z.string()).optional(),
});
const REFERENCE_ANSWER = z.object({
  question_id: z.number().int(),
  model_id: z.string(),
  choices: z.array(z.object({ index: z.number().int(), turns: z.array(z.string()) })).min(1),
});
const JUDGE_PROMPT = z.object({
  name: z.string(),
  type: z.enum(["single", "pairwise"]),
  system_prompt: z.string(),
  prompt_template: z.string(),
  description: z.string(),
  category: z.string(),
  output_format: z.string(),
});

/** An MT-Bench question (two turns). */
export type MtBenchQuestion = z.infer<typeof QUESTION>;
/** A reference answer. */
export type MtBenchReferenceAnswer = z.infer<typeof REFERENCE_ANSWER>;
/** A judge prompt template. */
export type JudgePrompt = z.infer<typeof JUDGE_PROMPT>;

/** Loads `question.jsonl`. */
export const loadMtBenchQuestions = jsonLinesLoader(QUESTION);
/** Loads `reference_answer_gpt-4.jsonl`. */
export const loadMtBenchReferenceAnswers = jsonLinesLoader(REFERENCE_ANSWER);
/** Loads `judge_prompts.jsonl`. */
export const loadJudgePrompts = jsonLinesLoader(JUDGE_PROMPT);
