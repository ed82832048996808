/**
 * Several evaluators scored as one: the mean of their scores (each in [0, 10], so the mean is too) at
 * the sum of their costs. An evaluator node that scores several dimensions of an answer (its structure,
 * and its alignment with the query by a lexical and a learned scorer) commits this one number per
 * receipt, as the PoQ round expects one score per evaluator.
 */
import type { EvaluationInput, EvaluationScore, Evaluator } from "../protocol/poq/evaluator.ts";

/** The mean of `parts` (one part: itself). */
export function meanEvaluator(parts: readonly Evaluator[]): Evaluator {
  const [only] = parts;
  if (!only) throw new Error("meanEvaluator needs at least one evaluator");
  if (parts.length === 1) return only;
  const scoreBatch = async (inputs: readonly EvaluationInput[]): Promise<EvaluationScore[]> => {
    const each = await Promise.all(parts.map((p) => p.scoreBatch(inputs)));
    return inputs.map((_, i) => {
      let score = 0;
      let costMs = 0;
      for (const scores of each) {
        const s = scores[i] as EvaluationScore;
        score += s.score;
        costMs += s.costMs;
      }
      return { score: score / parts.length, costMs };
    });
  };
  const names = parts.map((p) => p.info.name);
  return {
    info: {
      name: names.join(","),
      kind: "dimension",
      needsReference: parts.some((p) => p.info.needsReference),
      needsPeers: parts.some((p) => p.info.needsPeers),
      description: `mean of ${names.join(", ")}`,
    },
    scoreBatch,
    score: async (input) => (await scoreBatch([input]))[0] as EvaluationScore,
    close: () => Promise.all(parts.map((p) => p.close())).then(() => {}),
  };
}
