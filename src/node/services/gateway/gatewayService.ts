/**
 * The gateway / sequencer role (DESIGN.md "Roles"): an OpenAI-compatible front door that routes each
 * chat request to a worker, verifies the worker's signed receipt with the pure `checkReceipt` and the
 * sequencer's replay rule, makes it durable in SQLite, and only then answers — with the receipt and its
 * provisional finality (batch, position) in a `verinfer` extension field (the last SSE event when
 * streaming). Sealed batches are posted to the rollup and become final after the challenge window.
 *
 *   POST /v1/chat/completions   JSON or SSE; `Idempotency-Key` makes a retry return the same answer
 *   GET  /v1/models
 *   GET  /v1/receipts/:id       receipt, status (provisional / sealed / posted / disputed / final /
 *                               voided / stale), batch, position, root and Merkle proof once sealed
 *   GET  /v1/network            workers, stakes, receipts and batches by status, latency percentiles
 *   GET  /health, /metrics
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import type { Hex } from "viem";
import type { ChainClients } from "../../../chain/deploy.ts";
import type { DeploymentFile } from "../../../chain/deploymentFile.ts";
import { deployedFrom } from "../../../chain/logs.ts";
import { Registrations } from "../../../chain/postedBatches.ts";
import { loadNativeSecp256k1 } from "../../../crypto/nativeSecp256k1.ts";
import { DEFAULT_PARAMS } from "../../../engine/engine.ts";
import { VerinferError } from "../../../errors.ts";
import { utf8Bytes } from "../../../protocol/encoding/hex.ts";
import { keccak256Hex } from "../../../protocol/encoding/keccak.ts";
import type { DisputeParams, RollupParams } from "../../../protocol/params/otr.ts";
import {
  receiptToJson,
  type SignedReceipt,
  validateSignedReceipt,
} from "../../../protocol/receipt/receipt.ts";
import { checkReceipt, pureSecp256k1 } from "../../../protocol/receipt/verifyReceipt.ts";
import { type ProvisionalFinality, Sequencer } from "../../../protocol/rollup/sequencer.ts";
import { closeDraining } from "../../http/drain.ts";
import { httpErrorOf, installErrorReplies } from "../../http/httpErrors.ts";
import { CHAT_REQUEST, chatRequestError, messagesOf, paramsOf } from "../../http/openaiServer.ts";
import type { InferRequest } from "../../inferRequest.ts";
import { Latest } from "../../latest.ts";
import { type Logger, NodeMetrics } from "../../observability.ts";
import { readyRoute } from "../../readiness.ts";
import { forgetInSteps, sweepEveryMs } from "../../retention.ts";
import { verifyRoleMessage } from "../../roleAuth.ts";
import { ReceiptStore } from "../../store/receiptStore.ts";
import type { WorkerEvidence } from "../worker/workerService.ts";
import type { ServedAnswer } from "../worker/workerStore.ts";
import { BatchPoster, type Finality, storedBatchTree } from "./batchPoster.ts";
import { installDashboard } from "./dashboard.ts";
import { callWorker } from "./workerCall.ts";
import { type WorkerAttestation, type WorkerLink, WorkerLinks } from "./workerLinks.ts";

/** A client allowed in, with its request budget. */
export interface ApiClient {
  readonly key: string;
  readonly name: string;
  /** Requests per minute (token bucket, bursts up to the same number). */
  readonly requestsPerMinute: number;
}

