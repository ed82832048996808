/**
 * A gateway in front of a small signing worker on a dev chain, for the gateway's own tests: the worker
 * answers every request with one token and a receipt signed by the dev worker's enclave key (or, through
 * `tamper`, with whatever a faulty worker would send); the gateway's log lines are kept, and its
 * acknowledged answers can be checked against what was posted on chain.
 */
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { expect } from "vitest";
import { rollupAbi } from "../chain/generated/contracts.ts";
import { type AnswerReceipt, includedOnChain } from "../node/devnet/receiptCheck.ts";
import { createGateway } from "../node/services/gateway/gatewayService.ts";
import type { Hex } from "../protocol/encoding/hex.ts";
import { DEVNET_OTR_PARAMS } from "../protocol/params/otr.ts";
import { type Receipt, receiptToJson } from "../protocol/receipt/receipt.ts";
import { signReceipt } from "../protocol/receipt/verifyReceipt.ts";
import { startDevChain } from "./devChain.ts";
import { devReceipt, devWorkerIdentity, ENCLAVE_KEY } from "./devWorker.ts";

/**
 * What a faulty worker sends instead of its honest answer line: given the request's text and the receipt
 * it would sign honestly, a line to send, or null to answer honestly.
 */
export type Tamper = (content: string, honest: Receipt) => object | null;

/** The worker's answer line: one token, and `receipt` signed with `key`. */
export function answerLine(receipt: Receipt, key: Uint8Array = ENCLAVE_KEY) {
  return {
    done: true,
    text: "ok",
    finishReason: "stop",
    usage: { promptTokens: receipt.inputTokens, completionTokens: 1 },
    receipt: receiptToJson(signReceipt(receipt, key)),
  };
}

/**
 * A worker that answers every request with one token and a receipt signed for it (or `tamper`'s line),
 * counting calls; workers that share `counter` (one enclave key behind two URLs) never reuse a sequence.
 */
async function signingWorker(chainId: number, settlement: Hex, tamper?: Tamper, counter = { sequence: 0 }) {
  const identity = devWorkerIdentity();
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
        counter.sequence++;
        const receipt = devReceipt(counter.sequence, BigInt(chainId), settlement, {
          requestId,
          timestamp: BigInt(Date.now()),
        });
        line = JSON.stringify(tamper?.(messages[0]?.content ?? "", receipt) ?? answerLine(receipt));
        answered.set(requestId, line);
      }
      // Its one token, then the answer line, as a worker streams them.
      const reply = `${JSON.stringify({ text: "ok" })}\n${line}\n`;
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.end(reply);
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, served, server };
}

/**
 * A gateway in front of the signing worker on a dev chain, its log kept, and its acknowledged answers;
 * the worker's answers tampered with by `tamper`, if given. With `honestPeer`, the gateway also routes to
 * a second URL of the same worker that never tampers (somewhere to re-route to).
 */
export async function gatewayRig(tamper?: Tamper, o: { readonly honestPeer?: boolean } = {}) {
  const dev = await startDevChain();
  const counter = { sequence: 0 };
  const worker = await signingWorker(dev.chain.chainId, dev.d.rollup, tamper, counter);
  const peer = o.honestPeer ? await signingWorker(dev.chain.chainId, dev.d.rollup, undefined, counter) : null;
  const logs: { readonly msg: string; readonly level: number; readonly [field: string]: unknown }[] = [];
  const gateway = createGateway({
    dataDir: mkdtempSync(join(tmpdir(), "verinfer-gateway-full-")),
    key: dev.chain.keys[0] as Hex,
    chain: dev.owner,
    deployment: { kind: "verinfer.deployment", rpcUrl: dev.chain.rpcUrl, ...dev.d },
    workers: peer ? [worker.url, peer.url] : [worker.url],
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
    peer,
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
      peer?.server.close();
      await dev.chain.stop();
    },
  };
}
