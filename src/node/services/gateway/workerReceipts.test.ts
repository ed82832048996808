/**
 * The gateway refusing a worker's receipt that fails its checks: each way a faulty or dishonest worker
 * can answer (an altered or malformed receipt, one signed for another request, by another key, for
 * another chain, too old, or reusing a sequence) gets the client a 502 WORKER_RECEIPT_INVALID naming
 * what failed, as JSON or as the stream's last event; nothing is recorded, promised or posted; the
 * operator is warned in the log; and the gateway goes on admitting honest receipts.
 *
 * Real anvil, real SQLite, real HTTP; the worker is a small signing server whose answers are tampered
 * with per request (the gateway, not the worker, is under test).
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { describe, expect, it } from "vitest";
import { keccak256, keccakUtf8 } from "../../../protocol/encoding/keccak.ts";
import { addressOf, type Receipt } from "../../../protocol/receipt/receipt.ts";
import { answerLine, gatewayRig } from "../../../testing/gatewayRig.ts";

const OTHER_KEY = keccak256(Uint8Array.of(7));
const DAY_MS = 86_400_000;

/** Each faulty answer: the line the worker sends for a request whose text names it. */
const FAULTS: Record<string, (honest: Receipt) => object> = {
  // Signed, then a field changed: the signature no longer recovers the registered key.
  altered: (r) => {
    const line = answerLine(r);
    return { ...line, receipt: { ...line.receipt, receipt: { ...line.receipt.receipt, outputTokens: 99 } } };
  },
  malformed: (r) => ({ ...answerLine(r), receipt: { receipt: { version: 1 }, signature: "0x12" } }),
  "other-request": (r) => answerLine({ ...r, requestId: keccakUtf8("another request") }),
  "other-key": (r) =>
    answerLine({ ...r, worker: addressOf(secp256k1.getPublicKey(OTHER_KEY, false)) }, OTHER_KEY),
  "other-chain": (r) => answerLine({ ...r, chainId: 1n }),
  stale: (r) => answerLine({ ...r, timestamp: BigInt(Date.now() - 2 * DAY_MS) }),
  // The sequence of the last receipt the gateway admitted from this worker, used again.
  "reused-sequence": (r) => answerLine({ ...r, sequence: lastAdmitted(r).sequence }),
};

let admitted: Receipt | null = null;
const lastAdmitted = (r: Receipt) => admitted ?? r;

/** What the client is told for each (the message names the failed check). */
const SAID: Record<string, RegExp> = {
  altered: /^worker http:\/\/127\.0\.0\.1:\d+: \[RECEIPT_SIGNATURE_INVALID\]/,
  malformed: /^worker http:\/\/127\.0\.0\.1:\d+: /,
  "other-request": /signed a receipt for another request or key$/,
  "other-key": /signed a receipt for another request or key$/,
  "other-chain": /\[RECEIPT_DOMAIN_MISMATCH\]/,
  stale: /\[RECEIPT_STALE\]/,
  "reused-sequence": /\[RECEIPT_REPLAYED\] worker 0x[0-9a-fA-F]{40} already used sequence \d+\b/,
};

