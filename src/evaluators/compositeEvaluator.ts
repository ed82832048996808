/**
 * Several evaluators scored as one, as the multi-dimensional PoQ composite weighs them (PAPERS.md §4):
 * the mean score of each dimension's evaluators, weighted by the protocol's dimension weights
 * renormalized over the dimensions present (`Q = Σ w'_d q_d`), at the sum of their costs. An evaluator
 * node that scores several dimensions of an answer (its structure, and its alignment with the query by
 * a lexical and a learned scorer) commits this one number per receipt, as the PoQ round expects one
 * score per evaluator. Each part is in [0, 10] and the weights sum to 1, so the composite is too.
 */
import {
  compositeScore,
  DIMENSIONS,
  type Dimension,
  type DimensionWeights,
  renormalizeWeights,
} from "../protocol/poq/composite.ts";
import type { EvaluationInput, EvaluationScore, Evaluator } from "../protocol/poq/evaluator.ts";

/** An evaluator and the dimension its score stands for. */
export interface DimensionPart {
  readonly dimension: Dimension;
  readonly evaluator: Evaluator;
}

/** The composite of `parts` under `weights` (one part: itself). */
export function compositeEvaluator(parts: readonly DimensionPart[], weights: DimensionWeights): Evaluator {
  const [only] = parts;
  if (!only) throw new Error("compositeEvaluator needs at least one evaluator");
  if (parts.length === 1) return only.evaluator;
  const present = DIMENSIONS.filter((d) => parts.some((p) => p.dimension === d));
  const w = renormalizeWeights(weights, present);
  if (w === null) throw new Error(`the dimension weights give ${present.join(", ")} no weight`);
  const scoreBatch = async (inputs: readonly EvaluationInput[]): Promise<EvaluationScore[]> => {
    const each = await Promise.all(parts.map((p) => p.evaluator.scoreBatch(inputs)));
    return inputs.map((_, i) => {
      const sum = DIMENSIONS.map(() => 0);
      const count = DIMENSIONS.map(() => 0);
      let costMs = 0;
      parts.forEach((p, k) => {
        const s = each[k]?.[i] as EvaluationScore;
        const d = DIMENSIONS.indexOf(p.dimension);
        sum[d] = (sum[d] as number) + s.score;
        count[d] = (count[d] as number) + 1;
        costMs += s.costMs;
      });
      const means = sum.map((s, d) => (count[d] === 0 ? 0 : s / (count[d] as number)));
      return { score: Math.min(10, Math.max(0, compositeScore(means, w))), costMs };
    });
  };
  const names = parts.map((p) => p.evaluator.info.name);
  const name = names.join("+");
  const described = present.map((d) => `${d} ${(w[d] * 100).toFixed(0)}%`).join(", ");
  return {
    info: {
      name,
      kind: "composite",
      needsReference: parts.some((p) => p.evaluator.info.needsReference),
      needsPeers: parts.some((p) => p.evaluator.info.needsPeers),
      description: `composite of ${names.join(", ")} (${described})`,
    },
    scoreBatch,
    score: async (input) => (await scoreBatch([input]))[0] as EvaluationScore,
    close: () => Promise.all(parts.map((p) => p.evaluator.close())).then(() => {}),
  };
}
