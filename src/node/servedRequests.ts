/**
 * What the roles that check a worker's work (fisherman, evaluator) ask the worker for: where each
 * worker is (the gateway's network view), and what it kept of a served request — accepted only where
 * it hashes to the receipt's commitments, so the worker need not be trusted for it. A worker that will
 * not give it out is no obstacle to a fisherman: the gateway keeps each request it sent, and gives it
 * to registered checkers who sign for it (`gatewayContexts`); the context rebuilt from it is held to
 * the same hashes.
 */
import type { Tokenizer } from "../engine/llama2c/tokenizer.ts";
import { bytesToHex, type Hex } from "../protocol/encoding/hex.ts";
import type { Receipt } from "../protocol/receipt/receipt.ts";
import type { ExecutionContext } from "../protocol/verifiable/replay.ts";
import { paramsHashOf, promptHashOf } from "../protocol/verifiable/requestCommitments.ts";
import { contextOfRequest, INFER_REQUEST } from "./inferRequest.ts";
import { signRoleMessage } from "./roleAuth.ts";

/** Each worker's URL by its enclave address (lower case), as the gateway's /v1/network lists them. */
export async function workerDirectory(gateway: string): Promise<Map<string, string>> {
  const network = (await (await fetch(`${gateway}/v1/network`)).json()) as {
    workers: { url: string; address: string | null }[];
  };
  return new Map(
    network.workers.filter((w) => w.address).map((w) => [(w.address as string).toLowerCase(), w.url]),
  );
}

/** A served request as its worker kept it (or as the gateway's copy rebuilds it). */
export interface ServedRequest {
  /** The prompt tokens and sampling, checked against the receipt's promptHash and paramsHash. */
  readonly context: ExecutionContext;
  /** The generated tokens when they hash to the receipt's outputHash; null otherwise (and from the gateway). */
  readonly output: readonly number[] | null;
  /** Who gave the context: the worker, or the gateway when the worker would not. */
  readonly from: "worker" | "gateway";
  /** From the gateway: why not from the worker (down, refusing, or another context: only the last is a cheat). */
  readonly workerFailure?: string;
}

type Commitments = Pick<Receipt, "worker" | "requestId" | "promptHash" | "paramsHash" | "outputHash">;

/** Where else a request's context can be had: a request id's context, or why not. */
export type ContextSource = (requestId: Hex) => Promise<ExecutionContext | string>;

const hashesTo = (context: ExecutionContext, r: Commitments) =>
  bytesToHex(promptHashOf(context.prompt)) === r.promptHash.toLowerCase() &&
  bytesToHex(paramsHashOf(context.sampling)) === r.paramsHash.toLowerCase();

/**
 * What the worker kept of the receipt's request (GET /v1/traces/{id}); failing that — the worker gone,
 * refusing, or answering with another context — the context `fallback` gives, if it hashes to the
 * receipt. Else why neither could be had. Without a fallback, a worker that cannot be reached (not
 * listed by the gateway, down, or answering 5xx or 429) throws: the caller retries later; with one, the
 * fallback is asked at once. A worker that answers and shows nothing that hashes to the receipt (404,
 * another context) gives the reason, a string.
 */
export async function servedRequestOf(
  r: Commitments,
  workers: ReadonlyMap<string, string>,
  fallback?: ContextSource,
): Promise<ServedRequest | string> {
  let fromWorker: ServedRequest | string;
  try {
    fromWorker = await askWorker(r, workers);
  } catch (e) {
    if (!fallback) throw e;
    fromWorker = `worker cannot be reached: ${(e as Error).message}`;
  }
  if (typeof fromWorker !== "string" || !fallback) return fromWorker;
  // A fallback that cannot be reached throws too: the caller retries later rather than give up.
  const context = await fallback(r.requestId);
  if (typeof context === "string") return `${fromWorker}; ${context}`;
  if (!hashesTo(context, r)) return `${fromWorker}; the gateway's request does not hash to the receipt`;
  return { context, output: null, from: "gateway", workerFailure: fromWorker };
}

async function askWorker(
  r: Commitments,
  workers: ReadonlyMap<string, string>,
): Promise<ServedRequest | string> {
  const url = workers.get(r.worker.toLowerCase());
  // Not listed by the gateway (yet), or failing for now: asked again later, as a worker not reached.
  if (!url) throw new Error("the gateway does not list the worker");
  const response = await fetch(`${url}/v1/traces/${r.requestId}`, { signal: AbortSignal.timeout(5000) });
  if (response.status >= 500 || response.status === 429)
    throw new Error(`worker answered ${response.status}`);
  if (!response.ok) return `worker answered ${response.status}`;
  const served = (await response.json()) as { context: ExecutionContext; output?: number[] };
  if (!hashesTo(served.context, r)) return "the worker's context does not hash to the receipt";
  const output =
    served.output && bytesToHex(promptHashOf(served.output)) === r.outputHash.toLowerCase()
      ? served.output
      : null;
  return { context: served.context, output, from: "worker" };
}

/**
 * The gateway's copy of a request (GET /v1/requests/{id}, signed with `key`, a registered fisherman's
 * or evaluator's), as the context it determines under the model's tokenizer.
 */
export function gatewayContexts(gateway: string, key: Hex, tokenizer: Tokenizer): ContextSource {
  return async (requestId) => {
    const path = `/v1/requests/${requestId}`;
    const response = await fetch(`${gateway}${path}`, {
      headers: signRoleMessage(key, "GET", path, "", Date.now()),
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) return `the gateway answered ${response.status}`;
    const request = INFER_REQUEST.safeParse(await response.json());
    if (!request.success) return "the gateway's request is malformed";
    return contextOfRequest(tokenizer, request.data);
  };
}
