/**
 * What the roles that check a worker's work (fisherman, evaluator) ask the worker for: where each
 * worker is (the gateway's network view), and what it kept of a served request — accepted only where
 * it hashes to the receipt's commitments, so the worker need not be trusted for it.
 */
import { bytesToHex } from "../protocol/encoding/hex.ts";
import type { Receipt } from "../protocol/receipt/receipt.ts";
import type { ExecutionContext } from "../protocol/verifiable/replay.ts";
import { paramsHashOf, promptHashOf } from "../protocol/verifiable/requestCommitments.ts";

/** Each worker's URL by its enclave address (lower case), as the gateway's /v1/network lists them. */
export async function workerDirectory(gateway: string): Promise<Map<string, string>> {
  const network = (await (await fetch(`${gateway}/v1/network`)).json()) as {
    workers: { url: string; address: string | null }[];
  };
  return new Map(
    network.workers.filter((w) => w.address).map((w) => [(w.address as string).toLowerCase(), w.url]),
  );
}

/** A served request as its worker kept it. */
export interface ServedRequest {
  /** The prompt tokens and sampling, checked against the receipt's promptHash and paramsHash. */
  readonly context: ExecutionContext;
  /** The generated tokens when they hash to the receipt's outputHash; null otherwise. */
  readonly output: readonly number[] | null;
}

/** Fetches what the worker kept of the receipt's request (GET /v1/traces/{id}), or why it cannot. */
export async function servedRequestOf(
  r: Pick<Receipt, "worker" | "requestId" | "promptHash" | "paramsHash" | "outputHash">,
  workers: ReadonlyMap<string, string>,
): Promise<ServedRequest | string> {
  const url = workers.get(r.worker.toLowerCase());
  if (!url) return "worker unknown";
  const response = await fetch(`${url}/v1/traces/${r.requestId}`, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) return `worker answered ${response.status}`;
  const served = (await response.json()) as { context: ExecutionContext; output?: number[] };
  const matches =
    bytesToHex(promptHashOf(served.context.prompt)) === r.promptHash.toLowerCase() &&
    bytesToHex(paramsHashOf(served.context.sampling)) === r.paramsHash.toLowerCase();
  if (!matches) return "the worker's context does not hash to the receipt";
  const output =
    served.output && bytesToHex(promptHashOf(served.output)) === r.outputHash.toLowerCase()
      ? served.output
      : null;
  return { context: served.context, output };
}
