/** SummEval expert annotations (one CNN/DM document per line, 16 system summaries with expert scores). */
import { z } from "zod";
import { jsonLinesLoader } from "./files.ts";

/** The four SummEval expert dimensions (averages of 3 experts, 1–5). */
export const SUMMEVAL_DIMENSIONS = ["coherence", "consistency", "fluency", "relevance"] as const;
/** One expert dimension. */
export type SummEvalDimension = (typeof SUMMEVAL_DIMENSIONS)[number];

const score = z.number().finite().min(1).max(5);
const DOCUMENT = z.object({
  doc_id: z.string().min(1),
  source: z.string(),
  reference: z.string(),
  references: z.array(z.string()).min(1),
  summaries: z
    .array(
      z.object({
        system: z.string().min(1),
        summary: z.string(),
        expert_scores: z.object({ coherence: score, consistency: score, fluency: score, relevance: score }),
      }),
    )
    .min(1),
});

/** One SummEval document. */
export type SummEvalDocument = z.infer<typeof DOCUMENT>;

/** Loads `summeval_expert.jsonl`. */
export const loadSummEval: (path: string) => SummEvalDocument[] = jsonLinesLoader(DOCUMENT);
