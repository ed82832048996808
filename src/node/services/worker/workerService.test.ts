/**
 * The worker role in process (real engine threads, real SQLite, real HTTP via inject): its receipts
 * commit to exactly what the protocol's own replay computes (so a dispute over them is decided by the
 * same code), the wrong-output adversary's do not, a request id is served once (across a restart too,
 * which keeps what it served for checkers), and its key file and configuration are checked.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toGguf } from "../../../engine/gguf/ggufWriter.ts";
import { PRESETS } from "../../../engine/llama2c/generateModel.ts";
import {
  loadCheckpoint,
  loadLlama2c,
  quantizeCheckpoint,
  writeGeneratedModel,
} from "../../../engine/llama2c/modelFiles.ts";
import type { Hex } from "../../../protocol/encoding/hex.ts";
import { validateSignedReceipt } from "../../../protocol/receipt/receipt.ts";
import { recoverReceiptSigner } from "../../../protocol/receipt/verifyReceipt.ts";
import type { ExecutionContext } from "../../../protocol/verifiable/replay.ts";
import { verifiableGeneration } from "../../../protocol/verifiable/verifiableGeneration.ts";
import { attestWorkerEvidence, pinnedDevRoot } from "../../attester.ts";
import { readKeyFile } from "../../keys.ts";
import { resolveRoleConfig } from "../../nodeConfig.ts";
import { nodeLogger } from "../../observability.ts";
import { addressOfKey, signRoleMessage } from "../../roleAuth.ts";
import { startFisherman } from "../../runNode.ts";
import type { WorkerAdversary } from "./adversaries.ts";
import {
  createWorker,
  evidenceOf,
  registrationChallenge,
  type WorkerEvidence,
  type WorkerNode,
} from "./workerService.ts";

const dir = mkdtempSync(join(tmpdir(), "verinfer-worker-"));
const model = join(dir, "tiny.bin");
writeGeneratedModel(model, PRESETS.tiny as NonNullable<typeof PRESETS.tiny>, 7);
const intModel = quantizeCheckpoint(loadCheckpoint(model), model);
const GATEWAY_KEY = `0x${"42".repeat(32)}` as Hex;
const deployment = {
  chainId: 31337,
  rollup: "0x5fbdb2315678afecb367f032d93f642f64180aa3" as Hex,
  registry: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512" as Hex,
};
let honest: WorkerNode;
let cheat: WorkerNode;

const build = (name: string, adversary: WorkerAdversary, retentionMs?: number) =>
  createWorker({
    dataDir: join(dir, name),
    model,
    modelName: "verinfer-tiny",
    deployment,
    gateways: [addressOfKey(GATEWAY_KEY)],
    threads: 1,
    adversary,
    logger: nodeLogger("worker", "silent"),
    retentionMs,
  });

beforeAll(async () => {
  honest = await build("honest", "none");
  cheat = await build("cheat", "wrong-output");
}, 60_000);

afterAll(async () => {
  await honest?.close();
  await cheat?.close();
});

function infer(w: WorkerNode, body: unknown, key: Hex = GATEWAY_KEY) {
  const text = JSON.stringify(body);
  return w.app.inject({
    method: "POST",
    url: "/v1/infer",
    headers: {
      "content-type": "application/json",
      ...signRoleMessage(key, "POST", "/v1/infer", text, Date.now()),
    },
    payload: text,
  });
}

const request = (n: number, content = "user says hello") => ({
  requestId: `0x${n.toString(16).padStart(64, "0")}`,
  messages: [{ role: "user", content }],
  params: { temperature: 0.8, topP: 0.9, maxTokens: 6, stop: [] },
  seed: n,
});

function finalLine(payload: string) {
  const lines = payload
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  return lines[lines.length - 1] as {
    done: true;
    text: string;
    receipt: { receipt: Record<string, unknown>; signature: Hex };
  };
}

describe("worker receipts", () => {
  it("commit to the protocol replay's trace root, output and request hashes, signed by the enclave key", async () => {
    for (const n of [1, 2, 3]) {
      const response = await infer(honest, request(n, `question ${n}`));
      expect(response.statusCode).toBe(200);
      const done = finalLine(response.payload);
      const signed = validateSignedReceipt(done.receipt);
      expect(signed.ok).toBe(true);
      if (!signed.ok) return;
      const r = signed.value.receipt;
      const signer = recoverReceiptSigner(signed.value);
      expect(signer.ok && signer.value).toBe(honest.identity.address);
      const served = honest.store.byRequestId(r.requestId);
      const context = served?.context as ExecutionContext;
      const replay = verifiableGeneration(intModel, context, r.outputTokens);
      expect(r.traceRoot).toBe(replay.fields.traceRoot);
      expect(r.outputHash).toBe(replay.fields.outputHash);
      expect(r.promptHash).toBe(replay.fields.promptHash);
      expect(r.paramsHash).toBe(replay.fields.paramsHash);
      expect(r.weightsHash).toBe(replay.fields.weightsHash);
      expect(r.sequence).toBe(BigInt(n));
      expect(r.chainId).toBe(31337n);
    }
  }, 60_000);

  it("each adversary's receipts claim the registered model and request but not the replay's trace", async () => {
    for (const adversary of ["wrong-output", "downgrade", "lazy"] as const) {
      const w = adversary === "wrong-output" ? cheat : await build(adversary, adversary);
      try {
        const done = finalLine((await infer(w, request(9))).payload);
        const signed = validateSignedReceipt(done.receipt);
        if (!signed.ok) throw new Error(signed.error.message);
        const r = signed.value.receipt;
        const context = w.store.byRequestId(r.requestId)?.context as ExecutionContext;
        const replay = verifiableGeneration(intModel, context, r.outputTokens);
        expect(r.traceRoot, adversary).not.toBe(replay.fields.traceRoot);
        expect(r.promptHash, adversary).toBe(replay.fields.promptHash);
        expect(r.paramsHash, adversary).toBe(replay.fields.paramsHash);
        expect(r.weightsHash, adversary).toBe(replay.fields.weightsHash); // the registered weights, claimed
        expect(recoverReceiptSigner(signed.value).ok, adversary).toBe(true);
      } finally {
        if (w !== cheat) await w.close();
      }
    }
  }, 60_000);

  it("serves a request id once: the same request again gets the same answer, another request a 409", async () => {
    const a = finalLine((await infer(honest, request(20))).payload);
    const b = finalLine((await infer(honest, request(20))).payload);
    expect(b.receipt).toEqual(a.receipt);
    const other = await infer(honest, request(20, "something else"));
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe("WORKER_REQUEST_REPLAYED");
  }, 60_000);

  it("restarted on its store, keeps its evidence and what it served: same answer, its trace context, sequences going on", async () => {
    const first = await build("restarting", "none");
    const identity = async (w: WorkerNode) =>
      (await w.app.inject({ method: "GET", url: "/v1/identity" })).json();
    const registered = await identity(first);
    const before = finalLine((await infer(first, request(40))).payload);
    await first.close();
    const again = await build("restarting", "none");
    try {
      // The same key and the same evidence: the registry's attestation digest still names it.
      expect(await identity(again)).toEqual(registered);
      // The request served before the restart: the same signed receipt, never a second generation.
      expect(finalLine((await infer(again, request(40))).payload).receipt).toEqual(before.receipt);
      const other = await infer(again, request(40, "something else"));
      expect(other.json().error.code).toBe("WORKER_REQUEST_REPLAYED");
      // Its execution context is still served to checkers, and it replays to the receipt's trace root.
      const trace = (
        await again.app.inject({ method: "GET", url: `/v1/traces/${request(40).requestId}` })
      ).json() as { context: ExecutionContext; outputTokens: number; receipt: unknown };
      expect(trace.receipt).toEqual(before.receipt);
      const replay = verifiableGeneration(intModel, trace.context, trace.outputTokens);
      expect(replay.fields.traceRoot).toBe(before.receipt.receipt.traceRoot);
      // A new request takes the next sequence number: none is signed twice.
      const next = finalLine((await infer(again, request(41))).payload);
      expect(BigInt(next.receipt.receipt.sequence as string)).toBe(
        BigInt(before.receipt.receipt.sequence as string) + 1n,
      );
    } finally {
      await again.close();
    }
  }, 60_000);

  it("forgets what it served once its retention has passed, except what a game still being played needs", async () => {
    const traceStatus = async (w: WorkerNode, n: number) =>
      (await w.app.inject({ method: "GET", url: `/v1/traces/${request(n).requestId}` })).statusCode;
    // The store's rule: served before the cutoff, and not kept for a game.
    const kept = await build("keeping", "none");
    try {
      for (const n of [50, 51, 53]) await infer(kept, request(n));
      const cutoff = Date.now() + 1;
      const keep = [request(51).requestId as Hex];
      // Oldest first, one row (beside the kept one) per call.
      expect(kept.store.prune(cutoff, keep, 1)).toEqual({ forgotten: 1, more: true });
      expect(kept.store.prune(cutoff, keep, 1)).toEqual({ forgotten: 1, more: true });
      expect(kept.store.prune(cutoff, keep, 1)).toEqual({ forgotten: 0, more: false });
      expect(
        [50, 51, 53].map((n) => kept.store.byRequestId(request(n).requestId as Hex) !== undefined),
      ).toEqual([false, true, false]);
      expect([await traceStatus(kept, 50), await traceStatus(kept, 51)]).toEqual([404, 200]);
    } finally {
      await kept.close();
    }
    // The worker's own timer: a retention of 400 ms is looked at every 50 ms.
    const forgetting = await build("forgetting", "none", 400);
    try {
      await infer(forgetting, request(52));
      expect(await traceStatus(forgetting, 52)).toBe(200);
      for (let i = 0; i < 60 && forgetting.store.byRequestId(request(52).requestId as Hex); i++)
        await new Promise((wake) => setTimeout(wake, 50));
      expect(await traceStatus(forgetting, 52)).toBe(404);
    } finally {
      await forgetting.close();
    }
  }, 60_000);

  it("sends no receipt for what it could not record (a full disk), says so, and serves on once it can", async () => {
    const full = await build("full", "none");
    try {
      // A full disk, injected once: SQLite refuses the served request's row.
      const record = full.store.record.bind(full.store);
      let failures = 0;
      full.store.record = (s) => {
        if (failures++ === 0) throw new Error("database or disk is full");
        record(s);
      };
      const refused = await infer(full, request(60));
      const last = JSON.parse(refused.payload.trim().split("\n").at(-1) as string);
      expect(last.done).toBeUndefined();
      expect(last.error.code).toBe("STORE_UNAVAILABLE");
      expect(full.store.byRequestId(request(60).requestId as Hex)).toBeUndefined();
      // The same request again is served, signed and recorded (its first sequence is skipped, harmlessly).
      const again = finalLine((await infer(full, request(60))).payload);
      expect(again.done).toBe(true);
      expect(again.receipt.receipt.sequence).toBe("2");
      expect(full.store.byRequestId(request(60).requestId as Hex)?.sequence).toBe(2n);
    } finally {
      await full.close();
    }
  }, 60_000);

  it("refuses unsigned, foreign-signed and malformed requests", async () => {
    const unsigned = await honest.app.inject({ method: "POST", url: "/v1/infer", payload: request(30) });
    expect(unsigned.statusCode).toBe(401);
    const foreign = await infer(honest, request(31), `0x${"07".repeat(32)}` as Hex);
    expect(foreign.statusCode).toBe(401);
    expect(foreign.json().error.code).toBe("NODE_AUTH_INVALID");
    const bad = await infer(honest, { ...request(32), params: { temperature: 9 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("API_REQUEST_INVALID");
    const extra = await infer(honest, { ...request(33), admin: true });
    expect(extra.statusCode).toBe(400);
  });
});

describe("registration evidence", () => {
  it("stays re-attestable: the dev root answers its collateral fresh, however long ago it issued the certificates", async () => {
    // A devnet whose shared dev root issued its certificates 10 days ago.
    const keys = join(dir, "old-dev-tee");
    mkdirSync(keys, { recursive: true });
    writeFileSync(join(keys, "issued-at"), `${Math.floor((Date.now() - 10 * 86_400_000) / 1000) * 1000}\n`);
    const renewing = await createWorker({
      dataDir: join(dir, "renewing"),
      model,
      modelName: "verinfer-tiny",
      deployment,
      gateways: [addressOfKey(GATEWAY_KEY)],
      threads: 1,
      adversary: "none",
      logger: nodeLogger("worker", "silent"),
      devTeeKeys: keys,
    });
    try {
      const tee = join(dir, "renewing", "tee");
      const attest = (evidence: WorkerEvidence) =>
        attestWorkerEvidence(evidence, {
          challenge: registrationChallenge(deployment.chainId, deployment.registry),
          devRoot: pinnedDevRoot(readFileSync(join(tee, "dev-root.pem"), "utf8")),
          at: Date.now(),
        });
      // The collateral written with the certificates is 10 days old: past the policy's 7 days.
      expect(() => attest(evidenceOf(tee))).toThrow(/ATTESTATION_OCSP_STALE/);
      // What the worker serves is answered now, for the same report: the same attestation hash.
      const served = (
        await renewing.app.inject({ method: "GET", url: "/v1/evidence" })
      ).json() as WorkerEvidence;
      expect(attest(served)).toEqual({
        worker: renewing.identity.address,
        attestationHash: renewing.identity.attestationHash,
      });
    } finally {
      await renewing.close();
    }
  }, 60_000);

  it("verifies for the attester against the pinned dev root and this network's challenge, and only then", async () => {
    const evidence = (
      await honest.app.inject({ method: "GET", url: "/v1/evidence" })
    ).json() as WorkerEvidence;
    const devRoot = pinnedDevRoot(readFileSync(join(dir, "honest", "tee", "dev-root.pem"), "utf8"));
    const challenge = registrationChallenge(deployment.chainId, deployment.registry);
    const ok = attestWorkerEvidence(evidence, { challenge, devRoot, at: Date.now() });
    expect(ok).toEqual({ worker: honest.identity.address, attestationHash: honest.identity.attestationHash });
    // Another network's challenge, another dev root, a tampered report: refused with the failing claim.
    const otherChallenge = registrationChallenge(1, deployment.registry);
    expect(() =>
      attestWorkerEvidence(evidence, { challenge: otherChallenge, devRoot, at: Date.now() }),
    ).toThrow(/ATTESTATION_KEY_BINDING_MISMATCH|challenge/);
    const foreignRoot = pinnedDevRoot(readFileSync(join(dir, "cheat", "tee", "dev-root.pem"), "utf8"));
    expect(() => attestWorkerEvidence(evidence, { challenge, devRoot: foreignRoot, at: Date.now() })).toThrow(
      /ATTESTATION_CHAIN_UNTRUSTED_ROOT/,
    );
    const bundle = JSON.parse(evidence.bundle) as { gpus: { evidence: string }[] };
    const gpu = bundle.gpus[0] as { evidence: string };
    const flipped = Buffer.from(gpu.evidence, "base64");
    flipped[flipped.length - 120] = (flipped[flipped.length - 120] as number) ^ 1;
    gpu.evidence = flipped.toString("base64");
    expect(() =>
      attestWorkerEvidence(
        { ...evidence, bundle: JSON.stringify(bundle) },
        { challenge, devRoot, at: Date.now() },
      ),
    ).toThrow(/ATTESTATION_/);
  });
});

describe("node keys and configuration", () => {
  it("refuses key files other users can read, and files that hold no key", () => {
    const loose = join(dir, "loose.key");
    writeFileSync(loose, `0x${"11".repeat(32)}\n`, { mode: 0o644 });
    chmodSync(loose, 0o644);
    expect(() => readKeyFile(loose)).toThrow(/KEY_FILE_INSECURE|mode 0644/);
    const junk = join(dir, "junk.key");
    writeFileSync(junk, "hello\n", { mode: 0o600 });
    expect(() => readKeyFile(junk)).toThrow(/one 0x-prefixed 32-byte hex private key/);
    const zero = join(dir, "zero.key");
    writeFileSync(zero, `0x${"00".repeat(32)}\n`, { mode: 0o600 });
    expect(() => readKeyFile(zero)).toThrow(/not a secp256k1 private key/);
    // The worker made its enclave key with mode 0600.
    expect(readKeyFile(join(dir, "honest", "enclave.key"))).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it("a GGUF model runs no cheat and needs no fisherman: both configurations are refused with CONFIG_INVALID", async () => {
    const m = loadLlama2c(model);
    const gguf = join(dir, "tiny.gguf");
    writeFileSync(gguf, toGguf(m.checkpoint, m.tokenizer, "verinfer-tiny"));
    await expect(
      createWorker({
        dataDir: join(dir, "gguf-cheat"),
        model: gguf,
        modelName: "verinfer-tiny",
        deployment,
        gateways: [addressOfKey(GATEWAY_KEY)],
        threads: 1,
        adversary: "lazy",
        logger: nodeLogger("worker", "silent"),
      }),
    ).rejects.toThrow(/adversary "lazy" cheats on the verifiable engine's traces/);
    const fisherman = resolveRoleConfig(
      "fisherman",
      undefined,
      {},
      {
        dataDir: join(dir, "fisherman"),
        deployment: join(dir, "none.json"),
        keyFile: join(dir, "none.key"),
        model: gguf,
        gateway: "http://127.0.0.1:1",
      },
    );
    await expect(startFisherman(fisherman as never)).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: /is a GGUF model: llama.cpp records no execution trace/,
    });
  });

  it("resolves defaults < file < environment < flags and reports every problem at once", () => {
    const file = join(dir, "worker.json");
    writeFileSync(
      file,
      JSON.stringify({
        worker: {
          port: 9000,
          dataDir: "/tmp/w",
          deployment: "d.json",
          model: "m.bin",
          gateways: ["0x0000000000000000000000000000000000000001"],
        },
      }),
    );
    const c = resolveRoleConfig(
      "worker",
      file,
      { VERINFER_WORKER_PORT: "9100", VERINFER_WORKER_THREADS: "2" },
      { port: 9200 },
    );
    expect(c.port).toBe(9200);
    expect(c.threads).toBe(2);
    expect(c.host).toBe("127.0.0.1");
    expect(c.adversary).toBe("none");
    let message = "";
    try {
      resolveRoleConfig("gateway", undefined, { VERINFER_GATEWAY_PORT: "99999" }, { workers: "not a url" });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/CONFIG_INVALID|invalid gateway configuration/);
    for (const field of ["port", "dataDir", "deployment", "keyFile", "workers"])
      expect(message).toContain(field);
  });
});
