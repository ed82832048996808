/**
 * Where the trained STS model lives: an explicit `--sts-model FILE`, else a cache file keyed by the
 * training data and options (`$VERINFER_CACHE_DIR` or `~/.cache/verinfer`), trained on first use.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { cacheDir } from "../../config/cacheDir.ts";
import { dataFile } from "../../data/dataDir.ts";
import { readTextFile } from "../../data/files.ts";
import { parseStsB } from "../../data/stsb.ts";
import { loadStsModel, STS_MODEL_FORMAT, type StsModel, saveStsModel } from "./model.ts";
import { DEFAULT_GBRT_OPTIONS, STS_TRAINER_VERSION, type TrainingProgress, trainStsModel } from "./train.ts";

/** The seed the default model is trained with. */
export const DEFAULT_STS_SEED = 1;

/** Loads STS-B train and dev from the data directory. */
export function loadStsTrainingData(dataDir: string) {
  const read = (name: string) => {
    const path = dataFile(dataDir, `stsbenchmark/${name}`);
    const text = readTextFile(path);
    return { pairs: parseStsB(text, path), sha: createHash("sha256").update(text).digest("hex") };
  };
  return { train: read("sts-train.csv"), dev: read("sts-dev.csv") };
}

/** Returns the model at `path`, or the cached default model, training and caching it if needed. */
export function obtainStsModel(options: {
  readonly path?: string | undefined;
  readonly dataDir: string;
  readonly seed?: number;
  readonly onProgress?: TrainingProgress;
}): { model: StsModel; path: string; trained: boolean } {
  if (options.path !== undefined)
    return { model: loadStsModel(options.path), path: options.path, trained: false };
  const seed = options.seed ?? DEFAULT_STS_SEED;
  const data = loadStsTrainingData(options.dataDir);
  const key = createHash("sha256")
    .update(
      JSON.stringify({
        format: STS_MODEL_FORMAT,
        trainer: STS_TRAINER_VERSION,
        seed,
        options: DEFAULT_GBRT_OPTIONS,
        train: data.train.sha,
        dev: data.dev.sha,
      }),
    )
    .digest("hex")
    .slice(0, 16);
  const dir = cacheDir();
  const path = join(dir, `sts-model-${key}.json`);
  if (existsSync(path)) return { model: loadStsModel(path), path, trained: false };
  const model = trainStsModel(
    data.train.pairs,
    data.dev.pairs,
    seed,
    DEFAULT_GBRT_OPTIONS,
    options.onProgress,
  );
  mkdirSync(dir, { recursive: true });
  // Write then rename, so a concurrent run never reads a half-written model.
  const temporary = `${path}.${process.pid}.tmp`;
  saveStsModel(model, temporary);
  renameSync(temporary, path);
  return { model, path, trained: true };
}
