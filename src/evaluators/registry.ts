/**
 * Evaluators by name. Lexical and learned scorers are pure; structure is rule-based; `semantic:X`,
 * `alignment:X` and `agreement:X` are quality dimensions built on any pure similarity scorer X;
 * `bi-encoder`, `cross-encoder` and `llm-judge` are model-backed and need a model folder or endpoint.
 */
import { VerinferError } from "../errors.ts";
import type { PoqScoringParams } from "../protocol/params/params.ts";
import { DEFAULT_DIMENSION_WEIGHTS, type Dimension } from "../protocol/poq/composite.ts";
import {
  createDimensionScorer,
  type SimilarityDimension,
} from "../protocol/poq/dimensions/dimensionInputs.ts";
import { assessStructure, type LengthRange, TASK_LENGTHS } from "../protocol/poq/dimensions/structure.ts";
import type { Evaluator, PureScorer } from "../protocol/poq/evaluator.ts";
import {
  chrfScorer,
  createBm25Scorer,
  createTfidfScorer,
  rougeLScorer,
  tokenF1Scorer,
} from "../protocol/poq/lexicalScorers.ts";
import type { DocumentFrequencies } from "../protocol/poq/metrics/tfidf.ts";
import { compositeEvaluator } from "./compositeEvaluator.ts";
import { dimensionEvaluator } from "./dimensionEvaluator.ts";
import type { StsModel } from "./learnedSts/model.ts";
import { createLearnedStsScorer } from "./learnedSts/scorer.ts";
import { timedEvaluator } from "./timedEvaluator.ts";

/** What evaluator factories may need; each piece is loaded lazily by the caller on demand. */
export interface EvaluatorContext {
  readonly params: Pick<PoqScoringParams, "maxTextChars">;
  /** IDF statistics for tfidf / bm25 (fitted on the task's texts). */
  readonly corpus?: DocumentFrequencies;
  /** Expected output length for the structure dimension. */
  readonly lengthRange?: LengthRange;
  /** Supplies the trained STS model (trains it on first use when needed). */
  readonly stsModel?: () => StsModel;
  /** Builds model-backed evaluators (ONNX, LLM judge); absent when none is configured. */
  readonly modelBacked?: (name: string) => Promise<Evaluator> | null;
}

/** Description of a registered evaluator name. */
export interface RegisteredEvaluator {
  readonly name: string;
  readonly kind: string;
  readonly needs: string;
  readonly description: string;
}

/** Every evaluator name the CLI accepts (dimension forms take any pure similarity scorer after the colon). */
export const REGISTERED: readonly RegisteredEvaluator[] = [
  { name: "token-f1", kind: "lexical", needs: "reference", description: "SQuAD token F1, x10" },
  {
    name: "rouge-l",
    kind: "lexical",
    needs: "reference",
    description: "ROUGE-L F-measure with stemming, x10",
  },
  { name: "chrf", kind: "lexical", needs: "reference", description: "chrF (char 1-6 grams, beta 2), /10" },
  {
    name: "tfidf",
    kind: "lexical",
    needs: "reference",
    description: "TF-IDF cosine, IDF fitted on the task's texts, x10",
  },
  {
    name: "bm25",
    kind: "lexical",
    needs: "reference",
    description: "Okapi BM25 normalized by the reference's self-score, x10",
  },
  {
    name: "sts",
    kind: "learned",
    needs: "reference",
    description: "learned STS regressor trained on STS-B train, x2",
  },
  {
    name: "structure",
    kind: "dimension",
    needs: "-",
    description: "rule-based structure quality (empty, truncated, repetitive, length, format)",
  },
  {
    name: "semantic:X",
    kind: "dimension",
    needs: "reference",
    description: "semantic dimension: scorer X of output vs reference",
  },
  {
    name: "alignment:X",
    kind: "dimension",
    needs: "-",
    description: "query-output alignment: scorer X of output vs query",
  },
  {
    name: "agreement:X",
    kind: "dimension",
    needs: "peers",
    description: "agreement: mean of scorer X of output vs other nodes' outputs",
  },
  {
    name: "bi-encoder",
    kind: "bi-encoder",
    needs: "reference, --bi-encoder DIR",
    description: "ONNX sentence embedding cosine, x10",
  },
  {
    name: "cross-encoder",
    kind: "cross-encoder",
    needs: "reference, --cross-encoder DIR",
    description: "ONNX cross-encoder relevance, sigmoid x10",
  },
  {
    name: "llm-judge",
    kind: "llm-judge",
    needs: "--judge-url, --judge-model",
    description: "OpenAI-compatible LLM judge with verinfer's 0-10 rubric",
  },
  {
    name: "A+B+...",
    kind: "composite",
    needs: "what its parts need",
    description:
      "one score: each dimension's mean under the protocol's dimension weights (an evaluator node's)",
  },
];

