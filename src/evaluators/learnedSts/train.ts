/**
 * Training the learned STS evaluator on STS-B train, with the number of trees chosen on STS-B dev
 * (the benchmark's validation split); the test split is never seen. Deterministic for a seed.
 */
import { createHash } from "node:crypto";
import type { StsPair } from "../../data/stsb.ts";
import { pearson, spearman } from "../../protocol/poq/metrics/correlation.ts";
import { fitDocumentFrequencies } from "../../protocol/poq/metrics/tfidf.ts";
import { deriveSeed, type SeedInput, seedFrom } from "../../protocol/rng/deriveSeed.ts";
import { createRng } from "../../protocol/rng/prng.ts";
import { pairFeatures, prepare } from "./features.ts";
import { baseOf, type GbrtOptions, predictTree, trainGbrt } from "./gbrt.ts";
import type { StsModel } from "./model.ts";

/**
 * Version of the training procedure (features, learner, sampling). Bump it whenever a change would make
 * the same seed train a different model, so cached models are retrained instead of silently reused.
 */
export const STS_TRAINER_VERSION = 2;

/** Our default hyper-parameters (fixed before looking at the test split). */
export const DEFAULT_GBRT_OPTIONS: GbrtOptions = {
  trees: 600,
  maxDepth: 4,
  learningRate: 0.05,
  minLeafSize: 10,
  subsample: 0.8,
  bins: 64,
  lambda: 1,
};

/** Progress callback: phase name and fraction done. */
export type TrainingProgress = (phase: "features" | "trees", done: number, total: number) => void;

function sha256OfPairs(pairs: readonly StsPair[]): string {
  const h = createHash("sha256");
  for (const p of pairs) h.update(`${p.score}\t${p.sentence1}\t${p.sentence2}\n`);
  return h.digest("hex");
}

/** Trains a model; the tree count is the prefix that maximizes dev Pearson (checked every 25 trees). */
export function trainStsModel(
  train: readonly StsPair[],
  dev: readonly StsPair[],
  seed: SeedInput,
  options: GbrtOptions = DEFAULT_GBRT_OPTIONS,
  onProgress?: TrainingProgress,
): StsModel {
  const preparedTrain = train.map((p) => [prepare(p.sentence1), prepare(p.sentence2)] as const);
  const preparedDev = dev.map((p) => [prepare(p.sentence1), prepare(p.sentence2)] as const);
  const corpus = fitDocumentFrequencies(preparedTrain.flatMap(([a, b]) => [a.stems, b.stems]));
  const total = train.length + dev.length;
  let done = 0;
  const features = (pairs: typeof preparedTrain) =>
    pairs.map(([a, b]) => {
      if (++done % 500 === 0) onProgress?.("features", done, total);
      return pairFeatures(a, b, corpus);
    });
  const xTrain = features(preparedTrain);
  const xDev = features(preparedDev);
  const goldDev = dev.map((p) => p.score);
  const targets = Float64Array.from(train, (p) => p.score);
  const devPredictions = new Float64Array(dev.length).fill(baseOf(targets));
  let best = { trees: 0, pearson: Number.NEGATIVE_INFINITY, spearman: 0 };
  const rng = createRng(deriveSeed(seed, "sts", "gbrt"));
  const model = trainGbrt(xTrain, targets, options, rng, (t, tree) => {
    onProgress?.("trees", t + 1, options.trees);
    for (let i = 0; i < dev.length; i++) {
      devPredictions[i] =
        (devPredictions[i] as number) + options.learningRate * predictTree(tree, xDev[i] as Float64Array);
    }
    if ((t + 1) % 25 !== 0 && t + 1 !== options.trees) return;
    const p = pearson(devPredictions, goldDev) ?? Number.NEGATIVE_INFINITY;
    if (p > best.pearson)
      best = { trees: t + 1, pearson: p, spearman: spearman(devPredictions, goldDev) ?? 0 };
  });
  return {
    corpus,
    gbrt: { ...model, trees: model.trees.slice(0, best.trees) },
    training: {
      seed: seedFrom(seed),
      options,
      treesKept: best.trees,
      trainPairs: train.length,
      trainSha256: sha256OfPairs(train),
      devSha256: sha256OfPairs(dev),
      dev: { pearson: best.pearson, spearman: best.spearman },
    },
  };
}
