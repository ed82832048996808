/**
 * The gateway's front door in process (real Fastify via inject, real SQLite): per-client API keys,
 * token-bucket rate limits with Retry-After, and request limits — all decided before any worker or
 * the chain is involved, so nothing is recorded for a refused request.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clientsFor } from "../../../chain/deploy.ts";
import type { DeploymentFile } from "../../../chain/deploymentFile.ts";
import { bytesToHex } from "../../../protocol/encoding/hex.ts";
import { DEVNET_OTR_PARAMS } from "../../../protocol/params/otr.ts";
import { receiptDigest } from "../../../protocol/receipt/receipt.ts";
import { signReceipt } from "../../../protocol/receipt/verifyReceipt.ts";
import { BatchTree } from "../../../protocol/rollup/batchTree.ts";
import { leafOfSigned } from "../../../protocol/rollup/sequencer.ts";
import { devReceipt, ENCLAVE_KEY } from "../../../testing/devWorker.ts";
import { nodeLogger } from "../../observability.ts";
import { ReceiptStore } from "../../store/receiptStore.ts";
import { createGateway } from "./gatewayService.ts";

const KEY = `0x${"42".repeat(32)}` as const;
const ALICE = "alice-key-0123456789";
const deployment: DeploymentFile = {
  kind: "verinfer.deployment",
  rpcUrl: "http://127.0.0.1:9",
  chainId: 31337,
  owner: "0x0000000000000000000000000000000000000001",
  token: "0x0000000000000000000000000000000000000002",
  registry: "0x0000000000000000000000000000000000000003",
  rollup: "0x0000000000000000000000000000000000000004",
};
const gateway = createGateway({
  dataDir: mkdtempSync(join(tmpdir(), "verinfer-gateway-")),
  key: KEY,
  chain: clientsFor(deployment.rpcUrl, deployment.chainId, KEY),
  deployment,
  workers: ["http://127.0.0.1:9"],
  rollupParams: DEVNET_OTR_PARAMS.rollup,
  apiClients: [{ key: ALICE, name: "alice", requestsPerMinute: 2 }],
  openRequestsPerMinute: 100,
  bodyLimit: 4096,
  refreshMs: 60_000,
  routingSeed: 0,
  logger: nodeLogger("gateway", "silent"),
});

afterAll(() => gateway.close());

const chat = (
  headers: Record<string, string>,
  payload: unknown = { messages: [{ role: "user", content: "hi" }] },
) =>
  gateway.app.inject({
    method: "POST",
    url: "/v1/chat/completions",
    headers: { "content-type": "application/json", ...headers },
    payload: payload as object,
  });

describe("gateway front door", () => {
  it("requires a known API key on /v1 when keys are configured", async () => {
    for (const headers of [{}, { authorization: "Bearer nope-nope-nope-nope" }, { authorization: ALICE }]) {
      const r = await chat(headers);
      expect(r.statusCode).toBe(401);
      expect(r.json().error.code).toBe("API_UNAUTHORIZED");
    }
    expect((await gateway.app.inject({ method: "GET", url: "/v1/models" })).statusCode).toBe(401);
    expect((await gateway.app.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
    // Alive, but not ready: it knows no healthy, staked worker to route to (nor needs a key to say so).
    const ready = await gateway.app.inject({ method: "GET", url: "/ready" });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ ready: false, why: "no healthy, staked worker to route to" });
  });

  it("rate-limits each client with a token bucket and says when to retry", async () => {
    const auth = { authorization: `Bearer ${ALICE}` };
    // No worker is known yet: admitted requests end in MODEL_NOT_SERVED, but they spend the budget.
    for (let i = 0; i < 2; i++) expect((await chat(auth)).json().error.code).toBe("MODEL_NOT_SERVED");
    const limited = await chat(auth);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe("API_RATE_LIMITED");
    expect(limited.headers["retry-after"]).toBe("1");
  });

  it("refuses oversized bodies before parsing and records nothing", async () => {
    const r = await gateway.app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      headers: { "content-type": "application/json", authorization: `Bearer ${ALICE}` },
      payload: JSON.stringify({ messages: [{ role: "user", content: "x".repeat(5000) }] }),
    });
    expect(r.statusCode).toBe(413);
    expect(r.json().error.code).toBe("INPUT_TOO_LARGE");
    expect(gateway.store.counts().receipts.provisional).toBe(0);
  });
});

describe("gateway receipt retention", () => {
  it("at start forgets the receipts of final batches past its retention; their look-up says why", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "verinfer-gateway-retention-"));
    const store = ReceiptStore.open(join(dataDir, "receipts.sqlite"));
    const old = signReceipt(devReceipt(1, 31337n, deployment.rollup), ENCLAVE_KEY);
    const recent = signReceipt(devReceipt(2, 31337n, deployment.rollup), ENCLAVE_KEY);
    const day = 86_400_000;
    [old, recent].forEach((signed, index) => {
      const digest = bytesToHex(receiptDigest(signed.receipt));
      store.admit({
        signed,
        digest,
        client: "alice",
        admittedAtMs: Date.now() - (index === 0 ? 31 : 1) * day,
      });
      const root = new BatchTree([leafOfSigned(0, digest, signed.signature)]).root;
      store.seal({ index, root, requestIds: [signed.receipt.requestId] });
      store.markPosted(index, `0x${"cd".repeat(32)}`);
      store.markFinal(index);
    });
    store.close();
    const kept = createGateway({
      dataDir,
      key: KEY,
      chain: clientsFor(deployment.rpcUrl, deployment.chainId, KEY),
      deployment,
      workers: ["http://127.0.0.1:9"],
      rollupParams: DEVNET_OTR_PARAMS.rollup,
      apiClients: [],
      openRequestsPerMinute: 100,
      bodyLimit: 4096,
      receiptRetentionMs: 30 * day,
      refreshMs: 60_000,
      routingSeed: 0,
      logger: nodeLogger("gateway", "silent"),
    });
    await kept.start();
    try {
      const lookUp = (s: typeof old) =>
        kept.app.inject({ method: "GET", url: `/v1/receipts/${s.receipt.requestId}` });
      // Forgotten in the background from the start, while requests are answered.
      let forgotten = await lookUp(old);
      for (let i = 0; i < 50 && forgotten.statusCode !== 404; i++) {
        await new Promise((wake) => setTimeout(wake, 20));
        forgotten = await lookUp(old);
      }
      expect(forgotten.statusCode).toBe(404);
      expect(forgotten.json().error.message).toMatch(/kept 30 days/);
      expect((await lookUp(recent)).json()).toMatchObject({ status: "final", batch: 1 });
    } finally {
      await kept.close();
    }
  });
});
