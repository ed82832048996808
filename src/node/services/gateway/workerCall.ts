/**
 * The gateway's call to a worker: a signed `/v1/infer` request over a kept-alive connection, its NDJSON
 * reply read line by line as the tokens come, and every way it can fail mapped to WORKER_FAILED (or, when
 * the worker refused the request itself, API_REQUEST_INVALID).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Hex } from "viem";
import { VerinferError } from "../../../errors.ts";
import type { InferRequest } from "../../inferRequest.ts";
import { signRoleMessage } from "../../roleAuth.ts";
import type { ServedAnswer } from "../worker/workerStore.ts";
import type { WorkerLink } from "./workerLinks.ts";

/** One NDJSON line of a worker's reply. */
type WorkerLine =
  | { text: string }
  | ({ done: true } & ServedAnswer)
  | { error: { code: string; message: string } };

// Connections to workers are kept alive (a new one per request cost the gateway ~1 ms of CPU); idle
// ones close after 5 s, before a server's own keep-alive timeout could close one as it is reused.
const AGENTS = {
  "http:": new HttpAgent({ keepAlive: true, timeout: 5_000 }),
  "https:": new HttpsAgent({ keepAlive: true, timeout: 5_000 }),
};

/** POSTs `body` and resolves with the response once its head arrives; `signal` aborts it. */
function post(url: URL, headers: Record<string, string | number>, body: string, signal: AbortSignal) {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const https = url.protocol === "https:";
    const req = (https ? httpsRequest : httpRequest)(
      url,
      { method: "POST", agent: AGENTS[https ? "https:" : "http:"], headers },
      resolve,
    );
    // Not `signal` in the options: aborting a finished request would destroy its kept-alive socket.
    const abort = () => req.destroy(signal.reason);
    if (signal.aborted) abort();
    signal.addEventListener("abort", abort, { once: true });
    req.on("close", () => signal.removeEventListener("abort", abort));
    req.on("error", reject);
    req.end(body);
  });
}

/** Sends a signed inference request to a worker and yields its lines as they arrive. */
export async function* callWorker(link: WorkerLink, key: Hex, request: InferRequest, signal: AbortSignal) {
  const body = JSON.stringify(request);
  let response: IncomingMessage;
  try {
    response = await post(
      new URL(`${link.url}/v1/infer`),
      {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        ...signRoleMessage(key, "POST", "/v1/infer", body, Date.now()),
      },
      body,
      signal,
    );
  } catch (e) {
    if (signal.aborted) throw e;
    link.healthy = false; // skipped until the next refresh finds it again
    throw new VerinferError("WORKER_FAILED", `worker ${link.url} cannot be reached: ${(e as Error).message}`);
  }
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    let text = "";
    try {
      for await (const c of response) text += c;
    } catch {}
    let error: { code?: string; message?: string } = {};
    try {
      error = (JSON.parse(text) as { error?: typeof error }).error ?? {};
    } catch {}
    // The worker refused the request itself (bad parameters): the client's error, not the worker's.
    if (status === 400 && error.code)
      throw new VerinferError("API_REQUEST_INVALID", `the worker refused the request: ${error.message}`);
    throw new VerinferError(
      "WORKER_FAILED",
      `worker ${link.url} answered HTTP ${status}: ${error.message ?? text.slice(0, 200)}`,
    );
  }
  const decoder = new TextDecoder();
  let buffered = "";
  // The receipt line ends the reply; it is handed on once the reply has ended, because a consumer that
  // stops reading before the end destroys the connection instead of returning it to the pool.
  let done: WorkerLine | undefined;
  try {
    for await (const chunk of response as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim()) {
          const parsed = JSON.parse(line) as WorkerLine;
          if ("done" in parsed) done ??= parsed;
          else yield parsed;
        }
        newline = buffered.indexOf("\n");
      }
    }
  } catch (e) {
    if (signal.aborted) throw e;
    throw new VerinferError(
      "WORKER_FAILED",
      `worker ${link.url} hung up mid-generation: ${(e as Error).message}`,
    );
  }
  if (done) yield done;
  throw new VerinferError("WORKER_FAILED", `worker ${link.url} ended its reply without a receipt`);
}
