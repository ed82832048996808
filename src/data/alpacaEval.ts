/** AlpacaEval 2.0 files: reference outputs, judged model outputs and the leaderboard CSV. */
import { basename } from "node:path";
import { z } from "zod";
import { VerinferError } from "../errors.ts";
import { jsonLinesLoader, readTextFile } from "./files.ts";

const REFERENCE = z.object({
  idx: z.number().int().nonnegative(),
  dataset: z.string(),
  instruction: z.string(),
  output: z.string(),
  generator: z.string(),
});
const JUDGED = z.object({
  idx: z.number().int().nonnegative(),
  generator: z.string().min(1),
  output: z.string(),
  preference: z.number().finite().min(1).max(2),
  annotator: z.string(),
});

/** A reference output (GPT-4-turbo) for one instruction. */
export type AlpacaReference = z.infer<typeof REFERENCE>;
/** A model output with the judge's preference against the reference (1 = reference better, 2 = model better). */
export type AlpacaJudged = z.infer<typeof JUDGED>;

/** Loads `reference_outputs_*.jsonl`. */
export const loadAlpacaReferences: (path: string) => AlpacaReference[] = jsonLinesLoader(REFERENCE);

/** Loads `judged_<model>.jsonl`. */
export const loadAlpacaJudged: (path: string) => AlpacaJudged[] = jsonLinesLoader(JUDGED);

/** One leaderboard row. */
export interface LeaderboardRow {
  readonly name: string;
  readonly winRate: number;
  readonly lengthControlledWinRate: number;
  readonly averageLength: number;
  /** URL of the model's outputs in the alpaca_eval repository (…/results/<generator>/…), when given. */
  readonly samples: string | null;
}

/** Loads the leaderboard CSV (simple CSV: no quoted commas in the columns we read). */
export function loadAlpacaLeaderboard(path: string): LeaderboardRow[] {
  const lines = readTextFile(path)
    .split("\n")
    .filter((l) => l.trim().length > 0);
  const header = (lines[0] ?? "").split(",");
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0)
      throw new VerinferError("DATASET_MALFORMED", `${basename(path)}: missing column ${name}`, {
        file: path,
        field: name,
      });
    return i;
  };
  const [nameCol, wrCol, lcCol, lenCol] = [
    col("name"),
    col("win_rate"),
    col("length_controlled_winrate"),
    col("avg_length"),
  ];
  const samplesCol = header.indexOf("samples");
  return lines.slice(1).map((line, i) => {
    const cells = line.split(",");
    const num = (c: number, field: string) => {
      const v = Number(cells[c]);
      if (!Number.isFinite(v)) {
        throw new VerinferError(
          "DATASET_MALFORMED",
          `${basename(path)} line ${i + 2}: field ${field} is not a number`,
          {
            file: path,
            line: i + 2,
            field,
          },
        );
      }
      return v;
    };
    return {
      name: cells[nameCol] ?? "",
      winRate: num(wrCol, "win_rate"),
      lengthControlledWinRate: num(lcCol, "length_controlled_winrate"),
      averageLength: num(lenCol, "avg_length"),
      samples: samplesCol >= 0 ? (cells[samplesCol] ?? null) : null,
    };
  });
}
