/** The learned STS evaluator as a pure scorer: predicted similarity (0–5) × 2, best over references. */
import { maxOverReferences, type PureScorer } from "../../protocol/poq/evaluator.ts";
import { memoize } from "../../protocol/poq/memo.ts";
import { pairFeatures, prepare } from "./features.ts";
import { predictGbrt } from "./gbrt.ts";
import type { StsModel } from "./model.ts";

/** Creates the `sts` scorer from a trained model. */
export function createLearnedStsScorer(model: StsModel): PureScorer {
  const prepared = memoize(prepare);
  return {
    info: {
      name: "sts",
      kind: "learned",
      needsReference: true,
      needsPeers: false,
      description: `learned STS regressor (${model.gbrt.trees.length} boosted trees on lexical features, trained by verinfer on STS-B train), x2`,
    },
    scoreSync(input) {
      const out = prepare(input.output);
      return maxOverReferences(
        input,
        (r) => 2 * predictGbrt(model.gbrt, pairFeatures(out, prepared(r), model.corpus)),
      );
    },
  };
}
