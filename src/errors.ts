/**
 * Shell errors: thrown by IO code (files, datasets, CLI, HTTP, model backends). Each carries a
 * project-wide code from `protocol/errors.ts`, a short message and details; the CLI prints them as
 * one line and the HTTP edge maps them to status codes.
 */
import type { ErrorCode, Verdict, VerdictError } from "./protocol/errors.ts";

/** An expected failure with a code, a one-line message and structured details. */
export class VerinferError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;
  constructor(
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "VerinferError";
    this.code = code;
    this.details = details;
  }

  /** Lifts a failed verdict into a thrown error. */
  static fromVerdict(error: VerdictError): VerinferError {
    return new VerinferError(error.code, error.message, { ...error.meta });
  }
}

/** The value of a successful verdict; a failed one is thrown as a {@link VerinferError} (shell code only). */
export function checked<T>(verdict: Verdict<T>): T {
  if (!verdict.ok) throw VerinferError.fromVerdict(verdict.error);
  return verdict.value;
}

/** True for errors that carry a project error code. */
export function isVerinferError(error: unknown): error is VerinferError {
  return error instanceof VerinferError;
}
