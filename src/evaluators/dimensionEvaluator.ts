/** A quality dimension (semantic / alignment / agreement) over any evaluator, batched. */
import { performance } from "node:perf_hooks";
import {
  dimensionInfo,
  dimensionInputs,
  meanScore,
  type SimilarityDimension,
} from "../protocol/poq/dimensions/dimensionInputs.ts";
import type { EvaluationInput, EvaluationScore, Evaluator } from "../protocol/poq/evaluator.ts";

/** Wraps `base` so that it scores the dimension's derived inputs and averages them. */
export function dimensionEvaluator(dimension: SimilarityDimension, base: Evaluator): Evaluator {
  const scoreBatch = async (inputs: readonly EvaluationInput[]): Promise<EvaluationScore[]> => {
    const derived = inputs.map((input) => dimensionInputs(dimension, input));
    const flat = derived.flat();
    const start = performance.now();
    const scores = flat.length > 0 ? await base.scoreBatch(flat) : [];
    const costMs = (performance.now() - start) / Math.max(inputs.length, 1);
    let k = 0;
    return derived.map((d) => ({
      score: meanScore(d.map(() => (scores[k++] as EvaluationScore).score)),
      costMs,
    }));
  };
  return {
    info: dimensionInfo(dimension, base.info.name),
    scoreBatch,
    score: async (input) => (await scoreBatch([input]))[0] as EvaluationScore,
    close: () => base.close(),
  };
}
