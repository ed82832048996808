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

import { describe, expect, it } from "vitest";
import { gatewayRig as rig } from "../../../testing/gatewayRig.ts";

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