function pureScorer(name: string, context: EvaluatorContext): PureScorer | null {
  switch (name) {
    case "token-f1":
      return tokenF1Scorer;
    case "rouge-l":
      return rougeLScorer;
    case "chrf":
      return chrfScorer;
    case "tfidf":
      return createTfidfScorer(context.corpus);
    case "bm25":
      return createBm25Scorer(context.corpus);
    case "sts": {
      if (!context.stsModel)
        throw new VerinferError("EVALUATOR_MODEL_INVALID", "the sts evaluator needs a trained STS model");
      return createLearnedStsScorer(context.stsModel());
    }
    case "structure": {
      const range = context.lengthRange ?? (TASK_LENGTHS.chat as LengthRange);
      return {
        info: {
          name: "structure",
          kind: "dimension",
          needsReference: false,
          needsPeers: false,
          description: `rule-based structure quality (${range.minWords}-${range.maxWords} words expected)`,
        },
        scoreSync: (input) => assessStructure(input.output, range).score,
      };
    }
  }
  const dimension = DIMENSION.exec(name);
  if (dimension) {
    const base = pureScorer(dimension[2] as string, context);
    if (base === null) return null;
    return createDimensionScorer(dimension[1] as SimilarityDimension, base);
  }
  return null;
}

const DIMENSION = /^(semantic|alignment|agreement):(.+)$/;

/**
 * The composite's dimension (PAPERS.md §4) an evaluator's score stands for: `structure`; the dimension
 * named before the colon; the LLM judge, which grades the answer to its query without a reference, for
 * alignment; any other scorer compares the output with a reference, which is the semantic dimension.
 */
export function dimensionOf(name: string): Dimension {
  if (name === "structure") return "structure";
  if (name === "llm-judge") return "alignment";
  return (DIMENSION.exec(name)?.[1] as SimilarityDimension | undefined) ?? "semantic";
}

/** Builds an evaluator by name, or throws EVALUATOR_UNKNOWN listing the valid names. */
export async function createEvaluator(name: string, context: EvaluatorContext): Promise<Evaluator> {
  if (name.includes("+")) {
    const names = name.split("+");
    if (names.some((n) => n.length === 0))
      throw new VerinferError("CLI_USAGE", `composite evaluator "${name}" has an empty part`);
    return composeEvaluators(names, await Promise.all(names.map((n) => createEvaluator(n, context))));
  }
  const scorer = pureScorer(name, context);
  if (scorer) return timedEvaluator(scorer, context.params);
  const dimension = DIMENSION.exec(name);
  if (dimension)
    return dimensionEvaluator(
      dimension[1] as SimilarityDimension,
      await createEvaluator(dimension[2] as string, context),
    );
  const backed = context.modelBacked?.(name);
  if (backed) return backed;
  const known = REGISTERED.map((r) => r.name).join(", ");
  if (["bi-encoder", "cross-encoder", "llm-judge"].includes(name)) {
    throw new VerinferError(
      "EVALUATOR_MODEL_INVALID",
      `evaluator ${name} needs ${REGISTERED.find((r) => r.name === name)?.needs}`,
      {
        evaluator: name,
      },
    );
  }
  throw new VerinferError("EVALUATOR_UNKNOWN", `unknown evaluator "${name}"; known: ${known}`, {
    evaluator: name,
  });
}

/**
 * Evaluators `parts` (built from `names`) scored as one, as an evaluator node commits them: each
 * dimension's mean under the protocol's default dimension weights (`a+b+c` by name).
 */
export function composeEvaluators(names: readonly string[], parts: readonly Evaluator[]): Evaluator {
  return compositeEvaluator(
    parts.map((evaluator, i) => ({ dimension: dimensionOf(names[i] as string), evaluator })),
    DEFAULT_DIMENSION_WEIGHTS,
  );
}

/** Parses a comma-separated evaluator list, rejecting empty names and duplicates. */
export function parseEvaluatorList(spec: string): string[] {
  const names = spec.split(",").map((s) => s.trim());
  if (names.some((n) => n.length === 0)) {
    throw new VerinferError("CLI_USAGE", `evaluator list "${spec}" has an empty name`);
  }
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new VerinferError("CLI_USAGE", `evaluator ${duplicate} is listed twice`);
  return names;
}
