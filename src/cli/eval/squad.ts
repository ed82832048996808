import { dataFile, resolveDataDir } from "../../data/dataDir.ts";
import { loadSquadDataset, loadSquadPredictions } from "../../data/squad.ts";
import { evaluateSquad } from "../../protocol/poq/metrics/squad.ts";
import type { CommandSpec } from "../framework/command.ts";
import { DATA_DIR_OPTION } from "../sharedOptions.ts";

/** `verinfer eval squad`: the official SQuAD v1.1 EM/F1 of a predictions file. */
export const squadCommand: CommandSpec = {
  name: "squad",
  summary: "score a SQuAD v1.1 predictions file (official EM/F1)",
  description:
    "Scores a predictions file ({question_id: answer}) against SQuAD v1.1 dev with the official v1.1 rules.\nMissing predictions score 0; results are percentages, as the official evaluate-v1.1.py prints them.",
  options: {
    predictions: {
      type: "string",
      value: "FILE",
      required: true,
      description: "predictions JSON {question_id: answer}",
    },
    dataset: {
      type: "string",
      value: "FILE",
      description:
        "SQuAD v1.1 dataset JSON (default: squad-v1.1/dev-v1.1.reconstructed.json in the data dir)",
    },
    "data-dir": DATA_DIR_OPTION,
  },
  examples: [
    "verinfer eval squad --predictions ../shared/data/squad-v1.1/predictions/bert-ensemble.json --json",
  ],
  run(ctx) {
    const datasetPath =
      ctx.string("dataset") ??
      dataFile(resolveDataDir(ctx.string("data-dir")), "squad-v1.1/dev-v1.1.reconstructed.json");
    const scores = evaluateSquad(
      loadSquadDataset(datasetPath),
      loadSquadPredictions(ctx.string("predictions") as string),
    );
    ctx.output(scores, () =>
      [
        `exact_match  ${scores.exact_match.toFixed(4)}`,
        `f1           ${scores.f1.toFixed(4)}`,
        `${scores.n_questions} questions, ${scores.n_predictions} predictions, ${scores.missing} missing (scored 0), ${scores.unknown_ids} unknown ids ignored`,
      ].join("\n"),
    );
    return 0;
  },
};
