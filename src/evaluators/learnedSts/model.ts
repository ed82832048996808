/**
 * The learned STS model file: JSON with the feature list, the IDF table fitted on the training
 * sentences, the boosted trees and how the model was trained (seed, options, data hashes, dev scores).
 * Nothing time-dependent is stored, so training twice with the same seed writes identical bytes.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { VerinferError } from "../../errors.ts";
import type { DocumentFrequencies } from "../../protocol/poq/metrics/tfidf.ts";
import { FEATURE_NAMES } from "./features.ts";
import type { GbrtModel, GbrtOptions, TreeNode } from "./gbrt.ts";

/** Format tag of the model file. */
export const STS_MODEL_FORMAT = "verinfer-sts-v1";

/** Training provenance stored in the model. */
export interface StsTrainingRecord {
  readonly seed: string;
  readonly options: GbrtOptions;
  readonly treesKept: number;
  readonly trainPairs: number;
  readonly trainSha256: string;
  readonly devSha256: string;
  readonly dev: { readonly pearson: number; readonly spearman: number };
}

/** A loaded model. */
export interface StsModel {
  readonly corpus: DocumentFrequencies;
  readonly gbrt: GbrtModel;
  readonly training: StsTrainingRecord;
}

const FILE = z.object({
  format: z.literal(STS_MODEL_FORMAT),
  features: z.array(z.string()),
  idf: z.object({
    documents: z.number().int().nonnegative(),
    averageLength: z.number().nonnegative(),
    df: z.array(z.tuple([z.string(), z.number().int().positive()])),
  }),
  gbrt: z.object({
    base: z.number(),
    learningRate: z.number().positive(),
    trees: z.array(
      z.array(z.tuple([z.number().int(), z.number(), z.number().int(), z.number().int(), z.number()])),
    ),
  }),
  training: z.object({
    seed: z.string(),
    options: z.object({
      trees: z.number(),
      maxDepth: z.number(),
      learningRate: z.number(),
      minLeafSize: z.number(),
      subsample: z.number(),
      bins: z.number(),
      lambda: z.number(),
    }),
    treesKept: z.number().int(),
    trainPairs: z.number().int(),
    trainSha256: z.string(),
    devSha256: z.string(),
    dev: z.object({ pearson: z.number(), spearman: z.number() }),
  }),
});

/** Serializes a model to its JSON text. */
export function serializeStsModel(model: StsModel): string {
  const file: z.infer<typeof FILE> = {
    format: STS_MODEL_FORMAT,
    features: [...FEATURE_NAMES],
    idf: {
      documents: model.corpus.documents,
      averageLength: model.corpus.averageLength,
      df: [...model.corpus.df.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
    },
    gbrt: {
      base: model.gbrt.base,
      learningRate: model.gbrt.learningRate,
      trees: model.gbrt.trees.map((t) =>
        t.map((n) => [n.feature, n.threshold, n.left, n.right, n.value] as const),
      ),
    },
    training: model.training,
  };
  return `${JSON.stringify(file)}\n`;
}

/** Parses model JSON text; any problem is EVALUATOR_MODEL_INVALID naming the file. */
export function parseStsModel(text: string, source: string): StsModel {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new VerinferError("EVALUATOR_MODEL_INVALID", `${source} is not a JSON STS model file`, {
      file: source,
    });
  }
  const parsed = FILE.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VerinferError(
      "EVALUATOR_MODEL_INVALID",
      `${source} is not a ${STS_MODEL_FORMAT} model: field ${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
      { file: source },
    );
  }
  const file = parsed.data;
  if (file.features.join(",") !== FEATURE_NAMES.join(",")) {
    throw new VerinferError(
      "EVALUATOR_MODEL_INVALID",
      `${source} was trained with different features; retrain it with 'verinfer evaluators train-sts'`,
      { file: source },
    );
  }
  const trees: TreeNode[][] = file.gbrt.trees.map((t) =>
    t.map(([feature, threshold, left, right, value]) => ({ feature, threshold, left, right, value })),
  );
  for (const [ti, tree] of trees.entries()) {
    for (const node of tree) {
      const badChild =
        node.feature >= 0 &&
        (node.left >= tree.length || node.right >= tree.length || node.left < 0 || node.right < 0);
      if (node.feature >= FEATURE_NAMES.length || badChild) {
        throw new VerinferError("EVALUATOR_MODEL_INVALID", `${source}: tree ${ti} has an invalid node`, {
          file: source,
          tree: ti,
        });
      }
    }
  }
  return {
    corpus: {
      documents: file.idf.documents,
      averageLength: file.idf.averageLength,
      df: new Map(file.idf.df),
    },
    gbrt: { base: file.gbrt.base, learningRate: file.gbrt.learningRate, trees },
    training: file.training,
  };
}

/** Reads a model file. */
export function loadStsModel(path: string): StsModel {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new VerinferError("FILE_NOT_FOUND", `STS model file not found: ${path}`, { file: path });
  }
  return parseStsModel(text, path);
}

/** Writes a model file. */
export function saveStsModel(model: StsModel, path: string): void {
  writeFileSync(path, serializeStsModel(model));
}