export interface GatewayOptions {
  readonly dataDir: string;
  /** The sequencer's chain account and the key that signs requests to workers. */
  readonly key: Hex;
  readonly chain: ChainClients;
  readonly deployment: DeploymentFile;
  readonly workers: readonly string[];
  readonly rollupParams: RollupParams;
  /** Clients and their keys; empty: open to anyone as "anonymous" at `openRequestsPerMinute`. */
  readonly apiClients: readonly ApiClient[];
  readonly openRequestsPerMinute: number;
  readonly bodyLimit: number;
  /**
   * How long the receipts of final batches are kept to be served with their proofs (ms, counted from
   * the batch's last admission); none: forever.
   */
  readonly receiptRetentionMs?: number | undefined;
  /** A cap on the receipt store's file (bytes; `ReceiptStore.limitSize`); none: the disk's size. */
  readonly maxStoreBytes?: number | undefined;
  /** How often the registry and the workers are re-read (ms). */
  readonly refreshMs: number;
  /** The most a batch transaction offers per gas (wei); none: what the chain asks. */
  readonly maxFeePerGas?: bigint | undefined;
  /** The block whose time makes batches final (`BatchPoster`); default the head. */
  readonly finality?: Finality | undefined;
  /** Seed of the weighted random routing. */
  readonly routingSeed: number;
  /** A settler whose epochs give the workers' PoQ quality and cost (routing); none: stake, load, latency. */
  readonly settler?: string | undefined;
  /** The RPC URL browsers read the chain with (the dashboard); default: none shown. */
  readonly rpcUrl?: string | undefined;
  /** The dispute game's parameters (the dashboard mirrors each game's tree with them). */
  readonly disputeParams?: DisputeParams | undefined;
  /** Verifies workers' evidence as the attester does, to show each claim (the dashboard). */
  readonly attest?: ((evidence: WorkerEvidence) => WorkerAttestation) | undefined;
  /**
   * "full" (the default): every answer's receipt is verified and made durable, and the client gets its
   * provisional finality. "none": a plain proxy that forwards answers unchecked and records nothing,
   * only as the baseline that `npm run bench -- devnet` measures verification's cost against.
   */
  readonly verification?: "full" | "none" | undefined;
  /** After a failed store write, how long requests are refused before writes are tried again (ms; 5,000). */
  readonly storeRetryMs?: number | undefined;
  readonly logger: Logger;
}

export interface GatewayNode {
  readonly app: FastifyInstance;
  readonly store: ReceiptStore;
  readonly links: WorkerLinks;
  /** Starts the batch and refresh loops (after the first registry read). */
  start(): Promise<void>;
  /** Drains: stops taking requests, finishes running ones, seals and posts what is open, closes. */
  close(): Promise<void>;
}

/** The `verinfer` extension field of an answer. */
function extension(
  signed: SignedReceipt,
  digest: Hex,
  promise: ProvisionalFinality | null,
  overheadMs: number,
) {
  return {
    requestId: signed.receipt.requestId,
    ...receiptToJson(signed),
    digest,
    status: "provisional",
    batch: promise?.batch ?? null,
    position: promise?.position ?? null,
    admittedAtMs: promise?.admittedAt ?? null,
    gatewayOverheadMs: overheadMs,
  };
}

