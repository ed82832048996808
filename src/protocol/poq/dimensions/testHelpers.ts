/** Dimension scorers over token F1, for tests. */
import { tokenF1Scorer } from "../lexicalScorers.ts";
import { createDimensionScorer } from "./dimensionInputs.ts";

/** alignment:token-f1 and agreement:token-f1. */
export function createLexicalDimension() {
  return {
    alignment: createDimensionScorer("alignment", tokenF1Scorer),
    agreement: createDimensionScorer("agreement", tokenF1Scorer),
  };
}
