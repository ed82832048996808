/**
 * The gateway when its receipt store cannot be written (a full disk; here SQLite's own SQLITE_FULL,
 * reached through the store's size cap): a request whose receipt cannot be made durable gets
 * STORE_UNAVAILABLE and is not promised, sealed or posted; the gateway stays up, refuses requests for
 * a while without spending workers on them, and once the store takes writes again answers without a
 * restart — a retry with the same idempotency key included. On chain, the posted batches hold exactly
 * the acknowledged receipts, each at the batch and position it was promised.
 *
 * Real anvil, real SQLite, real HTTP; the worker is a small server that answers with receipts signed by
 * the dev worker's enclave key (the gateway, not the worker, is under test).
 */

import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { rollupAbi } from "../../../chain/generated/contracts.ts";
import type { Hex } from "../../../protocol/encoding/hex.ts";
import { DEVNET_OTR_PARAMS } from "../../../protocol/params/otr.ts";
import { receiptToJson } from "../../../protocol/receipt/receipt.ts";
import { signReceipt } from "../../../protocol/receipt/verifyReceipt.ts";
import { startDevChain } from "../../../testing/devChain.ts";
import { devReceipt, devWorkerIdentity, ENCLAVE_KEY } from "../../../testing/devWorker.ts";
import { type AnswerReceipt, includedOnChain } from "../../devnet/receiptCheck.ts";
import { createGateway } from "./gatewayService.ts";

/** A worker that answers every request with one token and a receipt signed for it, counting calls. */
async function signingWorker(chainId: number, settlement: Hex) {
  const identity = devWorkerIdentity();
  let sequence = 0;
  const answered = new Map<string, string>(); // a request id served again gets the same line
  const served = { calls: 0 };
  const server = createServer((req, res) => {
    if (req.url === "/v1/identity") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(identity));
      return;
    }
    if (req.method !== "POST" || req.url !== "/v1/infer") {
      res.writeHead(404).end();
      return;
    }
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      served.calls++;
      const { requestId, messages } = JSON.parse(body) as { requestId: Hex; messages: { content: string }[] };
      // A request that says "slow" is answered after 300 ms (its generation overlaps others').
      const delayMs = messages[0]?.content.includes("slow") ? 300 : 0;
      let line = answered.get(requestId);
      if (!line) {
        sequence++;
        const receipt = devReceipt(sequence, BigInt(chainId), settlement, {
          requestId,
          timestamp: BigInt(Date.now()),
        });
        line = JSON.stringify({
          done: true,
          text: "ok",
          finishReason: "stop",
          usage: { promptTokens: receipt.inputTokens, completionTokens: 1 },
          receipt: receiptToJson(signReceipt(receipt, ENCLAVE_KEY)),
        });
        answered.set(requestId, line);
      }
      const reply = `${line}\n`;
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.end(reply);
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, served, server };
}

