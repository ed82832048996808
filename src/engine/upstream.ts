/**
 * HTTP requests to upstream services (OpenAI-compatible servers, model downloads) with one policy:
 * retries with exponential backoff on connection failures, timeouts and 408/425/429/5xx (honouring
 * Retry-After) until a reply starts, an idle deadline, and coded errors (UPSTREAM_CONNECTION_FAILED,
 * UPSTREAM_HTTP_ERROR, UPSTREAM_TIMEOUT).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { VerinferError } from "../errors.ts";

/** How to reach an upstream service. */
export interface UpstreamSettings {
  readonly apiKey?: string | undefined;
  /** Time to wait for a reply to start (and, where the caller resets the deadline, between chunks). */
  readonly timeoutMs: number;
  readonly maxRetries: number;
  /** First backoff delay; doubles on each retry. */
  readonly retryBaseMs: number;
}

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** A failure worth another attempt (nothing was delivered yet). */
export class RetryableError extends Error {
  constructor(
    readonly failure: VerinferError,
    readonly retryAfterMs: number | null,
  ) {
    super(failure.message);
  }
}

/** An abort signal that fires when `ms` pass without a {@link Deadline.reset}. */
export class Deadline {
  readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  constructor(readonly ms: number) {
    this.reset();
  }
  reset(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.controller.abort(), this.ms);
  }
  clear(): void {
    clearTimeout(this.timer);
  }
  get expired(): boolean {
    return this.controller.signal.aborted;
  }
}

/** Runs `attempt` until it succeeds, fails for good, or the retries are spent. */
export async function withRetries<T>(
  endpoint: UpstreamSettings,
  attempt: (n: number) => Promise<T>,
): Promise<T> {
  for (let tryIndex = 0; ; tryIndex++) {
    try {
      return await attempt(tryIndex + 1);
    } catch (error) {
      if (!(error instanceof RetryableError)) throw error;
      if (tryIndex >= endpoint.maxRetries) {
        const f = error.failure;
        throw new VerinferError(f.code, `${f.message} (after ${tryIndex + 1} attempts)`, {
          ...f.details,
          attempts: tryIndex + 1,
        });
      }
      await sleep(error.retryAfterMs ?? endpoint.retryBaseMs * 2 ** tryIndex);
    }
  }
}

/** Sends one request and returns the response once its status is OK; failures are classified. */
export async function openUpstream(
  endpoint: UpstreamSettings,
  url: string,
  payload: string | undefined,
  deadline: Deadline,
): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: payload === undefined ? "GET" : "POST",
      headers: {
        ...(payload === undefined ? {} : { "content-type": "application/json" }),
        ...(endpoint.apiKey ? { authorization: `Bearer ${endpoint.apiKey}` } : {}),
      },
      ...(payload === undefined ? {} : { body: payload }),
      signal: deadline.controller.signal,
    });
  } catch (error) {
    if (deadline.expired) {
      throw new RetryableError(
        new VerinferError("UPSTREAM_TIMEOUT", `${url} did not answer within ${deadline.ms} ms`, { url }),
        null,
      );
    }
    const cause =
      (error as { cause?: { code?: string } }).cause?.code ??
      (error instanceof Error ? error.message : String(error));
    throw new RetryableError(
      new VerinferError("UPSTREAM_CONNECTION_FAILED", `cannot reach ${url} (${cause})`, { url, cause }),
      null,
    );
  }
  if (response.ok) return response;
  const body = await response.text().catch(() => "");
  const detail = body.slice(0, 200).replace(/\s+/g, " ");
  const failure = new VerinferError(
    "UPSTREAM_HTTP_ERROR",
    `${url} answered HTTP ${response.status}: ${detail}`,
    {
      url,
      status: response.status,
    },
  );
  if (!RETRYABLE_STATUS.has(response.status)) throw failure;
  const retryAfter = Number(response.headers.get("retry-after"));
  throw new RetryableError(
    failure,
    Number.isFinite(retryAfter) && retryAfter >= 0 ? Math.min(retryAfter * 1000, 30_000) : null,
  );
}

/**
 * The error for a reply that broke off while being read (`during`: "mid-reply", "mid-stream", …): a
 * timeout when the deadline fired, else a dropped connection.
 */
export function interrupted(url: string, deadline: Deadline, during: string): VerinferError {
  return deadline.expired
    ? new VerinferError("UPSTREAM_TIMEOUT", `${url} timed out (${deadline.ms} ms) ${during}`, { url })
    : new VerinferError("UPSTREAM_CONNECTION_FAILED", `${url} closed the connection ${during}`, { url });
}

/** Reads a whole body; a failure while reading is retryable (nothing was delivered yet). */
export async function readBody(response: Response, url: string, deadline: Deadline): Promise<string> {
  try {
    return await response.text();
  } catch {
    throw new RetryableError(interrupted(url, deadline, "mid-reply"), null);
  }
}
