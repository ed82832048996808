import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { cacheDir } from "../../config/cacheDir.ts";
import { dataFile, resolveDataDir } from "../../data/dataDir.ts";
import { loadStsB } from "../../data/stsb.ts";
import { PAPER_ANCHORS } from "../../evaluators/audit/anchors.ts";
import { saveStsModel } from "../../evaluators/learnedSts/model.ts";
import { createLearnedStsScorer } from "../../evaluators/learnedSts/scorer.ts";
import { loadStsTrainingData } from "../../evaluators/learnedSts/store.ts";
import { DEFAULT_GBRT_OPTIONS, trainStsModel } from "../../evaluators/learnedSts/train.ts";
import { pearson, spearman } from "../../protocol/poq/metrics/correlation.ts";
import { renderTable } from "../../report/table.ts";
import type { CommandSpec } from "../framework/command.ts";
import { DATA_DIR_OPTION, SEED_OPTION } from "../sharedOptions.ts";

/** `verinfer evaluators train-sts`: trains the learned STS evaluator and reports it on STS-B test. */
export const trainStsCommand: CommandSpec = {
  name: "train-sts",
  summary: "train the learned STS evaluator on STS-B train (tree count chosen on dev), report test",
  description:
    "Trains verinfer's STS evaluator: gradient-boosted trees over lexical similarity features, fitted on STS-B train,\nwith the number of trees chosen on STS-B dev. Deterministic for a seed. Reports Pearson and Spearman on the\nheld-out STS-B test split next to published sentence-encoder results.",
  options: {
    out: {
      type: "string",
      value: "FILE",
      description: "where to write the model (default: a file in the cache directory)",
    },
    "data-dir": DATA_DIR_OPTION,
    seed: SEED_OPTION,
  },
  examples: ["verinfer evaluators train-sts --out sts-model.json"],
  run(ctx) {
    const dataDir = resolveDataDir(ctx.string("data-dir"));
    const seed = ctx.number("seed") as number;
    const data = loadStsTrainingData(dataDir);
    const test = loadStsB(dataFile(dataDir, "stsbenchmark/sts-test.csv"));
    const features = ctx.progress("features", data.train.pairs.length + data.dev.pairs.length);
    let trees: ReturnType<typeof ctx.progress> | null = null;
    const start = performance.now();
    const model = trainStsModel(
      data.train.pairs,
      data.dev.pairs,
      seed,
      DEFAULT_GBRT_OPTIONS,
      (phase, done, total) => {
        if (phase === "features") features.update(done);
        else {
          if (!trees) {
            features.done();
            trees = ctx.progress("trees", total);
          }
          trees.update(done);
        }
      },
    );
    (trees as ReturnType<typeof ctx.progress> | null)?.done();
    const trainSeconds = (performance.now() - start) / 1000;
    let out = ctx.string("out");
    if (out === undefined) {
      mkdirSync(cacheDir(), { recursive: true });
      out = join(cacheDir(), `sts-model-seed${seed}.json`);
    }
    saveStsModel(model, out);
    const scorer = createLearnedStsScorer(model);
    const predictions = test.map((p) =>
      scorer.scoreSync({ query: "", output: p.sentence2, reference: p.sentence1 }),
    );
    const gold = test.map((p) => p.score);
    const result = {
      model: out,
      seed,
      trainSeconds,
      treesKept: model.training.treesKept,
      trainPairs: data.train.pairs.length,
      dev: model.training.dev,
      test: {
        pairs: test.length,
        pearson: pearson(predictions, gold),
        spearman: spearman(predictions, gold),
      },
      anchors: PAPER_ANCHORS.sts.map((a) => ({ model: a.claim, value: a.statement, source: a.source })),
    };
    ctx.output(result, () =>
      [
        `trained in ${trainSeconds.toFixed(1)} s on ${result.trainPairs} pairs; kept ${result.treesKept} trees (best dev Pearson); wrote ${out}`,
        "",
        renderTable(
          ["model", "split", "pearson", "spearman"],
          [
            ["verinfer sts (this run)", "dev", result.dev.pearson, result.dev.spearman],
            ["verinfer sts (this run)", "test", result.test.pearson, result.test.spearman],
            ...PAPER_ANCHORS.sts.map((a) => [a.claim, "test", null, a.statement] as const),
          ],
          { title: "STS-B" },
        ),
      ].join("\n"),
    );
    return 0;
  },
};
