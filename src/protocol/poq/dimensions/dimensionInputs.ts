/**
 * How each quality dimension turns one evaluation into calls of an underlying similarity scorer
 * (multi-dimensional PoQ, PAPERS.md §4). `semantic`: output vs reference. `alignment`: output vs the
 * query (is the output about what was asked?). `agreement`: output vs each peer output for the same
 * query, averaged (do independent nodes agree?). Structure needs no scorer (see structure.ts).
 */
import type { EvaluationInput, EvaluatorInfo, PureScorer } from "../evaluator.ts";

/** The similarity-based dimensions. */
export type SimilarityDimension = "semantic" | "alignment" | "agreement";

/** The inputs to hand the underlying scorer; the dimension score is their mean (0 when empty). */
export function dimensionInputs(dimension: SimilarityDimension, input: EvaluationInput): EvaluationInput[] {
  switch (dimension) {
    case "semantic":
      return [input];
    case "alignment":
      return [{ query: input.query, output: input.output, reference: input.query }];
    case "agreement":
      return (input.peers ?? []).map((peer) => ({
        query: input.query,
        output: input.output,
        reference: peer,
      }));
  }
}

/** Mean of scores, 0 for none. */
export function meanScore(scores: readonly number[]): number {
  return scores.length === 0 ? 0 : scores.reduce((a, b) => a + b, 0) / scores.length;
}

/** Metadata of a dimension built on the evaluator named `base`. */
export function dimensionInfo(dimension: SimilarityDimension, base: string): EvaluatorInfo {
  return {
    name: `${dimension}:${base}`,
    kind: "dimension",
    needsReference: dimension === "semantic",
    needsPeers: dimension === "agreement",
    description: `${dimension} dimension using ${base}`,
  };
}

/** Wraps a pure similarity scorer as a dimension scorer. */
export function createDimensionScorer(dimension: SimilarityDimension, base: PureScorer): PureScorer {
  return {
    info: dimensionInfo(dimension, base.info.name),
    scoreSync(input) {
      return meanScore(dimensionInputs(dimension, input).map((i) => base.scoreSync(i)));
    },
  };
}
