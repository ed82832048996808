/** Published numbers the audit's results are shown beside (PAPERS.md; issue #2), each tied to the truth it compares with. */
import type { TaskName } from "./tasks.ts";

/** One published figure. */
export interface PaperAnchor {
  readonly source: string;
  readonly claim: string;
  /** The audit truth this figure is comparable to. */
  readonly truth: string;
  /** Correlation value, or null when the paper gives only a qualitative statement. */
  readonly value: number | null;
  readonly statement: string;
  readonly setup: string;
}

const COST_AWARE = "Cost-aware PoQ (arXiv 2512.16317)";
const COST_AWARE_SETUP =
  "400 prompts from SQuAD and CNN/DailyMail answered by five 1-4B instruct LLMs; ground truth 10 x token F1 vs the reference; correlation type not stated";
const STS_BI = "STS bi-encoder (STS-DistilRoBERTa) vs token F1";
const CROSS = "cross-encoders (CE-MiniLM, CE-DeBERTa) vs token F1";
const SBERT = "SBERT paper (Reimers & Gurevych 2019), Spearman";

/** Anchors per task. */
export const PAPER_ANCHORS: Readonly<Record<TaskName, readonly PaperAnchor[]>> = {
  qa: [
    {
      source: COST_AWARE,
      claim: STS_BI,
      truth: "f1",
      value: 0.66,
      statement: "0.66",
      setup: COST_AWARE_SETUP,
    },
    {
      source: COST_AWARE,
      claim: CROSS,
      truth: "f1",
      value: null,
      statement: "near zero or negative",
      setup: COST_AWARE_SETUP,
    },
  ],
  summarization: [
    {
      source: COST_AWARE,
      claim: STS_BI,
      truth: "token_f1",
      value: 0.66,
      statement: "0.66",
      setup: COST_AWARE_SETUP,
    },
    {
      source: COST_AWARE,
      claim: CROSS,
      truth: "token_f1",
      value: null,
      statement: "near zero or negative",
      setup: COST_AWARE_SETUP,
    },
  ],
  sts: [
    {
      source: SBERT,
      claim: "averaged GloVe embeddings",
      truth: "similarity",
      value: 0.58,
      statement: "0.58",
      setup: "STS-B test, cosine vs gold",
    },
    {
      source: SBERT,
      claim: "Universal Sentence Encoder",
      truth: "similarity",
      value: 0.78,
      statement: "≈ 0.78",
      setup: "STS-B test",
    },
    {
      source: "SBERT / sentence-transformers model cards",
      claim: "SBERT / all-MiniLM-L6-v2",
      truth: "similarity",
      value: 0.82,
      statement: "0.82-0.85",
      setup: "STS-B test",
    },
  ],
  chat: [
    {
      source: COST_AWARE,
      claim: "STS bi-encoder vs GPT-based score",
      truth: "preference",
      value: 0.29,
      statement: "0.29",
      setup: `${COST_AWARE_SETUP}; GPT judge, prompt and scale unknown`,
    },
    {
      source: "PoQ-Judge (2026, follow-up of arXiv 2603.04028)",
      claim: "reference-free LLM judges",
      truth: "preference",
      value: 0.747,
      statement: "Pearson 0.747",
      setup: "judge scores vs reference quality",
    },
    {
      source: "PoQ-Judge (2026)",
      claim: "best reference-based evaluator",
      truth: "preference",
      value: 0.64,
      statement: "Pearson 0.63-0.65",
      setup: "same setup",
    },
  ],
};
