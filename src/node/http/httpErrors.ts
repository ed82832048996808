/**
 * The one place where errors become HTTP replies (DESIGN.md "Errors"): a status per error code and
 * the body `{ error: { code, message, meta, type } }`, which is also the shape OpenAI clients read.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import { isVerinferError, VerinferError } from "../../errors.ts";
import type { ErrorCode } from "../../protocol/errors.ts";

const STATUS: Partial<Record<ErrorCode, number>> = {
  API_REQUEST_INVALID: 400,
  GENERATION_INVALID: 400,
  INPUT_INVALID: 400,
  INPUT_TOO_LARGE: 413,
  API_UNAUTHORIZED: 401,
  API_ROUTE_UNKNOWN: 404,
  MODEL_NOT_SERVED: 404,
  API_BUSY: 503,
  API_RATE_LIMITED: 429,
  NODE_AUTH_INVALID: 401,
  RECEIPT_NOT_FOUND: 404,
  EPOCH_NOT_SETTLED: 404,
  WORKER_UNAVAILABLE: 503,
  STORE_UNAVAILABLE: 503,
  WORKER_FAILED: 502,
  WORKER_RECEIPT_INVALID: 502,
  WORKER_REQUEST_REPLAYED: 409,
  RECEIPT_REPLAYED: 409,
  // nginx's "client closed request": only ever written to a connection that is already gone.
  GENERATION_CANCELLED: 499,
  ENGINE_FAILED: 500,
  UPSTREAM_CONNECTION_FAILED: 502,
  UPSTREAM_HTTP_ERROR: 502,
  UPSTREAM_REPLY_INVALID: 502,
  UPSTREAM_STREAM_ERROR: 502,
  UPSTREAM_TIMEOUT: 504,
};

/** An HTTP error reply. */
export interface HttpErrorReply {
  readonly status: number;
  readonly body: {
    readonly error: {
      readonly code: string;
      readonly message: string;
      readonly meta: Readonly<Record<string, unknown>>;
      /** OpenAI's error type, for clients that branch on it. */
      readonly type: string;
    };
  };
}

function typeOf(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 429) return "rate_limit_error";
  if (status === 404) return "not_found_error";
  if (status < 500) return "invalid_request_error";
  return "server_error";
}

/** The reply for a code and message. */
export function httpError(
  code: ErrorCode | "INTERNAL_ERROR",
  message: string,
  meta: Readonly<Record<string, unknown>> = {},
  status: number = (code === "INTERNAL_ERROR" ? undefined : STATUS[code]) ?? 500,
): HttpErrorReply {
  return { status, body: { error: { code, message, meta, type: typeOf(status) } } };
}

/** The reply for anything thrown; unexpected errors become a 500 that names no internals. */
export function httpErrorOf(error: unknown): HttpErrorReply {
  if (isVerinferError(error)) return httpError(error.code, error.message, error.details);
  return httpError("INTERNAL_ERROR", "internal error; see the server log");
}

/** Sends an error reply (503 and 429 say when to retry). */
export function sendHttpError(reply: FastifyReply, error: HttpErrorReply): FastifyReply {
  if (error.status === 503 || error.status === 429) reply.header("retry-after", "1");
  return reply.code(error.status).send(error.body);
}

/**
 * Every verinfer HTTP service's error replies: Fastify's own 4xx (bad JSON, wrong content type, body
 * too large) are request problems with their status kept; verinfer errors get their code's status;
 * anything else is logged and becomes a 500 that names no internals; unknown routes are 404.
 */
export function installErrorReplies(app: FastifyInstance, logError: (error: unknown) => void): void {
  app.setErrorHandler((error, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode;
    if (!(error instanceof VerinferError) && status !== undefined && status >= 400 && status < 500) {
      const code = status === 413 ? "INPUT_TOO_LARGE" : "API_REQUEST_INVALID";
      const message =
        status === 415 ? "the body must be JSON (Content-Type: application/json)" : (error as Error).message;
      return sendHttpError(reply, httpError(code, message, {}, status));
    }
    if (!(error instanceof VerinferError)) logError(error);
    return sendHttpError(reply, httpErrorOf(error));
  });
  app.setNotFoundHandler((request, reply) =>
    sendHttpError(
      reply,
      httpError("API_ROUTE_UNKNOWN", `no route ${request.method} ${request.url.split("?")[0]}`),
    ),
  );
}
