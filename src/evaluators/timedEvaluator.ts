/** Wraps a pure scorer into an {@link Evaluator} that validates input and measures its cost. */
import { performance } from "node:perf_hooks";
import { checked } from "../errors.ts";
import type { PoqScoringParams } from "../protocol/params/params.ts";
import {
  checkedScore,
  type EvaluationInput,
  type EvaluationScore,
  type Evaluator,
  type PureScorer,
  validateEvaluationInput,
} from "../protocol/poq/evaluator.ts";

/** Validates an input for an evaluator, throwing the verdict's error. */
export function assertEvaluationInput(
  input: EvaluationInput,
  evaluator: Pick<Evaluator, "info">,
  params: Pick<PoqScoringParams, "maxTextChars">,
): void {
  checked(validateEvaluationInput(input, evaluator.info, params));
}

/** Checks a raw score, throwing when it is not finite; returns it clamped to [0, 10]. */
export function assertScore(name: string, raw: number): number {
  return checked(checkedScore(name, raw));
}

/** A timed evaluator around a synchronous scorer. */
export function timedEvaluator(
  scorer: PureScorer,
  params: Pick<PoqScoringParams, "maxTextChars">,
): Evaluator {
  const scoreOne = (input: EvaluationInput): EvaluationScore => {
    assertEvaluationInput(input, scorer, params);
    const start = performance.now();
    const raw = scorer.scoreSync(input);
    const costMs = performance.now() - start;
    return { score: assertScore(scorer.info.name, raw), costMs };
  };
  return {
    info: scorer.info,
    score: async (input) => scoreOne(input),
    scoreBatch: async (inputs) => inputs.map(scoreOne),
    close: async () => {},
  };
}
