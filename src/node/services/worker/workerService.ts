/**
 * The worker role (DESIGN.md "Roles"): serves inference on the verifiable engine (ts-int, bit-exact),
 * signs one EIP-712 receipt per request with its enclave key, records the request's execution context
 * and answer durably before the receipt leaves, and answers trace queries from that context.
 *
 * HTTP API (loopback by default):
 *   POST /v1/infer          signed by an accepted gateway (roleAuth.ts): streams NDJSON lines
 *                           `{"text": …}` then `{"done": true, answer…}` or `{"error": {code, message}}`
 *   GET  /v1/identity       enclave address and public key, model, weights and engine hashes, attestation
 *   GET  /v1/traces/:id     a served request's execution context and generated tokens (fishermen,
 *                           evaluators, disputes)
 *   GET  /health, /metrics
 *
 * `adversary: "wrong-output"` makes a cheating worker for the devnet: its forward pass is faulted at
 * one step, so its tokens, trace and receipt all follow from the fault (a fisherman re-executing the
 * request finds another trace root and wins the dispute).
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import Fastify, { type FastifyInstance } from "fastify";
import { freshDevOcsp, writeDevEvidence } from "../../../attestation/devEvidence.ts";
import type { ChainClients } from "../../../chain/deploy.ts";
import type { DeploymentFile } from "../../../chain/deploymentFile.ts";
import { disputablePositions } from "../../../chain/disputeClient.ts";
import { deployedFrom } from "../../../chain/logs.ts";
import { fastSignDigest } from "../../../crypto/nativeSecp256k1.ts";
import type { Engine, GenerationChunk, GenerationResult } from "../../../engine/engine.ts";
import { generatedIntModel, loadLlama2c, quantizeCheckpoint } from "../../../engine/llama2c/modelFiles.ts";
import { decodePiece, type Tokenizer } from "../../../engine/llama2c/tokenizer.ts";
import { ggufFileHash, isGguf } from "../../../engine/llamaCpp/llamaCppEngine.ts";
import { createEngine } from "../../../engine/registry.ts";
import { VerinferError } from "../../../errors.ts";
import { bundleAttestationHash, parseEvidenceBundle } from "../../../protocol/attestation/evidenceBundle.ts";
import { bindingNonce } from "../../../protocol/attestation/keyBinding.ts";
import { bytesToHex, type Hex, hexToBytes, utf8Bytes } from "../../../protocol/encoding/hex.ts";
import { keccak256Hex, keccakUtf8 } from "../../../protocol/encoding/keccak.ts";
import type { DisputeParams } from "../../../protocol/params/otr.ts";
import { addressOf, type Receipt, receiptDigest, receiptToJson } from "../../../protocol/receipt/receipt.ts";
import type { IntModel } from "../../../protocol/verifiable/intModel.ts";
import { modelRoot } from "../../../protocol/verifiable/modelCommitment.ts";
import type { ExecutionContext } from "../../../protocol/verifiable/replay.ts";
import { paramsHashOf, promptHashOf } from "../../../protocol/verifiable/requestCommitments.ts";
import { stepsPerPosition } from "../../../protocol/verifiable/trace.ts";
import { SliceProver } from "../../../zk/prover.ts";
import { closeDraining } from "../../http/drain.ts";
import { httpErrorOf, installErrorReplies } from "../../http/httpErrors.ts";
import { contextOfRequest, INFER_REQUEST, type InferRequest } from "../../inferRequest.ts";
import { loadOrCreateKey } from "../../keys.ts";
import { type Logger, NodeMetrics } from "../../observability.ts";
import { readyRoute } from "../../readiness.ts";
import { forgetInSteps, sweepEveryMs } from "../../retention.ts";
import { verifyRoleMessage } from "../../roleAuth.ts";
import { cheat, cheatsOn, type GenerationFields, teeHonest, type WorkerAdversary } from "./adversaries.ts";
import { DisputeDefender } from "./disputeDefender.ts";
import { SpotCheckProver } from "./spotCheckProver.ts";
import { type ServedAnswer, WorkerStore } from "./workerStore.ts";

/** The engine measurement a ts-int worker's receipts carry (engine spec v2). */
export const TS_INT_ENGINE_HASH: Hex = keccakUtf8(
  "verinfer ts-int engine, docs/spec/verifiable-engine.md v2",
);

