/**
 * Your own human judgments of summaries, for `eval audit --judgments` and `poq calibrate --judgments`.
 * JSON Lines, one summary per line:
 *
 *   {"id": "doc-17", "system": "model-a", "summary": "…", "references": ["…", …],
 *    "source": "… (optional: the article)", "human": {"relevance": 4.3, "coherence": 3}}
 *
 * `id` names the document (summaries with the same id are compared with each other), `human` holds
 * any human dimensions on any numeric scale — the same names on every line. Errors name the file, the
 * line and the field.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { VerinferError } from "../errors.ts";
import { jsonLinesLoader } from "./files.ts";

const JUDGMENT = z.object({
  id: z.string().min(1),
  system: z.string().min(1),
  summary: z.string(),
  references: z.array(z.string().min(1)).min(1),
  source: z.string().optional(),
  human: z.record(z.string().min(1), z.number().finite()).refine((h) => Object.keys(h).length > 0, {
    message: "needs at least one human dimension",
  }),
});

/** One judged summary. */
export type Judgment = z.infer<typeof JUDGMENT>;

/** The judgments of a file, checked for the same dimensions everywhere and no repeated (id, system). */
export interface JudgmentsFile {
  readonly path: string;
  readonly judgments: readonly Judgment[];
  readonly dimensions: readonly string[];
  /** sha256 of the file, so caches notice an edit. */
  readonly sha256: string;
}

const loadLines = jsonLinesLoader(JUDGMENT);

/** Loads and checks a judgments file. */
export function loadJudgments(path: string): JudgmentsFile {
  const judgments = loadLines(path);
  if (judgments.length === 0)
    throw new VerinferError("DATASET_MALFORMED", `${path} has no judgments`, { file: path });
  const dimensions = Object.keys((judgments[0] as Judgment).human).sort();
  const seen = new Set<string>();
  for (const [i, j] of judgments.entries()) {
    const names = Object.keys(j.human).sort();
    if (names.join() !== dimensions.join())
      throw new VerinferError(
        "DATASET_MALFORMED",
        `${path} line ${i + 1}: field human has ${names.join(", ")}; line 1 has ${dimensions.join(", ")} (every line needs the same dimensions)`,
        { file: path, line: i + 1, field: "human" },
      );
    const key = `${j.id}\u0000${j.system}`;
    if (seen.has(key))
      throw new VerinferError(
        "DATASET_MALFORMED",
        `${path} line ${i + 1}: system ${j.system} is judged twice on document ${j.id}`,
        { file: path, line: i + 1, field: "system" },
      );
    seen.add(key);
  }
  const sha256 = createHash("sha256").update(readFileSync(path)).digest("hex");
  return { path, judgments, dimensions, sha256 };
}
