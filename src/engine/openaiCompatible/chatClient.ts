/**
 * A client for OpenAI-compatible `POST {baseUrl}/chat/completions` (vLLM, llama.cpp server, Ollama,
 * hosted APIs). Non-streaming; per-attempt timeout; retries with exponential backoff on connection
 * failures, timeouts, 408/425/429/5xx (honouring Retry-After); clear errors for everything else.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { VerinferError } from "../../errors.ts";

/** Endpoint settings. */
export interface ChatEndpoint {
  readonly baseUrl: string;
  readonly model: string;
  readonly apiKey?: string | undefined;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  /** First backoff delay; doubles on each retry. */
  readonly retryBaseMs: number;
}

/** A chat message. */
export interface ChatMessage {
  readonly role: "system" | "user" | "assistant";
  readonly content: string;
}

/** A request. */
export interface ChatRequest {
  readonly messages: readonly ChatMessage[];
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly seed?: number;
}

/** The parts of a completion verinfer uses. */
export interface ChatCompletion {
  readonly content: string;
  readonly finishReason: string | null;
  readonly model: string | null;
  readonly usage: { readonly promptTokens: number; readonly completionTokens: number } | null;
  /** Attempts it took (1 = no retry). */
  readonly attempts: number;
}

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Checks and normalizes a base URL (http or https, no trailing slash). */
export function normalizeBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new VerinferError("CONFIG_INVALID", `base URL "${baseUrl}" is not a URL`, { baseUrl });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new VerinferError("CONFIG_INVALID", `base URL must be http or https, got ${url.protocol}`, {
      baseUrl,
    });
  }
  return url.toString().replace(/\/+$/, "");
}

class RetryableError extends Error {
  constructor(
    readonly failure: VerinferError,
    readonly retryAfterMs: number | null,
  ) {
    super(failure.message);
  }
}

function parseCompletion(body: string, url: string, attempts: number): ChatCompletion {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new VerinferError("UPSTREAM_REPLY_INVALID", `${url} returned a body that is not JSON`, { url });
  }
  const choice = (json as { choices?: unknown[] })?.choices?.[0] as
    | { message?: { content?: unknown }; finish_reason?: unknown }
    | undefined;
  const content = choice?.message?.content;
  if (typeof content !== "string") {
    throw new VerinferError(
      "UPSTREAM_REPLY_INVALID",
      `${url} returned no choices[0].message.content string`,
      { url },
    );
  }
  const usage = (json as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } }).usage;
  return {
    content,
    finishReason: typeof choice?.finish_reason === "string" ? choice.finish_reason : null,
    model: typeof (json as { model?: unknown }).model === "string" ? (json as { model: string }).model : null,
    usage:
      usage && typeof usage.prompt_tokens === "number" && typeof usage.completion_tokens === "number"
        ? { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens }
        : null,
    attempts,
  };
}

async function attempt(
  endpoint: ChatEndpoint,
  url: string,
  payload: string,
  attempts: number,
): Promise<ChatCompletion> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), endpoint.timeoutMs);
  try {
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(endpoint.apiKey ? { authorization: `Bearer ${endpoint.apiKey}` } : {}),
        },
        body: payload,
        signal: controller.signal,
      });
    } catch (error) {
      if (controller.signal.aborted) {
        throw new RetryableError(
          new VerinferError("UPSTREAM_TIMEOUT", `${url} did not answer within ${endpoint.timeoutMs} ms`, {
            url,
          }),
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
    let body: string;
    try {
      body = await response.text();
    } catch {
      const failure = controller.signal.aborted
        ? new VerinferError(
            "UPSTREAM_TIMEOUT",
            `${url} did not finish its reply within ${endpoint.timeoutMs} ms`,
            { url },
          )
        : new VerinferError("UPSTREAM_CONNECTION_FAILED", `${url} closed the connection mid-reply`, { url });
      throw new RetryableError(failure, null);
    }
    if (!response.ok) {
      const detail = body.slice(0, 200).replace(/\s+/g, " ");
      const failure = new VerinferError(
        "UPSTREAM_HTTP_ERROR",
        `${url} answered HTTP ${response.status}: ${detail}`,
        {
          url,
          status: response.status,
        },
      );
      if (RETRYABLE_STATUS.has(response.status)) {
        const retryAfter = Number(response.headers.get("retry-after"));
        throw new RetryableError(
          failure,
          Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, 30_000) : null,
        );
      }
      throw failure;
    }
    return parseCompletion(body, url, attempts);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends a chat completion request with retries. */
export async function chatCompletion(endpoint: ChatEndpoint, request: ChatRequest): Promise<ChatCompletion> {
  const url = `${normalizeBaseUrl(endpoint.baseUrl)}/chat/completions`;
  const payload = JSON.stringify({
    model: endpoint.model,
    messages: request.messages,
    stream: false,
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
    ...(request.seed !== undefined ? { seed: request.seed } : {}),
  });
  for (let tryIndex = 0; ; tryIndex++) {
    try {
      return await attempt(endpoint, url, payload, tryIndex + 1);
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