/**
 * The engine measurement of a GGUF worker's receipts: llama.cpp records no execution trace, so these
 * receipts cannot be disputed or spot-checked (their model is registered without steps per position);
 * they are attested, bound to the GGUF file, and scored.
 */
export const LLAMA_CPP_ENGINE_HASH: Hex = keccakUtf8(
  "verinfer llama-cpp engine (node-llama-cpp 3.22.1, CPU, F32 KV cache): no execution trace",
);

/** The model id of a served model name. */
export const modelIdOf = (name: string): Hex => keccakUtf8(`verinfer model: ${name}`);

/** What a worker is, as `/v1/identity` states it and the registry records it. */
export interface WorkerIdentity {
  readonly address: Hex;
  readonly publicKey: Hex;
  readonly modelName: string;
  readonly modelId: Hex;
  readonly weightsHash: Hex;
  readonly engineHash: Hex;
  readonly attestationHash: Hex;
  /**
   * The nonce the registration evidence answers: keccak256(enclave public key ‖ this network's
   * challenge). An operator collecting H100 evidence requests it with this nonce.
   */
  readonly registrationNonce: Hex;
  /** Trace leaves per position (the registry's `stepsPerPosition`). */
  readonly stepsPerPosition: number;
  /** The longest disputable trace of this model, in positions (the registry's `maxDisputePositions`). */
  readonly maxDisputePositions: number;
  readonly chainId: number;
  readonly settlement: Hex;
  readonly adversary: WorkerAdversary;
}

export interface WorkerOptions {
  readonly dataDir: string;
  readonly keyFile?: string | undefined;
  /**
   * A llama2.c checkpoint (its tokenizer beside it), served by the verifiable ts-int engine, or a GGUF
   * model, served by llama.cpp (no traces: not disputable, and no adversary can be played on it).
   */
  readonly model: string;
  readonly modelName: string;
  readonly deployment: Pick<DeploymentFile, "chainId" | "rollup" | "registry" | "deployedAtBlock">;
  /** Addresses whose signed requests this worker serves. */
  readonly gateways: readonly Hex[];
  readonly threads: number;
  /** The niceness of the generation threads (nodeConfig's `engineNice`); default 0, the process's. */
  readonly engineNice?: number | undefined;
  readonly adversary: WorkerAdversary;
  readonly logger: Logger;
  readonly bodyLimit?: number;
  /** The dev TEE's keys (shared by a devnet's workers, so one dev root vouches for all); default per worker. */
  readonly devTeeKeys?: string | undefined;
  /**
   * `dev`: the worker writes dev-TEE evidence for its key. `files`: it serves the evidence its operator
   * collected on the hardware (`<dataDir>/tee/bundle.json` and `collateral/`), which must answer
   * `registrationNonce`.
   */
  readonly evidence?: "dev" | "files";
  /**
   * How long a served request's context is kept (`contextRetentionMs` of the deployment's parameters:
   * past it nothing can dispute the receipt or owe a proof for it); none: forever.
   */
  readonly retentionMs?: number | undefined;
  /** With these, the worker defends its receipts in disputes from its operator's account. */
  readonly defence?: {
    readonly chain: ChainClients;
    readonly disputeGame: Hex;
    readonly params: DisputeParams;
    readonly pollMs: number;
    /** With this, the worker also proves its spot-check obligations (ZK slice proofs). */
    readonly spotChecks?: Hex | undefined;
  };
}

/** A running worker's parts. */
export interface WorkerNode {
  readonly app: FastifyInstance;
  readonly identity: WorkerIdentity;
  readonly store: WorkerStore;
  /** Stops taking requests, lets running ones finish, closes the engine and the store. */
  close(): Promise<void>;
}

/**
 * The dev-TEE evidence bound to the enclave key (DESIGN.md "Attestation evidence"): its digest. A
 * restarted worker keeps the evidence it has for this key and network: the registry holds its digest
 * and every receipt names it, and new evidence (a new report) would make each one a mismatch.
 */
