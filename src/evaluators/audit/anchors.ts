/** Published numbers the audit's results are shown beside (PAPERS.md; issue #2). */
import type { TaskName } from "./tasks.ts";

/** One published figure. */
export interface PaperAnchor {
  readonly source: string;
  readonly claim: string;
  /** Correlation value, or null when the paper gives only a qualitative statement. */
  readonly value: number | null;
  readonly statement: string;
  readonly setup: string;
}

const COST_AWARE = "Cost-aware PoQ (arXiv 2512.16317)";
const COST_AWARE_SETUP =
  "400 prompts from SQuAD and CNN/DailyMail answered by five 1-4B instruct LLMs; ground truth 10 x token F1 vs the reference; correlation type not stated";

/** Anchors per task. */
export const PAPER_ANCHORS: Readonly<Record<TaskName, readonly PaperAnchor[]>> = {
  qa: [
    {
      source: COST_AWARE,
      claim: "STS bi-encoder vs token F1",
      value: 0.66,
      statement: "0.66",
      setup: COST_AWARE_SETUP,
    },
    {
      source: COST_AWARE,
      claim: "STS bi-encoder vs GPT-based score",
      value: 0.29,
      statement: "0.29",
      setup: COST_AWARE_SETUP,
    },
    {
      source: COST_AWARE,
      claim: "cross-encoders (CE-MiniLM, CE-DeBERTa) vs token F1",
      value: null,
      statement: "near zero or negative",
      setup: COST_AWARE_SETUP,
    },
  ],
  summarization: [
    {
      source: COST_AWARE,
      claim: "STS bi-encoder vs token F1 (QA and summarization pooled)",
      value: 0.66,
      statement: "0.66",
      setup: COST_AWARE_SETUP,
    },
  ],
  sts: [
    {
      source: "SBERT paper (Reimers & Gurevych 2019), Spearman",
      claim: "averaged GloVe embeddings",
      value: 0.58,
      statement: "0.58",
      setup: "STS-B test, cosine similarity vs gold",
    },
    {
      source: "SBERT paper (Reimers & Gurevych 2019), Spearman",
      claim: "Universal Sentence Encoder",
      value: 0.78,
      statement: "≈ 0.78",
      setup: "STS-B test",
    },
    {
      source: "SBERT / sentence-transformers model cards",
      claim: "SBERT / all-MiniLM-L6-v2",
      value: 0.82,
      statement: "0.82-0.85",
      setup: "STS-B test",
    },
  ],
  chat: [
    {
      source: "PoQ-Judge (2026, follow-up of arXiv 2603.04028)",
      claim: "reference-free LLM judges",
      value: 0.747,
      statement: "Pearson 0.747",
      setup: "judge scores vs reference quality",
    },
    {
      source: "PoQ-Judge (2026)",
      claim: "best reference-based evaluator",
      value: 0.64,
      statement: "Pearson 0.63-0.65",
      setup: "same setup",
    },
  ],
};
