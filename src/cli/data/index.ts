import { statSync } from "node:fs";
import { loadAlpacaJudged, loadAlpacaReferences } from "../../data/alpacaEval.ts";
import { dataFile, resolveDataDir } from "../../data/dataDir.ts";
import { loadJudgePrompts, loadMtBenchQuestions } from "../../data/mtBench.ts";
import { loadSquadDataset } from "../../data/squad.ts";
import { loadStsB } from "../../data/stsb.ts";
import { loadSummEval } from "../../data/summeval.ts";
import { isVerinferError } from "../../errors.ts";
import { renderTable } from "../../report/table.ts";
import type { CommandSpec, GroupSpec } from "../framework/command.ts";
import { DATA_DIR_OPTION } from "../sharedOptions.ts";

const CHECKS: readonly {
  dataset: string;
  file: string;
  load: (path: string) => { length: number };
  unit: string;
}[] = [
  {
    dataset: "SQuAD v1.1 dev",
    file: "squad-v1.1/dev-v1.1.reconstructed.json",
    load: loadSquadDataset,
    unit: "questions",
  },
  { dataset: "SummEval", file: "summeval/summeval_expert.jsonl", load: loadSummEval, unit: "documents" },
  { dataset: "STS-B train", file: "stsbenchmark/sts-train.csv", load: loadStsB, unit: "pairs" },
  { dataset: "STS-B dev", file: "stsbenchmark/sts-dev.csv", load: loadStsB, unit: "pairs" },
  { dataset: "STS-B test", file: "stsbenchmark/sts-test.csv", load: loadStsB, unit: "pairs" },
  {
    dataset: "AlpacaEval references",
    file: "alpaca-eval/reference_outputs_gpt4_1106_preview.jsonl",
    load: loadAlpacaReferences,
    unit: "outputs",
  },
  {
    dataset: "AlpacaEval gemma-2b-it",
    file: "alpaca-eval/judged_gemma-2b-it.jsonl",
    load: loadAlpacaJudged,
    unit: "outputs",
  },
  {
    dataset: "AlpacaEval Llama-3.2-1B",
    file: "alpaca-eval/judged_FuseChat-Llama-3.2-1B-Instruct.jsonl",
    load: loadAlpacaJudged,
    unit: "outputs",
  },
  {
    dataset: "AlpacaEval Llama-3.2-3B",
    file: "alpaca-eval/judged_FuseChat-Llama-3.2-3B-Instruct.jsonl",
    load: loadAlpacaJudged,
    unit: "outputs",
  },
  {
    dataset: "MT-Bench questions",
    file: "mt-bench/question.jsonl",
    load: loadMtBenchQuestions,
    unit: "questions",
  },
  {
    dataset: "MT-Bench judge prompts",
    file: "mt-bench/judge_prompts.jsonl",
    load: loadJudgePrompts,
    unit: "templates",
  },
];

const checkCommand: CommandSpec = {
  name: "check",
  summary: "validate every dataset verinfer uses and count its records",
  options: { "data-dir": DATA_DIR_OPTION },
  run(ctx) {
    const dir = resolveDataDir(ctx.string("data-dir"));
    const rows = CHECKS.map((c) => {
      try {
        const path = dataFile(dir, c.file);
        const records = c.load(path).length;
        return {
          dataset: c.dataset,
          file: c.file,
          ok: true,
          records,
          unit: c.unit,
          bytes: statSync(path).size,
          error: null,
        };
      } catch (error) {
        if (!isVerinferError(error)) throw error;
        return {
          dataset: c.dataset,
          file: c.file,
          ok: false,
          records: 0,
          unit: c.unit,
          bytes: 0,
          error: `[${error.code}] ${error.message}`,
        };
      }
    });
    const failed = rows.filter((r) => !r.ok).length;
    ctx.output({ dataDir: dir, datasets: rows, failed }, () =>
      [
        renderTable(
          ["dataset", "status", "records", "file"],
          rows.map((r) => [r.dataset, r.ok ? "ok" : "FAILED", r.ok ? `${r.records} ${r.unit}` : "–", r.file]),
          { title: `data directory: ${dir}` },
        ),
        ...rows.filter((r) => r.error).map((r) => `${r.dataset}: ${r.error}`),
      ].join("\n"),
    );
    return failed === 0 ? 0 : 1;
  },
};

/** `verinfer data ...`. */
export const dataGroup: GroupSpec = {
  name: "data",
  summary: "check the datasets in the data directory (see docs/datasets.md for where to get them)",
  commands: [checkCommand],
};