function devAttestation(
  dir: string,
  keysDir: string | undefined,
  publicKey: Uint8Array,
  challenge: Uint8Array,
): Hex {
  if (existsSync(join(dir, "bundle.json")))
    try {
      return collectedAttestation(dir, publicKey, challenge);
    } catch {
      // Made for another key or network, or unreadable: written anew below.
    }
  writeDevEvidence(dir, {
    binding: { enclavePublicKey: publicKey, challenge },
    mode: 0,
    at: Date.now(),
    ...(keysDir ? { keysDir } : {}),
  });
  const bundle = parseEvidenceBundle(readFileSync(join(dir, "bundle.json"), "utf8"));
  if (!bundle.ok) throw new VerinferError(bundle.error.code, `dev evidence: ${bundle.error.message}`);
  return bundleAttestationHash(bundle.value);
}

/**
 * Evidence the operator collected on the hardware for this key and network: its digest. Refused when it
 * is missing (the message names the nonce to collect it with) or made for another key or challenge.
 */
export function collectedAttestation(dir: string, publicKey: Uint8Array, challenge: Uint8Array): Hex {
  const nonce = bytesToHex(bindingNonce(publicKey, challenge));
  const path = join(dir, "bundle.json");
  if (!existsSync(path))
    throw new VerinferError(
      "FILE_NOT_FOUND",
      `no registration evidence at ${path}: collect the GPUs' evidence with nonce ${nonce} and write the bundle there (docs/deploy.md)`,
      { file: path },
    );
  const bundle = parseEvidenceBundle(readFileSync(path, "utf8"));
  if (!bundle.ok) throw new VerinferError(bundle.error.code, `${path}: ${bundle.error.message}`);
  const b = bundle.value;
  if (
    bytesToHex(b.enclavePublicKey) !== bytesToHex(publicKey) ||
    bytesToHex(b.challenge) !== bytesToHex(challenge)
  )
    throw new VerinferError(
      "ATTESTATION_KEY_BINDING_MISMATCH",
      `${path} was made for another enclave key or network: collect it again with nonce ${nonce}`,
    );
  return bundleAttestationHash(b);
}

/** The worker's registration evidence as an attester fetches it: the bundle and its collateral. */
export interface WorkerEvidence {
  /** bundle.json: enclave key, challenge, GPU evidence. */
  readonly bundle: string;
  readonly collateral: {
    readonly rims: readonly { readonly source: string; readonly xml: string }[];
    readonly ocsp: readonly { readonly source: string; readonly der: Hex }[];
  };
}

/** The evidence in a worker's `tee` folder, as `/v1/evidence` serves it. */
export function evidenceOf(dir: string): WorkerEvidence {
  const file = (name: string) => readFileSync(join(dir, name));
  return {
    bundle: file("bundle.json").toString("utf8"),
    collateral: {
      rims: ["driver.swidtag", "vbios.swidtag"].map((n) => ({
        source: n,
        xml: file(join("collateral", "rims", n)).toString("utf8"),
      })),
      ocsp: ["identity.der", "rim-signer.der"].map((n) => ({
        source: n,
        der: bytesToHex(new Uint8Array(file(join("collateral", "ocsp", n)))),
      })),
    },
  };
}

/** The challenge a network's registration evidence answers (binds the evidence to this network). */
export function registrationChallenge(chainId: number, registry: Hex): Uint8Array {
  return hexToBytes(
    keccakUtf8(`verinfer registration: chain ${chainId}, registry ${registry.toLowerCase()}`),
    32,
  );
}

function textOf(tokenizer: Tokenizer, prompt: readonly number[], tokens: readonly number[]): string {
  const decoder = new TextDecoder();
  let previous = prompt[prompt.length - 1] as number;
  let text = "";
  for (const t of tokens) {
    if (t === 1 || t === 2) break; // BOS / EOS end the output
    text += decoder.decode(decodePiece(tokenizer, previous, t), { stream: true });
    previous = t;
  }
  return text + decoder.decode();
}

/**
 * What a generation served, as its receipt commits to it: from the verifiable engine's trace (with its
 * model root and trace root), or — llama.cpp keeps no trace — from the tokens it reports, with a zero
 * trace root (the GGUF worker's receipts are not disputable).
 */
