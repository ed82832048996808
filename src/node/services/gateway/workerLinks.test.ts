import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { registryAbi } from "../../../chain/generated/contracts.ts";
import type { Hex } from "../../../protocol/encoding/hex.ts";
import { startDevChain, TOKEN } from "../../../testing/devChain.ts";
import { devWorkerIdentity, ENGINE, EVIDENCE, MODEL } from "../../../testing/devWorker.ts";
import { thrownCode } from "../../../testing/thrownCode.ts";
import { routingWeight, WorkerLinks } from "./workerLinks.ts";

const base = { stake: 20n * TOKEN, inFlight: 0, latencyMs: 100, quality: null, efficiency: null };

describe("routing weight", () => {
  it("grows with stake, PoQ quality and cost efficiency; shrinks with load and latency; never reaches 0", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 10, noNaN: true }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.nat(50),
        fc.nat(5000),
        (quality, efficiency, inFlight, latencyMs) => {
          const w = { ...base, quality, efficiency, inFlight, latencyMs };
          const weight = routingWeight(w);
          expect(weight).toBeGreaterThan(0);
          expect(routingWeight({ ...w, quality: Math.min(10, quality + 1) })).toBeGreaterThanOrEqual(weight);
          expect(routingWeight({ ...w, efficiency: Math.min(1, efficiency + 0.1) })).toBeGreaterThanOrEqual(
            weight,
          );
          expect(routingWeight({ ...w, stake: w.stake * 2n })).toBeCloseTo(2 * weight, 9);
          expect(routingWeight({ ...w, inFlight: inFlight + 1 })).toBeLessThan(weight);
          expect(routingWeight({ ...w, latencyMs: latencyMs + 100 })).toBeLessThan(weight);
        },
      ),
    );
  });

  it("counts unknown quality and cost as the best, and a worker scored 0 keeps a tenth of its share", () => {
    const unknown = routingWeight(base);
    expect(routingWeight({ ...base, quality: 10, efficiency: 1 })).toBeCloseTo(unknown, 12);
    expect(routingWeight({ ...base, quality: 0, efficiency: 1 })).toBeCloseTo(unknown / 10, 12);
  });
});

describe("the registry as the gateway reads it", () => {
  it("reads the registry again only when it changed: a refresh in the same block costs one call, a new block two", async () => {
    const dev = await startDevChain();
    // The evidence the worker presents (a restart with new evidence changes it).
    let presented: Hex = EVIDENCE;
    const server = createServer((req, res) => {
      const identity = devWorkerIdentity(presented);
      res.writeHead(req.url === "/v1/identity" ? 200 : 404, { "content-type": "application/json" });
      res.end(JSON.stringify(identity));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const warnings: string[] = [];
      let calls = 0;
      const counted = new Proxy(dev.owner.public, {
        get(target, name, receiver) {
          const value = Reflect.get(target, name, receiver);
          if (
            typeof value !== "function" ||
            !["readContract", "getBlockNumber", "getLogs"].includes(String(name))
          )
            return value;
          return (...args: unknown[]) => {
            calls++;
            return value.apply(target, args);
          };
        },
      });
      const links = new WorkerLinks(
        [`http://127.0.0.1:${(server.address() as AddressInfo).port}`],
        { public: counted },
        { chainId: dev.chain.chainId, registry: dev.d.registry, rollup: dev.d.rollup },
        pino({ level: "warn" }, { write: (line: string) => void warnings.push(line) }),
      );
      await dev.owner.public.request({ method: "evm_setAutomine", params: [false] } as never);
      await links.refresh(Date.now());
      // A block number, minStake, then participant, models, engineAllowed and previousEvidence for the
      // one worker.
      expect(calls).toBe(6);
      const [link] = links.links;
      expect(link).toMatchObject({ healthy: true, attested: true, stake: 10n * TOKEN });
      expect(links.registry.workers.size).toBe(1);
      calls = 0;
      await links.refresh(Date.now());
      expect(calls).toBe(1);
      expect(link).toMatchObject({ attested: true, stake: 10n * TOKEN });
      expect(link?.attestedUntil).toBeGreaterThan(Date.now() / 1000 + 3 * 86_400);
      expect(warnings).toEqual([]);
      // An attestation expires with the clock, whatever the block; the operator is told from three
      // days before, once a day.
      const until = (link?.attestedUntil as number) * 1000;
      await links.refresh(until - 2 * 86_400_000);
      expect(link?.attested).toBe(true);
      await links.refresh(until - 2 * 86_400_000 + 3_600_000);
      await links.refresh(Date.now() + 31 * 86_400_000);
      expect(link?.attested).toBe(false);
      await links.refresh(Date.now() + 31 * 86_400_000 + 3_600_000);
      expect(warnings.map((w) => (JSON.parse(w) as { msg: string }).msg)).toEqual([
        "the worker's attestation expires soon: its operator re-attests it with 'verinfer node register'",
        "the worker's attestation has expired: it is routed nothing until its operator re-attests it with 'verinfer node register'",
      ]);
      // A new block without a registry event: one more call, for the registry's events; nothing re-read.
      const mine = () => dev.owner.public.request({ method: "evm_mine", params: [] } as never);
      await mine();
      calls = 0;
      await links.refresh(Date.now());
      expect(calls).toBe(2);
      expect(link?.attested).toBe(true);
      expect(links.registry.models.get(MODEL.toLowerCase())?.engines).toEqual([ENGINE]);
      // A registry event (the owner disallows the worker's engine): every registration is read again,
      // and the snapshot receipts are checked against says so.
      const allowEngine = async (allowed: boolean) => {
        await dev.owner.wallet.writeContract({
          address: dev.d.registry,
          abi: registryAbi,
          functionName: "setEngine",
          args: [MODEL, ENGINE, allowed],
        } as never);
        await mine();
      };
      await allowEngine(false);
      calls = 0;
      await links.refresh(Date.now());
      // The block number, the events, minStake, then participant, models, engineAllowed and
      // previousEvidence.
      expect(calls).toBe(7);
      expect(links.registry.models.get(MODEL.toLowerCase())?.engines).toEqual([]);
      await allowEngine(true);
      await links.refresh(Date.now());
      expect(links.pick("verinfer-tiny")).toBe(link);
      // The worker restarted with new evidence its registration does not name yet: routed nothing (its
      // receipts would name evidence no check admits), said once, until the registration names it.
      warnings.length = 0;
      presented = `0x${"5e".repeat(32)}`;
      await links.refresh(Date.now());
      await links.refresh(Date.now());
      expect(link).toMatchObject({ attested: true, evidenceRegistered: false });
      expect(thrownCode(() => links.pick("verinfer-tiny"))).toBe("WORKER_UNAVAILABLE");
      expect(warnings.map((w) => JSON.parse(w))).toMatchObject([
        {
          presented,
          registered: EVIDENCE.toLowerCase(),
          msg: expect.stringMatching(/presents evidence its registration does not name/),
        },
      ]);
      presented = EVIDENCE;
      await links.refresh(Date.now());
      expect(links.pick("verinfer-tiny")).toBe(link);
    } finally {
      server.close();
      await dev.chain.stop();
    }
  }, 60_000);
});
