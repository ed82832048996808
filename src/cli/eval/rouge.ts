import { readTextFile } from "../../data/files.ts";
import { VerinferError } from "../../errors.ts";
import { type RougeScore, type RougeScores, rougeScores } from "../../protocol/poq/metrics/rouge.ts";
import { renderTable } from "../../report/table.ts";
import type { CommandSpec } from "../framework/command.ts";

const VARIANTS = ["rouge1", "rouge2", "rougeL", "rougeLsum"] as const;

function lines(text: string): string[] {
  const out = text.split("\n");
  if (out.length > 0 && out[out.length - 1] === "") out.pop();
  return out.map((l) => l.replace(/\r$/, ""));
}

function mean(scores: readonly RougeScores[]): RougeScores {
  const avg = (v: (typeof VARIANTS)[number]): RougeScore => {
    const n = Math.max(scores.length, 1);
    const sum = (k: keyof RougeScore) => scores.reduce((s, x) => s + x[v][k], 0) / n;
    return { precision: sum("precision"), recall: sum("recall"), fmeasure: sum("fmeasure") };
  };
  return { rouge1: avg("rouge1"), rouge2: avg("rouge2"), rougeL: avg("rougeL"), rougeLsum: avg("rougeLsum") };
}

/** `verinfer eval rouge`: ROUGE-1/2/L/Lsum of line-aligned files, as Google's rouge_score. */
export const rougeCommand: CommandSpec = {
  name: "rouge",
  summary: "ROUGE-1/2/L/Lsum of predictions against references (rouge_score / ROUGE-1.5.5)",
  description:
    "Scores line i of --predictions against line i of --references with ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum,\nexactly as Google's rouge_score. With --whole-file each file is one multi-sentence summary (one sentence per\nline), which is how ROUGE-Lsum is meant to be used.",
  options: {
    references: {
      type: "string",
      value: "FILE",
      required: true,
      description: "reference (target) summaries, one per line",
    },
    predictions: {
      type: "string",
      value: "FILE",
      required: true,
      description: "predicted summaries, one per line",
    },
    stem: { type: "boolean", description: "Porter-stem tokens longer than 3 characters (use_stemmer=True)" },
    "whole-file": {
      type: "boolean",
      description: "treat each file as one summary whose lines are sentences",
    },
  },
  examples: [
    "verinfer eval rouge --references target.txt --predictions prediction.txt --stem --json",
    "verinfer eval rouge --references target_multi.0.txt --predictions prediction_multi.0.txt --whole-file --stem",
  ],
  run(ctx) {
    const referencesText = readTextFile(ctx.string("references") as string);
    const predictionsText = readTextFile(ctx.string("predictions") as string);
    const stem = ctx.flag("stem");
    let pairs: [string, string][];
    if (ctx.flag("whole-file")) pairs = [[referencesText, predictionsText]];
    else {
      const refs = lines(referencesText);
      const preds = lines(predictionsText);
      if (refs.length !== preds.length) {
        throw new VerinferError(
          "INPUT_INVALID",
          `--references has ${refs.length} lines but --predictions has ${preds.length}; files must be line-aligned`,
          { references: refs.length, predictions: preds.length },
        );
      }
      pairs = refs.map((r, i) => [r, preds[i] as string]);
    }
    const perPair = pairs.map(([target, prediction]) => rougeScores(target, prediction, stem));
    const result = {
      mode: ctx.flag("whole-file") ? "whole-file" : "line-aligned",
      stemming: stem,
      pairs: perPair.length,
      mean: mean(perPair),
      per_pair: perPair,
    };
    ctx.output(result, () =>
      renderTable(
        ["metric", "precision", "recall", "fmeasure"],
        VARIANTS.map((v) => [v, result.mean[v].precision, result.mean[v].recall, result.mean[v].fmeasure]),
        {
          digits: 5,
          title: `ROUGE over ${perPair.length} pair(s), ${stem ? "stemmed" : "not stemmed"} (mean of per-pair scores)`,
        },
      ),
    );
    return 0;
  },
};
