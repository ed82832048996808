import { dataFile, resolveDataDir } from "../../data/dataDir.ts";
import { loadSquadDataset, loadSquadPredictions } from "../../data/squad.ts";
import { VerinferError } from "../../errors.ts";
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
    const predictionsPath = ctx.string("predictions") as string;
    const scores = evaluateSquad(loadSquadDataset(datasetPath), loadSquadPredictions(predictionsPath));
    // Scoring a file that answers none of the questions would print EM 0 as if it were a result.
    if (scores.n_predictions > 0 && scores.unknown_ids === scores.n_predictions)
      throw new VerinferError(
        "DATASET_MALFORMED",
        `none of the ${scores.n_predictions} prediction ids in ${predictionsPath} is a question of ${datasetPath} (is it for another dataset or version?)`,
        { predictions: predictionsPath, dataset: datasetPath },
      );
    if (scores.n_predictions === 0)
      throw new VerinferError("DATASET_MALFORMED", `${predictionsPath} has no predictions`, {
        predictions: predictionsPath,
      });
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
