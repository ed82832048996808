/**
 * STS Benchmark TSV files: `genre \t file \t years \t pair_id \t score \t sentence1 \t sentence2`
 * (some lines carry two extra attribution columns, which are ignored). Split on tabs, never with a CSV
 * parser: sentences contain quotes.
 */
import { basename } from "node:path";
import { VerinferError } from "../errors.ts";
import { readTextFile } from "./files.ts";

/** One scored sentence pair (gold similarity 0–5). */
export interface StsPair {
  readonly genre: string;
  readonly source: string;
  readonly years: string;
  readonly id: string;
  readonly score: number;
  readonly sentence1: string;
  readonly sentence2: string;
}

/** Parses STS-B TSV text. */
export function parseStsB(text: string, file: string): StsPair[] {
  const out: StsPair[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, "");
    if (line.trim().length === 0) continue;
    const cols = line.split("\t");
    const where = `${basename(file)} line ${i + 1}`;
    if (cols.length < 7) {
      throw new VerinferError(
        "DATASET_MALFORMED",
        `${where}: expected at least 7 tab-separated columns, got ${cols.length}`,
        {
          file,
          line: i + 1,
        },
      );
    }
    const score = Number(cols[4]);
    if (cols[4]?.trim() === "" || !Number.isFinite(score) || score < 0 || score > 5) {
      throw new VerinferError(
        "DATASET_MALFORMED",
        `${where}: field score: expected a number in 0..5, got "${cols[4]}"`,
        {
          file,
          line: i + 1,
          field: "score",
        },
      );
    }
    out.push({
      genre: cols[0] as string,
      source: cols[1] as string,
      years: cols[2] as string,
      id: cols[3] as string,
      score,
      sentence1: cols[5] as string,
      sentence2: cols[6] as string,
    });
  }
  return out;
}

/** Loads an STS-B split file. */
export function loadStsB(path: string): StsPair[] {
  return parseStsB(readTextFile(path), path);
}
