/** SQuAD v1.1 dataset (official JSON schema) and `{question_id: answer}` prediction files. */
import { basename } from "node:path";
import { z } from "zod";
import { VerinferError } from "../errors.ts";
import type { SquadQuestion } from "../protocol/poq/metrics/squad.ts";
import { parseRecord, readJsonFile } from "./files.ts";

const QA = z.object({
  id: z.string().min(1),
  question: z.string(),
  answers: z.array(z.object({ text: z.string(), answer_start: z.number().int().optional() })),
});
const ARTICLE = z.object({
  title: z.string(),
  paragraphs: z.array(z.object({ context: z.string(), qas: z.array(z.unknown()) })),
});

/** A question with its article title. */
export interface SquadEntry extends SquadQuestion {
  readonly title: string;
}

/** Loads a SQuAD v1.1-format dataset file. */
export function loadSquadDataset(path: string): SquadEntry[] {
  const root = parseRecord(
    z.object({ data: z.array(z.unknown()), version: z.string().optional() }),
    readJsonFile(path),
    {
      file: path,
    },
  );
  const out: SquadEntry[] = [];
  const seen = new Set<string>();
  root.data.forEach((rawArticle, a) => {
    const article = parseRecord(ARTICLE, rawArticle, { file: path, record: `data[${a}]` });
    article.paragraphs.forEach((paragraph, p) => {
      paragraph.qas.forEach((rawQa, q) => {
        const qa = parseRecord(QA, rawQa, { file: path, record: `data[${a}].paragraphs[${p}].qas[${q}]` });
        if (seen.has(qa.id)) {
          throw new VerinferError("DATASET_MALFORMED", `${basename(path)}: duplicate question id ${qa.id}`, {
            file: path,
            id: qa.id,
          });
        }
        seen.add(qa.id);
        out.push({
          id: qa.id,
          title: article.title,
          question: qa.question,
          context: paragraph.context,
          answers: qa.answers.map((x) => x.text),
        });
      });
    });
  });
  return out;
}

/** Loads a predictions file: one JSON object mapping question id to predicted answer text. */
export function loadSquadPredictions(path: string): Map<string, string> {
  const raw = readJsonFile(path);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new VerinferError(
      "DATASET_MALFORMED",
      `${basename(path)}: a predictions file must be one JSON object {"question_id": "answer", ...}`,
      { file: path },
    );
  }
  const out = new Map<string, string>();
  for (const [id, answer] of Object.entries(raw)) {
    if (typeof answer !== "string") {
      throw new VerinferError(
        "DATASET_MALFORMED",
        `${basename(path)}: prediction for question ${id} must be a string, got ${answer === null ? "null" : typeof answer}`,
        { file: path, record: id },
      );
    }
    out.set(id, answer);
  }
  return out;
}
