/**
 * The evaluator interface of Proof of Quality. An evaluator maps `{ query, output, reference? }` to a
 * score in [0, 10] plus the compute cost of producing it (the cost-aware PoQ reward needs both).
 * Pure scorers (lexical, learned) implement {@link PureScorer}; the shell wraps them into timed
 * {@link Evaluator}s, and model-backed evaluators (ONNX, LLM judge) implement {@link Evaluator} directly.
 */
import { fail, ok, type Verdict } from "../errors.ts";
import type { PoqScoringParams } from "../params/params.ts";

/** What an evaluator scores. `reference` may hold several references (the score is the best match). */
export interface EvaluationInput {
  readonly query: string;
  readonly output: string;
  readonly reference?: string | readonly string[];
  /** Other nodes' outputs for the same query (used by the agreement dimension). */
  readonly peers?: readonly string[];
}

/** Families of evaluators. */
export type EvaluatorKind =
  | "lexical"
  | "learned"
  | "bi-encoder"
  | "cross-encoder"
  | "llm-judge"
  | "dimension"
  | "composite";

/** Static description of an evaluator. */
export interface EvaluatorInfo {
  readonly name: string;
  readonly kind: EvaluatorKind;
  readonly needsReference: boolean;
  readonly needsPeers: boolean;
  readonly description: string;
}

/** A score in [0, 10] and what it cost to compute. */
export interface EvaluationScore {
  readonly score: number;
  readonly costMs: number;
}

/** An evaluator node's scoring function. */
export interface Evaluator {
  readonly info: EvaluatorInfo;
  score(input: EvaluationInput): Promise<EvaluationScore>;
  /** Scores many inputs; implementations may batch (cost is then split evenly). */
  scoreBatch(inputs: readonly EvaluationInput[]): Promise<EvaluationScore[]>;
  /** Releases model sessions or connections. */
  close(): Promise<void>;
}

/** A deterministic, synchronous scorer; `scoreSync` returns a value in [0, 10]. */
export interface PureScorer {
  readonly info: EvaluatorInfo;
  scoreSync(input: EvaluationInput): number;
}

/** The references of an input as a list (empty when there are none). */
export function referencesOf(input: EvaluationInput): readonly string[] {
  const r = input.reference;
  if (r === undefined) return [];
  return typeof r === "string" ? [r] : r;
}

/** Best score over the references (0 when there are none). */
export function maxOverReferences(input: EvaluationInput, score: (reference: string) => number): number {
  let best = 0;
  for (const reference of referencesOf(input)) best = Math.max(best, score(reference));
  return best;
}

function textProblem(value: unknown, field: string, maxChars: number): string | null {
  if (typeof value !== "string") return `${field} must be a string`;
  if (value.length > maxChars)
    return `${field} has ${value.length} characters, more than the limit of ${maxChars}`;
  return null;
}

/** Checks an input against an evaluator's needs and the size limit; every problem is reported. */
export function validateEvaluationInput(
  input: EvaluationInput,
  info: EvaluatorInfo,
  params: Pick<PoqScoringParams, "maxTextChars">,
): Verdict<EvaluationInput> {
  if (typeof input !== "object" || input === null) {
    return fail("EVALUATOR_INPUT_INVALID", "evaluation input must be an object with query and output");
  }
  const problems: string[] = [];
  const limit = params.maxTextChars;
  for (const field of ["query", "output"] as const) {
    const p = textProblem(input[field], field, limit);
    if (p) problems.push(p);
  }
  const refs = input.reference;
  if (refs !== undefined && typeof refs !== "string" && !Array.isArray(refs)) {
    problems.push("reference must be a string or an array of strings");
  } else {
    referencesOf(input).forEach((r, i) => {
      const p = textProblem(r, `reference[${i}]`, limit);
      if (p) problems.push(p);
    });
  }
  if (input.peers !== undefined) {
    if (!Array.isArray(input.peers)) problems.push("peers must be an array of strings");
    else
      input.peers.forEach((peer, i) => {
        const p = textProblem(peer, `peers[${i}]`, limit);
        if (p) problems.push(p);
      });
  }
  const tooLarge = problems.some((p) => p.includes("more than the limit"));
  if (problems.length > 0) {
    return fail(
      tooLarge ? "INPUT_TOO_LARGE" : "EVALUATOR_INPUT_INVALID",
      `${info.name}: ${problems.join("; ")}`,
      {
        evaluator: info.name,
        problems,
      },
    );
  }
  if (info.needsReference && referencesOf(input).length === 0) {
    return fail("EVALUATOR_REFERENCE_REQUIRED", `${info.name} needs a reference to score against`, {
      evaluator: info.name,
    });
  }
  return ok(input);
}

/** Clamps a raw score to [0, 10]; non-finite scores are a bug in the scorer and are reported as such. */
export function checkedScore(name: string, raw: number): Verdict<number> {
  if (!Number.isFinite(raw)) {
    return fail("EVALUATOR_BACKEND_FAILED", `${name} produced a non-finite score (${raw})`, {
      evaluator: name,
    });
  }
  return ok(Math.max(0, Math.min(10, raw)));
}