function servedTokensOf(
  result: GenerationResult,
  traced: boolean,
): { context: ExecutionContext; output: readonly number[]; traceRoot: Hex; weightsHash: Hex | null } {
  if (traced) {
    const trace = result.trace;
    if (!trace?.sampled) throw new VerinferError("ENGINE_FAILED", "the engine recorded no trace");
    return {
      context: { prompt: trace.tokens.slice(0, trace.promptTokens), sampling: trace.sampling },
      output: trace.sampled,
      traceRoot: trace.root as Hex,
      weightsHash: trace.modelRoot as Hex,
    };
  }
  if (!result.promptTokenIds || !result.tokenIds)
    throw new VerinferError("ENGINE_FAILED", "the engine reported no token ids");
  return {
    context: {
      prompt: [...result.promptTokenIds],
      sampling: { temperature: result.params.temperature, topP: result.params.topP, seed: result.seed },
    },
    output: result.tokenIds,
    traceRoot: `0x${"00".repeat(32)}`,
    weightsHash: null,
  };
}

/**
 * The request's parameters with `maxTokens` capped so that the receipt spans at most `limit` positions
 * (prompt + output − 1): the longest trace the model's dispute game accepts, which the sequencer
 * enforces at admission (RECEIPT_NOT_DISPUTABLE) — a longer receipt could never be disputed.
 */
function disputableParams(tokenizer: Tokenizer, body: InferRequest, limit: number): InferRequest["params"] {
  const prompt = contextOfRequest(tokenizer, body).prompt.length;
  if (prompt > limit)
    throw new VerinferError(
      "GENERATION_INVALID",
      `the prompt is ${prompt} tokens; a disputable receipt of this model spans at most ${limit} positions`,
    );
  return { ...body.params, maxTokens: Math.min(body.params.maxTokens, limit - prompt + 1) };
}

