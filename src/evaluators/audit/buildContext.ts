/** Builds the evaluator context of a command: IDF corpus, lazily trained STS model, model-backed evaluators. */

import type { ProtocolParams } from "../../protocol/params/params.ts";
import type { LengthRange } from "../../protocol/poq/dimensions/structure.ts";
import type { Evaluator } from "../../protocol/poq/evaluator.ts";
import { fitDocumentFrequencies } from "../../protocol/poq/metrics/tfidf.ts";
import { wordTokens } from "../../protocol/poq/metrics/words.ts";
import type { StsModel } from "../learnedSts/model.ts";
import { obtainStsModel } from "../learnedSts/store.ts";
import type { TrainingProgress } from "../learnedSts/train.ts";
import type { EvaluatorContext } from "../registry.ts";

/** Where the STS model came from (for reports). */
export interface StsModelInfo {
  readonly path: string;
  readonly trainedNow: boolean;
  readonly devPearson: number;
  readonly devSpearman: number;
}

/** Inputs for {@link buildEvaluatorContext}. */
export interface ContextOptions {
  readonly params: ProtocolParams;
  readonly corpusTexts: readonly string[];
  readonly lengthRange?: LengthRange;
  readonly dataDir: () => string;
  readonly stsModelPath?: string | undefined;
  readonly onStsTraining?: TrainingProgress;
  readonly modelBacked?: (name: string) => Promise<Evaluator> | null;
}

/** Builds the context and a getter for what was learned about the STS model. */
export function buildEvaluatorContext(options: ContextOptions): {
  context: EvaluatorContext;
  stsInfo: () => StsModelInfo | null;
} {
  let sts: { model: StsModel; info: StsModelInfo } | null = null;
  const stsModel = () => {
    if (!sts) {
      const obtained = obtainStsModel({
        path: options.stsModelPath,
        dataDir: options.stsModelPath === undefined ? options.dataDir() : "",
        ...(options.onStsTraining ? { onProgress: options.onStsTraining } : {}),
      });
      sts = {
        model: obtained.model,
        info: {
          path: obtained.path,
          trainedNow: obtained.trained,
          devPearson: obtained.model.training.dev.pearson,
          devSpearman: obtained.model.training.dev.spearman,
        },
      };
    }
    return sts.model;
  };
  const context: EvaluatorContext = {
    params: options.params.poq,
    corpus: fitDocumentFrequencies(options.corpusTexts.map(wordTokens)),
    ...(options.lengthRange ? { lengthRange: options.lengthRange } : {}),
    stsModel,
    ...(options.modelBacked ? { modelBacked: options.modelBacked } : {}),
  };
  return { context, stsInfo: () => sts?.info ?? null };
}