class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  take(client: string, perMinute: number, nowMs: number): boolean {
    const b = this.buckets.get(client) ?? { tokens: perMinute, at: nowMs };
    b.tokens = Math.min(perMinute, b.tokens + ((nowMs - b.at) * perMinute) / 60_000);
    b.at = nowMs;
    this.buckets.set(client, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/** Builds the gateway (not yet listening; call `start()`). */
export function createGateway(o: GatewayOptions): GatewayNode {
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const store = ReceiptStore.open(join(o.dataDir, "receipts.sqlite"));
  if (o.maxStoreBytes !== undefined) store.limitSize(o.maxStoreBytes);
  const links = new WorkerLinks(
    o.workers,
    o.chain,
    o.deployment,
    o.logger,
    o.routingSeed,
    o.settler,
    o.attest,
  );
  const backend = loadNativeSecp256k1() ?? pureSecp256k1;
  const metrics = new NodeMetrics("gateway");
  const requests = metrics.counter("requests_total", "chat completion requests by outcome", ["outcome"]);
  const overhead = metrics.seconds(
    "overhead_seconds",
    "receipt verification + durable append + sequencing per request (the provisional-finality cost)",
  );
  const endToEnd = metrics.seconds("request_seconds", "whole request, routing and generation included");
  const batchesPosted = metrics.counter("batches_posted_total", "batches posted to the rollup");
  const poster = new BatchPoster(
    store,
    o.chain,
    o.deployment.rollup,
    o.logger,
    {
      posted: () => batchesPosted.inc(),
      forced: (digest) => sequencer.noteForced(digest),
    },
    deployedFrom(o.deployment),
    { maxFeePerGas: o.maxFeePerGas, headReads: "twice-a-block", finality: o.finality },
  );
  const recentOverheadMs = new Latest<number>(2000);
  /** Input + output tokens of the receipts admitted since this process started (for rates). */
  let tokensAdmitted = 0;
  const limiter = new RateLimiter();
  const clients = new Map(o.apiClients.map((c) => [c.key, c]));
  let closing = false;
  let timers: NodeJS.Timeout[] = [];

  /**
   * A store write that failed (a full disk, an I/O error): the message and when. The failed
   * transaction wrote nothing, but the sequencer in memory had already taken its receipt or sealed its
   * batch, so it is dropped; requests are refused (STORE_UNAVAILABLE, retryable) and sealing waits
   * until `storeRetryMs` has passed, then the sequencer is rebuilt from the store and writes are tried
   * again. Nothing the store did not take is ever answered or posted.
   */
  let broken: { readonly message: string; readonly atMs: number; readonly rebuilt: boolean } | null = null;
  const storeRetryMs = o.storeRetryMs ?? 5000;
  const storeFailed = (e: unknown) => {
    const first = broken === null;
    broken = { message: (e as Error).message, atMs: Date.now(), rebuilt: false };
    const log = { err: broken.message, retryInMs: storeRetryMs };
    if (first) o.logger.error(log, "the receipt store failed; refusing requests until a write succeeds");
    else o.logger.warn(log, "the receipt store failed again");
  };
  /**
   * The sequencer as the store holds it. A restarted gateway (or one whose store failed) re-opens the
   * batch it was filling: same receipts, same order, same positions (each was verified when it was
   * admitted; the sequencer re-applies its replay rule), so every promise made holds.
   */
  const sequencerFromStore = (): Sequencer => {
    const rebuilt = new Sequencer(o.rollupParams, 1 << 16, backend.keccak256, store.nextBatchIndex());
    for (const r of store.unsealed()) {
      const s = r.signed.receipt;
      const verified = {
        ok: true as const,
        value: {
          digest: r.digest,
          worker: s.worker.toLowerCase() as Hex,
          sequence: s.sequence,
          requestId: s.requestId.toLowerCase() as Hex,
        },
      };
      const admitted = rebuilt.admit(r.signed, verified, r.admittedAtMs);
      if (!admitted.ok)
        throw new VerinferError("STORE_CORRUPT", `stored receipt ${s.requestId}: ${admitted.error.message}`);
      if (admitted.value.sealed) poster.record(admitted.value.sealed);
    }
    // Noted after the open batch is rebuilt, as a gateway that re-read the rollup's events would.
    for (const digest of store.forcedDigests()) rebuilt.noteForced(digest);
    return rebuilt;
  };
  let sequencer = sequencerFromStore();
  /** Whether the store may be written now: true unless it failed less than `storeRetryMs` ago. */
  const storeWritable = (): boolean => {
    if (!broken || broken.rebuilt) return true;
    if (Date.now() - broken.atMs < storeRetryMs) return false;
    try {
      sequencer = sequencerFromStore();
      broken = { ...broken, rebuilt: true };
      return true;
    } catch (e) {
      storeFailed(e);
      return false;
    }
  };
  const storeUnavailable = () =>
    new VerinferError("STORE_UNAVAILABLE", "the gateway cannot record receipts now; retry later");
  /** Runs a store write after which the sequencer goes on; if it fails, see {@link broken}. */
  const durably = (write: () => void): boolean => {
    try {
      write();
    } catch (e) {
      storeFailed(e);
      return false;
    }
    if (broken) {
      o.logger.info({ failedFor: broken.message }, "the receipt store takes writes again");
      broken = null;
    }
    return true;
  };
  const app = Fastify({
    bodyLimit: o.bodyLimit,
    logger: false,
    onProtoPoisoning: "remove",
    onConstructorPoisoning: "remove",
  });
  installErrorReplies(app, (error) => o.logger.error({ err: error }, "internal error"));
  /** The caller's client name (API key) and rate budget. */
  const clientOf = (authorization: string | undefined): ApiClient => {
    if (clients.size === 0) return { key: "", name: "anonymous", requestsPerMinute: o.openRequestsPerMinute };
    const key = authorization?.startsWith("Bearer ") ? authorization.slice(7) : undefined;
    const c = key === undefined ? undefined : clients.get(key);
    if (!c)
      throw new VerinferError("API_UNAUTHORIZED", "missing or unknown API key (Authorization: Bearer KEY)");
    return c;
  };

  /** Why it cannot serve now (null: it can). */
  const notReady = () =>
    closing
      ? "draining: shutting down"
      : broken
        ? `the receipt store failed: ${broken.message}`
        : links.links.some((l) => l.healthy && l.stake > 0n)
          ? null
          : "no healthy, staked worker to route to";
  app.get("/health", async () => ({
    ok: !closing && !broken,
    role: "gateway",
    ready: notReady() === null,
    pending: sequencer.pending,
    verification: o.verification ?? "full",
  }));
  readyRoute(app, notReady);
  app.get("/metrics", async (_request, reply) => {
    const { contentType, text } = await metrics.exposition();
    return reply.header("content-type", contentType).send(text);
  });
  app.get("/v1/models", async (request) => {
    clientOf(request.headers.authorization);
    return {
      object: "list",
      data: links.servedModels().map((id) => ({ id, object: "model", created: 0, owned_by: "verinfer" })),
    };
  });
  installDashboard(app, {
    rpcUrl: o.rpcUrl ?? "",
    deployment: o.deployment,
    settler: o.settler,
    dispute: o.disputeParams,
  });
  app.get("/v1/network", async () => {
    const sorted = [...recentOverheadMs.items].sort((a, b) => a - b);
    const pct = (p: number) =>
      sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number) : null;
    return {
      chainId: o.deployment.chainId,
      rollup: o.deployment.rollup,
      workers: links.links.map((l) => ({
        url: l.url,
        address: l.identity?.address ?? null,
        model: l.identity?.modelName ?? null,
        healthy: l.healthy,
        attested: l.attested,
        evidenceRegistered: l.evidenceRegistered,
        attestedUntil: l.attestedUntil,
        stake: String(l.stake),
        inFlight: l.inFlight,
        served: l.served,
        failed: l.failed,
        latencyMs: Math.round(l.latencyMs),
        quality: l.quality,
        efficiency: l.efficiency,
        attestation: l.attestation,
      })),
      ...store.counts(),
      openBatch: { index: sequencer.nextIndex, pending: sequencer.pending },
      tokensAdmitted,
      overheadMs: {
        p50: pct(0.5),
        p99: pct(0.99),
        samples: sorted.length,
        recent: recentOverheadMs.items.slice(-200),
      },
    };
  });
  // A request's context for those who re-execute the work (registered fishermen, by their signature):
  // when a worker withholds what it served, a fisherman can still re-execute and dispute. Prompts are
  // private, so nobody else gets them — evaluators neither: they score what the worker served, which the
  // gateway's copy of the request does not hold.
  const registrations = new Registrations(o.deployment.registry, deployedFrom(o.deployment));
  let checkers = { readAtMs: 0, accounts: new Set<string>() };
  const checkersNow = async (refresh: boolean): Promise<ReadonlySet<string>> => {
    // A refresh reads the chain: at most every 2 s, whatever unknown signers ask.
    if (refresh ? Date.now() - checkers.readAtMs > 2_000 : checkers.readAtMs === 0) {
      const block = await o.chain.public.getBlockNumber();
      checkers = { readAtMs: Date.now(), accounts: new Set(await registrations.at(o.chain, 3, block)) };
    }
    return checkers.accounts;
  };
  app.get<{ Params: { id: string } }>("/v1/requests/:id", async (request) => {
    const message = { method: "GET", path: `/v1/requests/${request.params.id}`, body: "" };
    let auth = verifyRoleMessage(request.headers, message, await checkersNow(false), Date.now());
    if (!auth.ok) auth = verifyRoleMessage(request.headers, message, await checkersNow(true), Date.now());
    if (!auth.ok) throw new VerinferError(auth.error.code, auth.error.message);
    const id = request.params.id.toLowerCase();
    const kept = /^0x[0-9a-f]{64}$/.test(id) ? store.requestOf(id as Hex) : undefined;
    if (kept === undefined)
      throw new VerinferError("RECEIPT_NOT_FOUND", `no request ${request.params.id} kept here`);
    o.logger.info({ requestId: id, checker: auth.value }, "a request's context given to a checker");
    return kept;
  });

  app.get<{ Params: { id: string } }>("/v1/receipts/:id", async (request) => {
    const id = request.params.id.toLowerCase();
    const r = /^0x[0-9a-f]{64}$/.test(id) ? store.byRequestId(id as Hex) : undefined;
    if (!r)
      throw new VerinferError(
        "RECEIPT_NOT_FOUND",
        `no receipt for request ${request.params.id}${o.receiptRetentionMs === undefined ? "" : ` (receipts of final batches are kept ${o.receiptRetentionMs / 86_400_000} days)`}`,
      );
    const batch = r.batch === null ? undefined : store.batch(r.batch);
    return {
      requestId: r.signed.receipt.requestId,
      ...receiptToJson(r.signed),
      digest: r.digest,
      status: r.status,
      batch: r.batch,
      position: r.position,
      root: batch?.root ?? null,
      postedTx: batch?.postedTx ?? null,
      proof: r.batch === null ? null : storedBatchTree(store, r.batch).tree.proof(r.position as number),
    };
  });

  app.post("/v1/chat/completions", async (request, reply) => {
    const started = performance.now();
    const client = clientOf(request.headers.authorization);
    if (!limiter.take(client.name, client.requestsPerMinute, Date.now())) {
      requests.inc({ outcome: "rate_limited" });
      throw new VerinferError(
        "API_RATE_LIMITED",
        `client ${client.name} is over ${client.requestsPerMinute} requests per minute`,
      );
    }
    if (closing) throw new VerinferError("API_BUSY", "the gateway is shutting down");
    if (!storeWritable()) throw storeUnavailable();
    const parsed = CHAT_REQUEST.safeParse(request.body);
    if (!parsed.success) throw chatRequestError(parsed.error);
    const body = parsed.data;
    const idempotencyKey = request.headers["idempotency-key"];
    if (
      idempotencyKey !== undefined &&
      (typeof idempotencyKey !== "string" || !/^[\x21-\x7e]{1,128}$/.test(idempotencyKey))
    )
      throw new VerinferError(
        "API_REQUEST_INVALID",
        "Idempotency-Key must be 1–128 printable ASCII characters",
      );
    const models = links.servedModels();
    const model = body.model ?? models[0];
    if (!model || !models.includes(model))
      throw new VerinferError(
        "MODEL_NOT_SERVED",
        `this network serves ${models.map((m) => `"${m}"`).join(", ") || "no model yet"}, not "${body.model}"`,
        { served: models },
      );
    if (idempotencyKey) {
      const before = store.byIdempotencyKey(client.name, idempotencyKey);
      if (before?.answer && !body.stream) {
        requests.inc({ outcome: "idempotent_replay" });
        return before.answer;
      }
    }
    // A retry with the same key asks the worker for the same request id, which it answers again as is.
    const requestId = (
      idempotencyKey
        ? keccak256Hex(utf8Bytes(`${client.name}\n${idempotencyKey}`))
        : `0x${randomBytes(32).toString("hex")}`
    ) as Hex;
    const params = paramsOf(body);
    const infer: InferRequest = {
      requestId,
      messages: messagesOf(body),
      params: {
        temperature: params.temperature ?? DEFAULT_PARAMS.temperature,
        topP: params.topP ?? DEFAULT_PARAMS.topP,
        maxTokens: params.maxTokens ?? DEFAULT_PARAMS.maxTokens,
        stop: params.stop,
      },
      seed: body.seed ?? Number.parseInt(requestId.slice(2, 10), 16),
    };
    const hangUp = new AbortController();
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) hangUp.abort();
    });
    let link = links.pick(model);
    const id = `chatcmpl-${requestId.slice(2, 34)}`;
    const created = Math.floor(Date.now() / 1000);
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices, ...extra })}\n\n`;
    let streaming = false;
    /** Starts the SSE reply: headers and the assistant role (with the first content, if any). */
    const openStream = (content: string) => {
      reply.hijack();
      reply.raw.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      reply.raw.write(chunk([{ index: 0, delta: { role: "assistant", content }, finish_reason: null }]));
      streaming = true;
    };
    /** Runs the request on one worker, streaming its text on; returns its final line. */
    const generateOn = async (w: WorkerLink): Promise<{ done: true } & ServedAnswer> => {
      w.inFlight++;
      try {
        for await (const line of callWorker(w, o.key, infer, hangUp.signal)) {
          if ("error" in line)
            throw new VerinferError(
              "WORKER_FAILED",
              `worker ${w.url} failed: [${line.error.code}] ${line.error.message}`,
            );
          if ("done" in line) return line;
          if (body.stream && line.text) {
            if (!streaming) openStream("");
            reply.raw.write(chunk([{ index: 0, delta: { content: line.text }, finish_reason: null }]));
          }
        }
        throw new VerinferError("WORKER_FAILED", `worker ${w.url} ended its reply without a receipt`);
      } finally {
        w.inFlight--;
      }
    };
    /** The worker's receipt for this request, checked; WORKER_RECEIPT_INVALID names what failed. */
    const checkedReceipt = (answer: ServedAnswer, w: WorkerLink) => {
      const signed = validateSignedReceipt(answer.receipt);
      if (!signed.ok)
        throw new VerinferError("WORKER_RECEIPT_INVALID", `worker ${w.url}: ${signed.error.message}`);
      const r = signed.value.receipt;
      if (
        r.requestId.toLowerCase() !== requestId ||
        r.worker.toLowerCase() !== w.identity?.address.toLowerCase()
      )
        throw new VerinferError(
          "WORKER_RECEIPT_INVALID",
          `worker ${w.url} signed a receipt for another request or key`,
        );
      const verified = checkReceipt(signed.value, links.registry, backend);
      if (!verified.ok)
        throw new VerinferError(
          "WORKER_RECEIPT_INVALID",
          `worker ${w.url}: [${verified.error.code}] ${verified.error.message}`,
        );
      return { signed: signed.value, verified };
    };
    try {
      let final: { done: true } & ServedAnswer;
      let checked: ReturnType<typeof checkedReceipt> | null = null;
      // The gateway's overhead (verification, replay rule, durable append, sequencing) from here.
      let t0 = 0;
      const tried = new Set<string>();
      for (;;) {
        tried.add(link.url);
        try {
          final = await generateOn(link);
          t0 = performance.now();
          if (o.verification !== "none") checked = checkedReceipt(final, link);
          break;
        } catch (error) {
          // A worker that failed, or whose receipt fails its checks (its stake may have been slashed
          // while it generated), before the client saw any of its text: re-route (same request id; the
          // failed worker's work is never recorded). Once text is streamed, the client is told.
          const code = error instanceof VerinferError ? error.code : null;
          const failed = code === "WORKER_FAILED" || code === "WORKER_RECEIPT_INVALID";
          if (failed) link.failed++;
          if (!failed || hangUp.signal.aborted) throw error;
          let next: WorkerLink | null = null;
          if (!streaming)
            try {
              next = links.pick(model, tried);
            } catch {
              // No other healthy worker serves the model: the client gets this failure.
            }
          const err = (error as Error).message;
          if (!next) {
            // The operator's view of a worker failing (a 401 says the worker does not list this gateway).
            o.logger.warn(
              { requestId, worker: link.url, err },
              streaming ? "worker failed" : "worker failed; no other worker to re-route to",
            );
            throw error;
          }
          if (code === "WORKER_RECEIPT_INVALID") o.logger.warn({ requestId, err }, "worker receipt refused");
          o.logger.warn({ requestId, from: link.url, to: next.url, err }, "re-routing");
          link = next;
        }
      }
      const finishReason = final.finishReason === "length" ? "length" : "stop";
      const usage = {
        prompt_tokens: final.usage.promptTokens,
        completion_tokens: final.usage.completionTokens,
        total_tokens: final.usage.promptTokens + final.usage.completionTokens,
      };
      const completion = (ext: unknown) => ({
        id,
        object: "chat.completion",
        created,
        model,
        system_fingerprint: `verinfer-${link.identity?.engineHash.slice(2, 10)}`,
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: final.text },
            finish_reason: finishReason,
            logprobs: null,
          },
        ],
        usage,
        verinfer: ext,
      });
      /** Answers with a completion: as JSON, or as the stream's last events. */
      const finish = (answer: unknown) => {
        if (!body.stream) return answer;
        const a = answer as {
          choices: { message: { content: string }; finish_reason: string }[];
          usage: unknown;
          verinfer: unknown;
        };
        const choice = a.choices[0] as { message: { content: string }; finish_reason: string };
        if (!streaming) openStream(choice.message.content);
        reply.raw.write(chunk([{ index: 0, delta: {}, finish_reason: choice.finish_reason }]));
        reply.raw.write(
          chunk([], {
            ...(body.stream_options?.include_usage ? { usage: a.usage } : {}),
            verinfer: a.verinfer,
          }),
        );
        reply.raw.end("data: [DONE]\n\n");
        return reply;
      };
      /** The request's bookkeeping once answered: the worker's count and latency (routing), metrics. */
      const served = (outcome: "served" | "unverified") => {
        const ms = performance.now() - started;
        link.served++;
        link.latencyMs = link.latencyMs === 0 ? ms : 0.8 * link.latencyMs + 0.2 * ms;
        requests.inc({ outcome });
        endToEnd.observe(ms / 1000);
      };
      if (checked === null) {
        // The measurement baseline: the worker's answer as is, no receipt checked, recorded or promised.
        served("unverified");
        return finish(completion(null));
      }
      const { signed, verified } = checked;
      // Synchronous from the check to the durable append (no await): nothing interleaves with the sequencer.
      // Another request's write may have failed while this one was generating: the sequencer then holds
      // what the store does not, and must be rebuilt before it takes anything more.
      if (!storeWritable()) throw storeUnavailable();
      const existing = store.byRequestId(requestId);
      if (existing) {
        if (existing.digest !== verified.value.digest)
          throw new VerinferError("RECEIPT_REPLAYED", `request ${requestId} already has another receipt`);
        requests.inc({ outcome: "idempotent_replay" });
        if (existing.answer) return finish(existing.answer);
      }
      const now = Date.now();
      const admitted = sequencer.admit(signed, verified, now);
      if (!admitted.ok)
        throw new VerinferError(
          "WORKER_RECEIPT_INVALID",
          `worker ${link.url}: [${admitted.error.code}] ${admitted.error.message}`,
        );
      const promise = admitted.value.promise;
      const overheadMs = performance.now() - t0;
      const answer = completion(
        extension(signed, verified.value.digest, promise, Math.round(overheadMs * 1000) / 1000),
      );
      if (
        !durably(() =>
          store.admit({
            signed,
            digest: verified.value.digest,
            client: client.name,
            ...(idempotencyKey ? { idempotencyKey } : {}),
            admittedAtMs: now,
            answer,
            request: infer,
          }),
        )
      )
        throw storeUnavailable();
      // The receipt is durable and its client answered, even if sealing the batch fails.
      const sealed = admitted.value.sealed;
      if (sealed) durably(() => poster.record(sealed));
      // The answer carries the overhead up to the append (it is part of what is appended); the metric
      // and /v1/network count the append too.
      const durableOverheadMs = performance.now() - t0;
      overhead.observe(durableOverheadMs / 1000);
      tokensAdmitted += signed.receipt.inputTokens + signed.receipt.outputTokens;
      recentOverheadMs.push(durableOverheadMs);
      served("served");
      o.logger.info(
        {
          requestId,
          worker: link.identity?.address,
          batch: promise?.batch,
          position: promise?.position,
          overheadMs: durableOverheadMs,
        },
        "receipt admitted",
      );
      return finish(answer);
    } catch (error) {
      requests.inc({ outcome: "failed" });
      // A worker's fault the client cannot fix, and its operator must hear of (the client gets a 502).
      if (error instanceof VerinferError && error.code === "WORKER_RECEIPT_INVALID")
        o.logger.warn({ requestId, err: error.message }, "worker receipt refused");
      if (!streaming) throw error;
      if (!(error instanceof VerinferError)) o.logger.error({ err: error }, "request failed mid-stream");
      if (!hangUp.signal.aborted) reply.raw.end(`data: ${JSON.stringify(httpErrorOf(error).body)}\n\n`);
      return reply;
    } finally {
      hangUp.abort();
    }
  });

  const tick = () => {
    if (storeWritable()) {
      const sealed = sequencer.tick(Date.now());
      if (sealed) durably(() => poster.record(sealed));
    }
    void poster.step();
  };

  return {
    app,
    store,
    links,
    async start() {
      await links.refresh(Date.now());
      timers = [
        setInterval(tick, Math.max(50, Math.min(250, o.rollupParams.maxBatchAgeMs / 2))),
        setInterval(() => void links.refresh(Date.now()), o.refreshMs),
      ];
      const retentionMs = o.receiptRetentionMs;
      if (retentionMs !== undefined) {
        // A few batches per transaction, yielding between them: requests go on being answered meanwhile.
        const forget = async () => {
          const before = Date.now() - retentionMs;
          const total = await forgetInSteps(
            () => store.forgetFinalBefore(before),
            () => closing,
            o.logger,
          );
          if (total > 0)
            o.logger.info({ forgotten: total, retentionMs }, "forgot the receipts of old final batches");
        };
        void forget();
        timers.push(setInterval(() => void forget(), sweepEveryMs(retentionMs)));
      }
    },
    async close() {
      closing = true;
      await closeDraining(app);
      for (const t of timers) clearInterval(t);
      // What the store holds unsealed a restart re-opens, so a failed store is left as it is.
      const sealed = broken ? null : sequencer.flush(Date.now());
      if (sealed) durably(() => poster.record(sealed));
      // Sends what is sealed and waits a few blocks to see it posted; a restart resumes the rest.
      await poster.drain(3000);
      store.close();
    },
  };
}