describe("gateway refusing a worker's receipt", () => {
  it("answers 502 WORKER_RECEIPT_INVALID naming the failed check, records nothing, warns, and keeps serving", async () => {
    const rig = await gatewayRig((content, honest) => {
      const fault = FAULTS[content.replace(/^fault /, "")];
      if (content.startsWith("fault ") && fault) return fault(honest);
      admitted = honest;
      return null;
    });
    const stored = async () =>
      Object.values(
        (await rig.gateway.app.inject({ method: "GET", url: "/v1/network" })).json().receipts as Record<
          string,
          number
        >,
      ).reduce((a, b) => a + b, 0);
    const refusals = () => rig.logs.filter((l) => l.msg === "worker receipt refused");
    const faulty = (fault: string, stream = false) =>
      rig.gateway.app.inject({
        method: "POST",
        url: "/v1/chat/completions",
        headers: { "content-type": "application/json", "idempotency-key": `${fault}-${stream}` },
        payload: { messages: [{ role: "user", content: `fault ${fault}` }], max_tokens: 1, stream },
      });
    try {
      expect((await rig.answer("honest-first")).statusCode).toBe(200);
      const calls = rig.worker.served.calls;
      for (const fault of Object.keys(FAULTS)) {
        const warned = refusals().length;
        const r = await faulty(fault);
        expect(r.statusCode, fault).toBe(502);
        const error = r.json().error as { code: string; message: string };
        expect(error.code, fault).toBe("WORKER_RECEIPT_INVALID");
        expect(error.message, fault).toMatch(SAID[fault] as RegExp);
        // The operator is warned once, with the same reason.
        expect(refusals().slice(warned), fault).toEqual([
          expect.objectContaining({ level: 40, err: error.message, requestId: expect.stringMatching(/^0x/) }),
        ]);
      }
      // Streamed: the last event is the error, and there is no [DONE].
      const warned = refusals().length;
      const streamed = await faulty("altered", true);
      expect(streamed.statusCode).toBe(200);
      expect(streamed.body).toMatch(/data: \{"error":\{"code":"WORKER_RECEIPT_INVALID"/);
      expect(streamed.body).not.toMatch(/\[DONE\]/);
      expect(refusals()).toHaveLength(warned + 1);
      // Each was generated once and not re-routed (there is no other worker), and nothing of any was recorded.
      expect(rig.worker.served.calls).toBe(calls + Object.keys(FAULTS).length + 1);
      expect(await stored()).toBe(1);
      // Honest receipts are still admitted, and the chain holds exactly the acknowledged ones.
      for (let i = 0; i < 3; i++) expect((await rig.answer(`honest-${i}`)).statusCode).toBe(200);
      expect(await stored()).toBe(4);
      await rig.allPostedAsPromised();
    } finally {
      await rig.stop();
    }
  }, 120_000);

  it("re-routes a request whose receipt it refuses to another worker, when the client has seen none of its text", async () => {
    // The faulty URL signs for another chain whenever asked to; the peer (the same worker) never does.
    const rig = await gatewayRig(
      (content, honest) =>
        content.startsWith("fault ") ? (FAULTS["other-chain"] as (r: Receipt) => object)(honest) : null,
      { honestPeer: true },
    );
    const lines = (msg: string) => rig.logs.filter((l) => l.msg === msg);
    try {
      const requests = 8;
      for (let i = 0; i < requests; i++) {
        const key = `fault-${i}`;
        const r = await rig.gateway.app.inject({
          method: "POST",
          url: "/v1/chat/completions",
          headers: { "content-type": "application/json", "idempotency-key": key },
          payload: { messages: [{ role: "user", content: `fault ${i}` }], max_tokens: 1 },
        });
        expect(r.statusCode, key).toBe(200);
        rig.acked.set(key, r.json().verinfer);
      }
      // Routing drew the faulty URL for some: each of its receipts was refused, said, and re-routed.
      const refused = rig.worker.served.calls;
      expect(refused).toBeGreaterThan(0);
      expect(lines("worker receipt refused")).toHaveLength(refused);
      expect(lines("worker receipt refused")[0]?.err).toMatch(/\[RECEIPT_DOMAIN_MISMATCH\]/);
      expect(lines("re-routing")).toEqual(
        Array.from({ length: refused }, () =>
          expect.objectContaining({ from: rig.worker.url, to: rig.peer?.url }),
        ),
      );
      // Every client got the peer's answer, and only those receipts were recorded and posted.
      expect(rig.peer?.served.calls).toBe(requests);
      await rig.allPostedAsPromised();
    } finally {
      await rig.stop();
    }
  }, 120_000);
});