/** Builds a worker (not yet listening). */
export async function createWorker(o: WorkerOptions): Promise<WorkerNode> {
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const { key } = loadOrCreateKey(o.keyFile ?? join(o.dataDir, "enclave.key"));
  const privateKey = hexToBytes(key, 32);
  const publicKey = secp256k1.getPublicKey(privateKey, false);
  const gguf = isGguf(o.model);
  if (gguf && o.adversary !== "none")
    throw new VerinferError(
      "CONFIG_INVALID",
      `adversary "${o.adversary}" cheats on the verifiable engine's traces; ${o.model} is a GGUF model (llama.cpp, no traces)`,
    );
  const verifiable = gguf
    ? null
    : (() => {
        const llama = loadLlama2c(o.model);
        return { llama, intModel: quantizeCheckpoint(llama.checkpoint, o.model) as IntModel };
      })();
  // The downgrade cheat's cheaper model: same shape, other (seeded) weights; built on first use.
  let cheap: IntModel | null = null;
  const cheapModel = (shape: IntModel["shape"]) => {
    cheap ??= generatedIntModel(shape, 1);
    return cheap;
  };
  const challenge = registrationChallenge(o.deployment.chainId, o.deployment.registry);
  const teeDir = join(o.dataDir, "tee");
  const identity: WorkerIdentity = {
    address: addressOf(publicKey),
    publicKey: bytesToHex(publicKey),
    modelName: o.modelName,
    modelId: modelIdOf(o.modelName),
    weightsHash: verifiable ? modelRoot(verifiable.intModel) : ggufFileHash(o.model),
    engineHash: verifiable ? TS_INT_ENGINE_HASH : LLAMA_CPP_ENGINE_HASH,
    attestationHash:
      o.evidence === "files"
        ? collectedAttestation(teeDir, publicKey, challenge)
        : devAttestation(teeDir, o.devTeeKeys, publicKey, challenge),
    registrationNonce: bytesToHex(bindingNonce(publicKey, challenge)),
    stepsPerPosition: verifiable ? stepsPerPosition(verifiable.intModel.shape) : 0,
    maxDisputePositions: verifiable
      ? disputablePositions(verifiable.intModel.shape.dim, verifiable.intModel.shape.seqLen)
      : 0,
    chainId: o.deployment.chainId,
    settlement: o.deployment.rollup.toLowerCase() as Hex,
    adversary: o.adversary,
  };
  const engine: Engine = await createEngine({
    engine: verifiable ? "ts-int" : "llama-cpp",
    model: o.model,
    threads: o.threads,
    nice: o.engineNice ?? 0,
  });
  const store = WorkerStore.open(join(o.dataDir, "worker.sqlite"));
  const accepted = new Set(o.gateways.map((g) => g.toLowerCase()));
  const sign = fastSignDigest();
  const metrics = new NodeMetrics("worker");
  const served = metrics.counter("requests_total", "inference requests by outcome", ["outcome"]);
  const generationSeconds = metrics.seconds("generation_seconds", "generation time per request");
  const inFlight = metrics.gauge("in_flight", "generations running or waiting");
  let running = 0;
  let closing = false;

  // A cheat does not defend its receipts (it would lose at the one-step check anyway); a TEE whose key
  // leaked defends its own, and cannot defend the forgeries (their roots do not regenerate).
  const defender =
    o.defence && teeHonest(o.adversary) && verifiable
      ? new DisputeDefender(
          o.defence.chain,
          o.defence.disputeGame,
          identity.address,
          o.defence.params,
          verifiable.intModel,
          store,
          o.logger,
          deployedFrom(o.deployment),
        )
      : null;
  const spotProver =
    o.defence?.spotChecks && teeHonest(o.adversary) && verifiable
      ? new SpotCheckProver(
          o.defence.chain,
          o.defence.spotChecks,
          identity.address,
          verifiable.intModel,
          store,
          o.logger,
          deployedFrom(o.deployment),
        )
      : null;
  // Ready to prove before it is ready to serve: an obligation must not wait on the circuit's compiling.
  if (spotProver) await SliceProver.prepare();
  const defenceTimer =
    defender && o.defence
      ? setInterval(() => {
          void defender.step();
          void spotProver?.step();
        }, o.defence.pollMs)
      : null;
  /** A store write; one that fails (a full disk) ends its request with STORE_UNAVAILABLE: no receipt leaves. */
  const durably = <T>(write: () => T): T => {
    try {
      return write();
    } catch (e) {
      o.logger.error(
        { err: (e as Error).message },
        "the worker store failed: the request's receipt is not sent",
      );
      throw new VerinferError(
        "STORE_UNAVAILABLE",
        "the worker cannot record what it serves now; retry later",
      );
    }
  };
  const retentionMs = o.retentionMs;
  const forgetServed = async (keepForMs: number) => {
    // Until the defence has caught up with the chain, any context may belong to a game it has not found.
    const keep = defender ? defender.openRequests() : [];
    if (keep === null) return;
    const before = Date.now() - keepForMs;
    // A batch of rows per transaction, yielding between them: requests go on being served meanwhile.
    const total = await forgetInSteps(
      () => store.prune(before, keep),
      () => closing,
      o.logger,
    );
    if (total > 0)
      o.logger.info(
        { forgotten: total, retentionMs: keepForMs },
        "forgot served requests past the dispute horizon",
      );
  };
  const pruneTimer =
    retentionMs === undefined
      ? null
      : setInterval(() => void forgetServed(retentionMs), sweepEveryMs(retentionMs));
  if (gguf) o.logger.warn({}, "a GGUF model records no execution trace: its receipts cannot be disputed");
  else if (!defender && o.defence)
    o.logger.warn(
      { adversary: o.adversary },
      "this worker plays a cheat: it will not defend its receipts in disputes",
    );
  else if (!defender)
    o.logger.warn({}, "no operator account: this worker will not defend its receipts in disputes");

  const app = Fastify({ bodyLimit: o.bodyLimit ?? 256 * 1024, logger: false });
  // The raw body is what the gateway signed.
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    (request as unknown as { rawBody: string }).rawBody = body as string;
    try {
      done(null, JSON.parse(body as string));
    } catch (e) {
      done(Object.assign(new Error(`the body is not JSON: ${(e as Error).message}`), { statusCode: 400 }));
    }
  });
  installErrorReplies(app, (error) => o.logger.error({ err: error }, "internal error"));

  readyRoute(app, () => (closing ? "draining: shutting down" : null));
  app.get("/health", async () => ({
    ok: !closing,
    role: "worker",
    address: identity.address,
    running,
    defends: defender !== null,
    disputes: defender?.outcomes.items ?? [],
    disputeBondsWithdrawnWei: String(defender?.bonds.withdrawn ?? 0n),
    spotChecks: spotProver?.proven.items ?? [],
    spotChecksProven: spotProver?.provenTotal ?? 0,
  }));
  app.get("/metrics", async (_request, reply) => {
    const { contentType, text } = await metrics.exposition();
    return reply.header("content-type", contentType).send(text);
  });
  app.get("/v1/identity", async () => identity);
  const devKeysDir = o.evidence === "files" ? null : (o.devTeeKeys ?? teeDir);
  app.get("/v1/evidence", async () => {
    const evidence = evidenceOf(teeDir);
    if (devKeysDir === null) return evidence;
    // The dev TEE's root answers OCSP now: collateral as fresh as an H100 operator fetches from NVIDIA,
    // so the worker can be re-attested however long ago its report was made.
    const [identity, rimSigner] = freshDevOcsp(devKeysDir, Date.now()).map((der) => bytesToHex(der));
    return {
      ...evidence,
      collateral: {
        ...evidence.collateral,
        ocsp: [
          { source: "identity.der", der: identity as Hex },
          { source: "rim-signer.der", der: rimSigner as Hex },
        ],
      },
    };
  });
  app.get<{ Params: { id: string } }>("/v1/traces/:id", async (request) => {
    const id = request.params.id;
    const s = /^0x[0-9a-fA-F]{64}$/.test(id) ? store.byRequestId(id as Hex) : undefined;
    if (!s || (o.adversary === "withholding" && cheatsOn(o.adversary, s.requestId)))
      throw new VerinferError("RECEIPT_NOT_FOUND", `this worker served no request ${id}`);
    return {
      requestId: s.requestId,
      context: s.context,
      outputTokens: s.outputTokens,
      output: s.output,
      receipt: s.answer.receipt,
      leafCount: identity.stepsPerPosition * (s.context.prompt.length + s.outputTokens - 1),
    };
  });

  app.post("/v1/infer", async (request, reply) => {
    const raw = (request as unknown as { rawBody?: string }).rawBody ?? "";
    const auth = verifyRoleMessage(
      request.headers,
      { method: "POST", path: "/v1/infer", body: raw },
      accepted,
      Date.now(),
    );
    if (!auth.ok) throw new VerinferError(auth.error.code, auth.error.message);
    const parsed = INFER_REQUEST.safeParse(request.body);
    if (!parsed.success)
      throw new VerinferError(
        "API_REQUEST_INVALID",
        `invalid inference request: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ")}`,
      );
    if (closing) throw new VerinferError("API_BUSY", "the worker is shutting down");
    const body = parsed.data;
    const requestHash = keccak256Hex(utf8Bytes(JSON.stringify(body)));
    const before = store.byRequestId(body.requestId as Hex);
    if (before) {
      // The gateway retried (it crashed or lost the connection): the same request gets the same answer.
      if (before.requestHash !== requestHash)
        throw new VerinferError(
          "WORKER_REQUEST_REPLAYED",
          `request ${body.requestId} was served with another request`,
        );
      served.inc({ outcome: "replayed" });
      reply.header("content-type", "application/x-ndjson");
      return `${JSON.stringify({ done: true, ...before.answer })}\n`;
    }
    const hangUp = new AbortController();
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) hangUp.abort();
    });
    running++;
    inFlight.set(running);
    const started = performance.now();
    let stream: AsyncGenerator<GenerationChunk, GenerationResult, void> | null = null;
    const requestId = body.requestId.toLowerCase() as Hex;
    const cheating = cheatsOn(o.adversary, requestId);
    try {
      let context: ExecutionContext;
      let outputTokens: number;
      let generated: readonly number[] = [];
      let honest: {
        fields: GenerationFields;
        text: string;
        finishReason: ServedAnswer["finishReason"];
        completion: number;
      } | null = null;
      // A verifiable receipt must stay disputable: its generation is capped at the model's disputable length.
      const params = verifiable
        ? disputableParams(verifiable.llama.tokenizer, body, identity.maxDisputePositions)
        : body.params;
      if (o.adversary === "lazy" && verifiable) {
        // Runs nothing: tokenizes the prompt only, to name it in the receipt.
        const { seqLen } = verifiable.intModel.shape;
        context = contextOfRequest(verifiable.llama.tokenizer, body);
        const prompt = context.prompt;
        if (prompt.length >= seqLen)
          throw new VerinferError(
            "GENERATION_INVALID",
            `the prompt is ${prompt.length} tokens; the model's context is ${seqLen}`,
          );
        outputTokens = Math.min(params.maxTokens, seqLen - prompt.length + 1);
        reply.hijack();
        reply.raw.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-cache" });
      } else {
        stream = engine.stream({
          messages: body.messages,
          params,
          seed: body.seed,
          trace: verifiable !== null,
          signal: hangUp.signal,
        });
        // The first step runs before anything is written, so a bad request still gets a 4xx.
        let next = await stream.next();
        reply.hijack();
        reply.raw.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-cache" });
        while (!next.done) {
          if (!cheating && next.value.text) reply.raw.write(`${JSON.stringify({ text: next.value.text })}\n`);
          next = await stream.next();
        }
        const result = next.value;
        const served = servedTokensOf(result, verifiable !== null);
        context = served.context;
        generated = served.output;
        outputTokens = generated.length;
        honest = {
          fields: {
            weightsHash: served.weightsHash ?? identity.weightsHash,
            promptHash: bytesToHex(promptHashOf(context.prompt)),
            paramsHash: bytesToHex(paramsHashOf(context.sampling)),
            outputHash: bytesToHex(promptHashOf(generated)),
            traceRoot: served.traceRoot,
            inputTokens: context.prompt.length,
            outputTokens,
          },
          text: result.text,
          finishReason: result.finishReason,
          completion: result.tokenIds?.length ?? 0,
        };
      }
      const lie =
        cheating && o.adversary !== "none" && verifiable
          ? cheat(
              o.adversary,
              { registered: verifiable.intModel, cheap: () => cheapModel(verifiable.intModel.shape) },
              context,
              outputTokens,
              requestId,
            )
          : null;
      const text =
        lie && verifiable
          ? textOf(verifiable.llama.tokenizer, context.prompt, lie.generated)
          : (honest?.text ?? "");
      if (lie) reply.raw.write(`${JSON.stringify({ text })}\n`);
      const fields = lie?.fields ?? (honest as NonNullable<typeof honest>).fields;
      const latencyMs = Math.round(performance.now() - started);
      const sequence = durably(() => store.nextSequence());
      const receipt: Receipt = {
        version: 1,
        chainId: BigInt(identity.chainId),
        settlement: identity.settlement,
        requestId,
        worker: identity.address,
        modelId: identity.modelId,
        engineHash: identity.engineHash,
        ...fields,
        latencyMs,
        timestamp: BigInt(Date.now()),
        sequence,
        attestationHash: identity.attestationHash,
      };
      const answer: ServedAnswer = {
        text,
        finishReason: honest?.finishReason ?? "length",
        usage: {
          promptTokens: context.prompt.length,
          completionTokens: honest?.completion ?? lie?.generated.length ?? 0,
        },
        receipt: receiptToJson({ receipt, signature: sign(receiptDigest(receipt), privateKey) }),
      };
      durably(() =>
        store.record({
          requestId: receipt.requestId,
          requestHash,
          sequence,
          context,
          outputTokens,
          output: lie?.generated ?? generated,
          answer,
          servedAtMs: Date.now(),
        }),
      );
      reply.raw.end(`${JSON.stringify({ done: true, ...answer })}\n`);
      served.inc({ outcome: "served" });
      generationSeconds.observe((performance.now() - started) / 1000);
      o.logger.info(
        { requestId: receipt.requestId, sequence: String(sequence), latencyMs, outputTokens },
        "served",
      );
      return reply;
    } catch (error) {
      served.inc({ outcome: hangUp.signal.aborted ? "cancelled" : "failed" });
      if (!reply.sent && !reply.raw.headersSent) throw error;
      if (!(error instanceof VerinferError)) o.logger.error({ err: error }, "generation failed");
      if (!hangUp.signal.aborted) reply.raw.end(`${JSON.stringify(httpErrorOf(error).body)}\n`);
      return reply;
    } finally {
      hangUp.abort();
      await stream?.return(undefined as never).catch(() => {});
      running--;
      inFlight.set(running);
    }
  });

  return {
    app,
    identity,
    store,
    async close() {
      closing = true;
      if (defenceTimer) clearInterval(defenceTimer);
      if (pruneTimer) clearInterval(pruneTimer);
      await spotProver?.close();
      await closeDraining(app); // waits for running requests
      await engine.close();
      store.close();
    },
  };
}