/** A gateway in front of the signing worker on a dev chain, its log kept, and its acknowledged answers. */
async function rig() {
  const dev = await startDevChain();
  const worker = await signingWorker(dev.chain.chainId, dev.d.rollup);
  const logs: { msg: string }[] = [];
  const gateway = createGateway({
    dataDir: mkdtempSync(join(tmpdir(), "verinfer-gateway-full-")),
    key: dev.chain.keys[0] as Hex,
    chain: dev.owner,
    deployment: { kind: "verinfer.deployment", rpcUrl: dev.chain.rpcUrl, ...dev.d },
    workers: [worker.url],
    rollupParams: DEVNET_OTR_PARAMS.rollup,
    apiClients: [],
    openRequestsPerMinute: 100_000,
    bodyLimit: 65_536,
    refreshMs: 60_000,
    routingSeed: 0,
    storeRetryMs: 1500,
    logger: pino(
      { level: "info" },
      new Writable({
        write(chunk, _encoding, done) {
          logs.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    ),
  });
  await gateway.start();
  const ask = (key: string) =>
    gateway.app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      headers: { "content-type": "application/json", "idempotency-key": key },
      payload: { messages: [{ role: "user", content: `request ${key}` }], max_tokens: 1 },
    });
  const acked = new Map<string, AnswerReceipt>();
  return {
    gateway,
    worker,
    logs,
    ask,
    acked,
    /** Asks, keeping the answer if it is one. */
    async answer(key: string) {
      const r = await ask(key);
      if (r.statusCode === 200) acked.set(key, r.json().verinfer as AnswerReceipt);
      return r;
    },
    /** Every acknowledged receipt is posted at the batch and position promised; the chain holds no other. */
    async allPostedAsPromised() {
      let counts = { receipts: {} as Record<string, number> };
      for (let i = 0; i < 100; i++) {
        counts = (await gateway.app.inject({ method: "GET", url: "/v1/network" })).json();
        if ((counts.receipts.provisional ?? 0) + (counts.receipts.sealed ?? 0) === 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(Object.values(counts.receipts).reduce((a, b) => a + b, 0)).toBe(acked.size);
      const places = new Set<string>();
      for (const [key, promised] of acked) {
        const a = (
          await gateway.app.inject({ method: "GET", url: `/v1/receipts/${promised.requestId}` })
        ).json() as AnswerReceipt;
        expect(a.status, key).toBe("posted");
        expect([a.batch, a.position], key).toEqual([promised.batch, promised.position]);
        expect(await includedOnChain(dev.owner, dev.d.rollup, a), key).toBe(true);
        places.add(`${a.batch}:${a.position}`);
      }
      expect(places.size).toBe(acked.size);
      const read = (functionName: string, args: readonly unknown[]) =>
        dev.owner.public.readContract({ address: dev.d.rollup, abi: rollupAbi, functionName, args } as never);
      const batches = Number((await read("batchCount", [])) as bigint);
      let onChain = 0;
      for (let i = 0; i < batches; i++)
        onChain += Number(((await read("batch", [BigInt(i)])) as { count: number }).count);
      expect(onChain).toBe(acked.size);
    },
    async stop() {
      await gateway.close();
      worker.server.close();
      await dev.chain.stop();
    },
  };
}

describe("gateway with a store that cannot be written", () => {
  it("refuses what it cannot make durable, posts only what it acknowledged, and recovers without a restart", async () => {
    const { gateway, worker, logs, ask, answer, allPostedAsPromised, stop } = await rig();
    try {
      for (let i = 0; i < 5; i++) expect((await answer(`before-${i}`)).statusCode).toBe(200);

      // The disk fills: the store cannot grow past its present size.
      gateway.store.limitSize(1);
      let refused: string | null = null;
      for (let i = 0; i < 200 && refused === null; i++) {
        const key = `filling-${i}`;
        const r = await answer(key);
        if (r.statusCode !== 200) {
          expect(r.statusCode).toBe(503);
          expect(r.headers["retry-after"]).toBe("1");
          expect(r.json().error.code).toBe("STORE_UNAVAILABLE");
          refused = key;
        }
      }
      if (refused === null) throw new Error("the store never filled");
      expect(logs.some((l) => l.msg.startsWith("the receipt store failed"))).toBe(true);
      // Up, but not ready; requests are refused without a worker spending work on them.
      const ready = await gateway.app.inject({ method: "GET", url: "/ready" });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().why).toMatch(/^the receipt store failed: database or disk is full/);
      const calls = worker.served.calls;
      for (const key of ["meanwhile", refused])
        expect((await ask(key)).json().error.code).toBe("STORE_UNAVAILABLE");
      expect(worker.served.calls).toBe(calls);

      // Space comes back; after the retry delay, requests are answered again, with no restart: the
      // refused request retried with its key too (its first receipt was never sequenced, or it would
      // now be refused as a replay).
      gateway.store.limitSize(null);
      await new Promise((r) => setTimeout(r, 1600));
      expect((await answer(refused)).statusCode).toBe(200);
      for (let i = 0; i < 3; i++) expect((await answer(`after-${i}`)).statusCode).toBe(200);
      expect(logs.some((l) => l.msg === "the receipt store takes writes again")).toBe(true);
      expect((await gateway.app.inject({ method: "GET", url: "/ready" })).statusCode).toBe(200);
      await allPostedAsPromised();
    } finally {
      await stop();
    }
  }, 120_000);

  it("a request generating while another's write fails is not sequenced after the failure", async () => {
    const { gateway, answer, allPostedAsPromised, stop } = await rig();
    try {
      expect((await answer("first")).statusCode).toBe(200);
      const admit = gateway.store.admit.bind(gateway.store);
      let failures = 0;
      gateway.store.admit = (a) => {
        if (failures++ === 0) throw new Error("database or disk is full");
        return admit(a);
      };
      // The slow one is generating when the fast one's write fails; its own write would succeed.
      const [slow, fast] = await Promise.all([answer("slow"), answer("fast")]);
      expect([fast.statusCode, slow.statusCode]).toEqual([503, 503]);
      expect(slow.json().error.code).toBe("STORE_UNAVAILABLE");
      await new Promise((r) => setTimeout(r, 1600));
      for (const key of ["fast", "slow", "last"]) expect((await answer(key)).statusCode).toBe(200);
      await allPostedAsPromised();
    } finally {
      await stop();
    }
  }, 120_000);

  it("a batch that cannot be sealed stays open, at the same positions, until the store takes it", async () => {
    const { gateway, logs, answer, allPostedAsPromised, stop } = await rig();
    try {
      // A full disk rarely fails a seal (it rewrites rows in place), so this failure is injected once.
      const seal = gateway.store.seal.bind(gateway.store);
      let failures = 0;
      gateway.store.seal = (batch) => {
        if (failures++ === 0) throw new Error("database or disk is full");
        return seal(batch);
      };
      for (let i = 0; i < 3; i++) expect((await answer(`first-${i}`)).statusCode).toBe(200);
      for (let i = 0; i < 40 && failures === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(logs.filter((l) => l.msg.startsWith("the receipt store failed"))).toHaveLength(1);
      expect((await gateway.app.inject({ method: "GET", url: "/ready" })).statusCode).toBe(503);
      await new Promise((r) => setTimeout(r, 1600));
      for (let i = 0; i < 2; i++) expect((await answer(`then-${i}`)).statusCode).toBe(200);
      await allPostedAsPromised();
    } finally {
      await stop();
    }
  }, 120_000);
});
