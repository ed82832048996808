/**
 * A client for OpenAI-compatible `POST {baseUrl}/chat/completions` and `GET {baseUrl}/models` (vLLM,
 * llama.cpp server, Ollama, hosted APIs, `verinfer serve`). Non-streaming and streaming (server-sent
 * events). Retries with exponential backoff on connection failures, timeouts and 408/425/429/5xx
 * (honouring Retry-After) — but only until a reply starts: a stream that breaks after text was
 * delivered is reported, never silently restarted. Clear errors for everything else.
 */
import { VerinferError } from "../../errors.ts";
import {
  Deadline,
  interrupted,
  openUpstream,
  readBody,
  type UpstreamSettings,
  withRetries,
} from "../upstream.ts";

/**
 * Endpoint settings. `timeoutMs` bounds a non-streaming request as a whole; a streaming one until the
 * reply starts, then between events.
 */
export interface ChatEndpoint extends UpstreamSettings {
  readonly baseUrl: string;
  readonly model: string;
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
  readonly topP?: number;
  readonly maxTokens?: number;
  readonly stop?: readonly string[];
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

function parseJson(text: string, url: string, what: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new VerinferError("UPSTREAM_REPLY_INVALID", `${url} returned ${what} that is not JSON`, { url });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new VerinferError("UPSTREAM_REPLY_INVALID", `${url} returned ${what} that is not a JSON object`, {
      url,
    });
  return json as Record<string, unknown>;
}

function usageOf(json: Record<string, unknown>): ChatCompletion["usage"] {
  const usage = json.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined | null;
  return usage && typeof usage.prompt_tokens === "number" && typeof usage.completion_tokens === "number"
    ? { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens }
    : null;
}

function parseCompletion(body: string, url: string, attempts: number): ChatCompletion {
  const json = parseJson(body, url, "a body");
  const choice = (json.choices as unknown[] | undefined)?.[0] as
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
  return {
    content,
    finishReason: typeof choice?.finish_reason === "string" ? choice.finish_reason : null,
    model: typeof json.model === "string" ? json.model : null,
    usage: usageOf(json),
    attempts,
  };
}

function payloadOf(endpoint: ChatEndpoint, request: ChatRequest, stream: boolean): string {
  return JSON.stringify({
    model: endpoint.model,
    messages: request.messages,
    stream,
    // Ask for the usage chunk at the end of a stream (vLLM, llama.cpp server, Ollama and OpenAI honour it).
    ...(stream ? { stream_options: { include_usage: true } } : {}),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.topP !== undefined ? { top_p: request.topP } : {}),
    ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
    ...(request.stop?.length ? { stop: request.stop } : {}),
    ...(request.seed !== undefined ? { seed: request.seed } : {}),
  });
}

/** Sends a chat completion request with retries. */
export async function chatCompletion(endpoint: ChatEndpoint, request: ChatRequest): Promise<ChatCompletion> {
  const url = `${normalizeBaseUrl(endpoint.baseUrl)}/chat/completions`;
  const payload = payloadOf(endpoint, request, false);
  return withRetries(endpoint, async (attempts) => {
    const deadline = new Deadline(endpoint.timeoutMs);
    try {
      const response = await openUpstream(endpoint, url, payload, deadline);
      return parseCompletion(await readBody(response, url, deadline), url, attempts);
    } finally {
      deadline.clear();
    }
  });
}

/** Lists the model names a server serves (`GET {baseUrl}/models`). */
export async function listModels(endpoint: Omit<ChatEndpoint, "model">): Promise<string[]> {
  const url = `${normalizeBaseUrl(endpoint.baseUrl)}/models`;
  const full = { ...endpoint, model: "" };
  return withRetries(full, async () => {
    const deadline = new Deadline(endpoint.timeoutMs);
    try {
      const json = parseJson(
        await readBody(await openUpstream(full, url, undefined, deadline), url, deadline),
        url,
        "a body",
      );
      const data = json.data;
      if (!Array.isArray(data) || data.some((m) => typeof (m as { id?: unknown })?.id !== "string"))
        throw new VerinferError("UPSTREAM_REPLY_INVALID", `${url} returned no data[].id list`, { url });
      return data.map((m) => (m as { id: string }).id);
    } finally {
      deadline.clear();
    }
  });
}

/**
 * Streams a chat completion: yields content deltas as they arrive and returns the completion (full
 * text, finish reason, usage when the server sends it). A server that ignores `stream` and answers
 * with one JSON completion is accepted too.
 */
export async function* streamChatCompletion(
  endpoint: ChatEndpoint,
  request: ChatRequest,
): AsyncGenerator<string, ChatCompletion, void> {
  const url = `${normalizeBaseUrl(endpoint.baseUrl)}/chat/completions`;
  const payload = payloadOf(endpoint, request, true);
  const { response, deadline, attempts } = await withRetries(endpoint, async (n) => {
    const d = new Deadline(endpoint.timeoutMs);
    try {
      return { response: await openUpstream(endpoint, url, payload, d), deadline: d, attempts: n };
    } catch (error) {
      d.clear();
      throw error;
    }
  });
  try {
    if (!(response.headers.get("content-type") ?? "").includes("text/event-stream")) {
      const completion = parseCompletion(await response.text(), url, attempts);
      if (completion.content) yield completion.content;
      return completion;
    }
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let content = "";
    let finishReason: string | null = null;
    let model: string | null = null;
    let usage: ChatCompletion["usage"] = null;
    let done = false;
    let started = false;
    try {
      while (!done) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch {
          throw interrupted(url, deadline, "mid-stream");
        }
        deadline.reset();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        // Events are separated by blank lines; only `data:` fields matter here.
        let newline = buffer.indexOf("\n");
        while (newline >= 0) {
          const line = buffer.slice(0, newline).replace(/\r$/, "");
          buffer = buffer.slice(newline + 1);
          newline = buffer.indexOf("\n");
          if (!line.startsWith("data:")) continue;
          const data = line.slice(5).trim();
          if (data === "[DONE]") {
            done = true;
            break;
          }
          const event = parseJson(data, url, "a stream event");
          if (event.error !== undefined) {
            const message = (event.error as { message?: unknown })?.message;
            throw new VerinferError(
              "UPSTREAM_STREAM_ERROR",
              `${url} reported an error mid-stream: ${typeof message === "string" ? message : JSON.stringify(event.error)}`,
              { url },
            );
          }
          started = true;
          if (typeof event.model === "string") model = event.model;
          usage = usageOf(event) ?? usage;
          const choice = (event.choices as unknown[] | undefined)?.[0] as
            | { delta?: { content?: unknown }; finish_reason?: unknown }
            | undefined;
          const delta = choice?.delta?.content;
          if (typeof delta === "string" && delta.length > 0) {
            content += delta;
            yield delta;
          }
          if (typeof choice?.finish_reason === "string") finishReason = choice.finish_reason;
        }
      }
    } finally {
      if (!done) await reader.cancel().catch(() => {});
    }
    if (!done && finishReason === null) {
      throw new VerinferError(
        "UPSTREAM_REPLY_INVALID",
        `${url} ended the stream ${started ? "before a finish reason" : "without any event"}`,
        { url },
      );
    }
    return { content, finishReason, model, usage, attempts };
  } finally {
    deadline.clear();
  }
}
