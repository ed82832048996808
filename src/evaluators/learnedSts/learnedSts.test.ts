import { describe, expect, it } from "vitest";
import { dataFile, resolveDataDir } from "../../data/dataDir.ts";
import { loadStsB } from "../../data/stsb.ts";
import { pearson, spearman } from "../../protocol/poq/metrics/correlation.ts";
import { itWithData } from "../../testing/sharedData.ts";
import { parseStsModel, serializeStsModel } from "./model.ts";
import { createLearnedStsScorer } from "./scorer.ts";
import { loadStsTrainingData } from "./store.ts";
import { DEFAULT_GBRT_OPTIONS, trainStsModel } from "./train.ts";

const small = { ...DEFAULT_GBRT_OPTIONS, trees: 50 };

describe("learned STS evaluator", () => {
  itWithData(
    "trains deterministically: same seed, same bytes; another seed, another model",
    ["stsbenchmark/sts-train.csv", "stsbenchmark/sts-dev.csv"],
    () => {
      const { train, dev } = loadStsTrainingData(resolveDataDir());
      const a = serializeStsModel(
        trainStsModel(train.pairs.slice(0, 800), dev.pairs.slice(0, 300), 7, small),
      );
      const b = serializeStsModel(
        trainStsModel(train.pairs.slice(0, 800), dev.pairs.slice(0, 300), 7, small),
      );
      const c = serializeStsModel(
        trainStsModel(train.pairs.slice(0, 800), dev.pairs.slice(0, 300), 8, small),
      );
      expect(a).toBe(b);
      expect(a).not.toBe(c);
      const model = parseStsModel(a, "model.json");
      const scorer = createLearnedStsScorer(model);
      const same = scorer.scoreSync({
        query: "",
        output: "A man is playing a guitar.",
        reference: "A man is playing a guitar.",
      });
      const different = scorer.scoreSync({
        query: "",
        output: "Stocks fell sharply in Tokyo.",
        reference: "A man is playing a guitar.",
      });
      expect(same).toBeGreaterThan(different + 3);
      expect(scorer.scoreSync({ query: "", output: "", reference: "x" })).toBeGreaterThanOrEqual(0);
    },
    60_000,
  );

  itWithData(
    "reaches Pearson >= 0.70 on STS-B test with the default settings (trained on train, trees chosen on dev)",
    ["stsbenchmark/sts-train.csv", "stsbenchmark/sts-dev.csv", "stsbenchmark/sts-test.csv"],
    () => {
      const dir = resolveDataDir();
      const { train, dev } = loadStsTrainingData(dir);
      const model = trainStsModel(train.pairs, dev.pairs, 1);
      const test = loadStsB(dataFile(dir, "stsbenchmark/sts-test.csv"));
      const scorer = createLearnedStsScorer(model);
      const predicted = test.map((p) =>
        scorer.scoreSync({ query: "", output: p.sentence2, reference: p.sentence1 }),
      );
      const gold = test.map((p) => p.score);
      expect(pearson(predicted, gold)).toBeGreaterThan(0.7);
      expect(spearman(predicted, gold)).toBeGreaterThan(0.7);
      expect(model.training.dev.pearson).toBeGreaterThan(0.75);
    },
    120_000,
  );

  it("rejects corrupt or foreign model files with EVALUATOR_MODEL_INVALID", () => {
    const code = expect.objectContaining({ code: "EVALUATOR_MODEL_INVALID" });
    expect(() => parseStsModel("not json", "m.json")).toThrow(code);
    expect(() => parseStsModel('{"format": "other"}', "m.json")).toThrow(
      /m\.json is not a verinfer-sts-v1 model: field format/,
    );
    const valid = {
      format: "verinfer-sts-v1",
      features: ["x"],
      idf: { documents: 0, averageLength: 0, df: [] },
      gbrt: { base: 0, learningRate: 0.1, trees: [] },
      training: {
        seed: "0x",
        options: { trees: 0, maxDepth: 0, learningRate: 0, minLeafSize: 0, subsample: 0, bins: 0, lambda: 0 },
        treesKept: 0,
        trainPairs: 0,
        trainSha256: "",
        devSha256: "",
        dev: { pearson: 0, spearman: 0 },
      },
    };
    expect(() => parseStsModel(JSON.stringify(valid), "m.json")).toThrow(/trained with different features/);
  });
});
