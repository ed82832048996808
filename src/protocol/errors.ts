/**
 * Error codes and the verdict type shared by the whole project (DESIGN.md "Errors").
 *
 * Expected-invalid input is a verdict, not an exception. Every code is declared once here so that
 * codes stay unique across the project; the HTTP edge and the CLI map them in one place.
 */

/** What the caller should do with a failed verdict. */
export type Disposition = "reject" | "ignore";

/** Every error code of the project, with a one-line meaning and the default disposition. */
export const ERROR_CODES = {
  // generic input problems
  INPUT_INVALID: { disposition: "reject", meaning: "a value does not have the required type or range" },
  INPUT_TOO_LARGE: { disposition: "reject", meaning: "an input exceeds a documented size limit" },
  PARAMS_INVALID: { disposition: "reject", meaning: "protocol parameters fail validation" },
  // encoding
  HEX_INVALID: { disposition: "reject", meaning: "a hex string is malformed" },
  EIP712_TYPE_INVALID: { disposition: "reject", meaning: "an EIP-712 type definition is malformed" },
  EIP712_VALUE_INVALID: { disposition: "reject", meaning: "a value does not fit its EIP-712 type" },
  // merkle
  MERKLE_EMPTY: { disposition: "reject", meaning: "a Merkle tree needs at least one leaf" },
  MERKLE_LEAF_INVALID: { disposition: "reject", meaning: "a Merkle leaf is not a 32-byte hash" },
  MERKLE_INDEX_OUT_OF_RANGE: { disposition: "reject", meaning: "a leaf index is outside the tree" },
  // statistics and metrics
  STATS_LENGTH_MISMATCH: { disposition: "reject", meaning: "paired samples have different lengths" },
  STATS_TOO_FEW_POINTS: { disposition: "reject", meaning: "a statistic needs more data points" },
  STATS_NOT_FINITE: { disposition: "reject", meaning: "a sample contains NaN or an infinite value" },
  // proof of quality: commit-reveal
  SCORE_OUT_OF_RANGE: {
    disposition: "reject",
    meaning: "a committed score is not an integer in 0..10000 (score x 1000)",
  },
  COMMIT_MISMATCH: {
    disposition: "reject",
    meaning: "a revealed score and salt do not match the commitment",
  },
  REVEAL_MISSING: { disposition: "reject", meaning: "an evaluator committed but did not reveal" },
  // evaluators
  EVALUATOR_UNKNOWN: { disposition: "reject", meaning: "no evaluator has this name" },
  EVALUATOR_INPUT_INVALID: { disposition: "reject", meaning: "an evaluation input is malformed" },
  EVALUATOR_REFERENCE_REQUIRED: { disposition: "reject", meaning: "the evaluator needs a reference" },
  EVALUATOR_MODEL_INVALID: {
    disposition: "reject",
    meaning: "an evaluator model file or folder is unusable",
  },
  EVALUATOR_BACKEND_FAILED: { disposition: "reject", meaning: "the evaluator's backend failed" },
  TOKENIZER_INVALID: { disposition: "reject", meaning: "a tokenizer.json is malformed or unsupported" },
  JUDGE_REPLY_INVALID: { disposition: "reject", meaning: "the LLM-judge reply has no usable 0-10 score" },
  // upstream HTTP services (OpenAI-compatible endpoints)
  UPSTREAM_CONNECTION_FAILED: { disposition: "reject", meaning: "an upstream endpoint cannot be reached" },
  UPSTREAM_HTTP_ERROR: { disposition: "reject", meaning: "an upstream endpoint answered with an HTTP error" },
  UPSTREAM_TIMEOUT: { disposition: "reject", meaning: "an upstream endpoint did not answer in time" },
  UPSTREAM_REPLY_INVALID: {
    disposition: "reject",
    meaning: "an upstream reply does not follow its protocol",
  },
  // datasets and files
  DATA_DIR_NOT_FOUND: { disposition: "reject", meaning: "the data directory does not exist" },
  FILE_NOT_FOUND: { disposition: "reject", meaning: "a required file does not exist" },
  FILE_NOT_UTF8: { disposition: "reject", meaning: "a text file is not valid UTF-8" },
  FILE_TOO_LARGE: { disposition: "reject", meaning: "a file exceeds the size limit for its kind" },
  DATASET_MALFORMED: { disposition: "reject", meaning: "a dataset file does not match its format" },
  // command line and configuration
  CLI_USAGE: { disposition: "reject", meaning: "the command line is malformed" },
  CONFIG_INVALID: { disposition: "reject", meaning: "a configuration value is invalid" },
} as const satisfies Record<string, { disposition: Disposition; meaning: string }>;

/** A project-wide error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The error half of a verdict. */
export interface VerdictError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly disposition: Disposition;
}

/** Result of validating or verifying anything that can be expected-invalid. */
export type Verdict<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: VerdictError };

/** A successful verdict. */
export function ok<T>(value: T): Verdict<T> {
  return { ok: true, value };
}

/** A failed verdict; the disposition defaults to the code's registered one. */
export function fail<T = never>(
  code: ErrorCode,
  message: string,
  meta: Record<string, unknown> = {},
  disposition: Disposition = ERROR_CODES[code].disposition,
): Verdict<T> {
  return { ok: false, error: { code, message, meta, disposition } };
}

/** Thrown by the `assertX` / `unwrap` variants; carries the verdict error. */
export class VerdictFailure extends Error {
  readonly code: ErrorCode;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly disposition: Disposition;
  constructor(error: VerdictError) {
    super(error.message);
    this.name = "VerdictFailure";
    this.code = error.code;
    this.meta = error.meta;
    this.disposition = error.disposition;
  }
}

/** Returns the value of a successful verdict or throws {@link VerdictFailure}. */
export function unwrap<T>(verdict: Verdict<T>): T {
  if (verdict.ok) return verdict.value;
  throw new VerdictFailure(verdict.error);
}
