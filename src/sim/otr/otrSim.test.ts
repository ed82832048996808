import { describe, expect, it } from "vitest";
import { keccak256 } from "../../protocol/encoding/keccak.ts";
import { seedFrom } from "../../protocol/rng/deriveSeed.ts";
import { createRng } from "../../protocol/rng/prng.ts";
import { costPerQuery, DEFAULT_COST_INPUTS } from "./costModel.ts";
import { EventQueue } from "./eventQueue.ts";
import { DEFAULT_OTR_SIM, type OtrSimConfig, simulateOtr } from "./otrSim.ts";
import { ArrivalProcess } from "./traffic.ts";

const small: OtrSimConfig = { ...DEFAULT_OTR_SIM, requests: 3_000, workers: 50 };
const run = (c: Partial<OtrSimConfig>, seed = 1) =>
  simulateOtr({ ...small, ...c }, seedFrom(seed), keccak256);

describe("OTR simulator", () => {
  it("is deterministic per seed, and its event queue pops in time order, ties in push order", () => {
    expect(run({})).toEqual(run({}));
    expect(run({}, 2).latency.endToEnd.mean).not.toBe(run({}).latency.endToEnd.mean);
    const q = new EventQueue();
    const rng = createRng(3);
    const pushed = Array.from({ length: 5000 }, (_, i) => ({ t: Math.floor(rng.float() * 100), i }));
    for (const p of pushed) q.push(p.t, 0, p.i);
    const popped: number[] = [];
    while (q.pop()) popped.push(q.payload);
    expect(popped).toEqual([...pushed].sort((a, b) => a.t - b.t || a.i - b.i).map((p) => p.i));
  });

  it("arrivals have the configured mean rate, bursty ones too", () => {
    for (const arrivals of [
      { kind: "poisson" as const, ratePerSecond: 500 },
      {
        kind: "bursty" as const,
        ratePerSecond: 500,
        burstRatio: 10,
        burstFraction: 0.1,
        meanBurstSeconds: 0.05,
      },
    ]) {
      const p = new ArrivalProcess(arrivals, createRng(4));
      let t = 0;
      for (let i = 0; i < 200_000; i++) t = p.next();
      expect(200_000 / (t / 1000)).toBeGreaterThan(500 * 0.9);
      expect(200_000 / (t / 1000)).toBeLessThan(500 * 1.1);
    }
  });

  it("at saturation, OTR's throughput is the baseline's divided by the TEE overhead", () => {
    // 50 workers × 8 slots / ~1.05 s ≈ 380/s of capacity: arrivals at 2,000/s saturate both.
    const saturated = { arrivals: { kind: "poisson" as const, ratePerSecond: 2_000 }, requests: 20_000 };
    const otr = run(saturated);
    const central = run({ ...saturated, baseline: true });
    const ratio = otr.throughputPerSecond / central.throughputPerSecond;
    expect(ratio).toBeGreaterThan(1 / 1.175 - 0.015);
    expect(ratio).toBeLessThan(1 / 1.175 + 0.015);
  });

  it("gives provisional finality in tens of milliseconds and finality after the window", () => {
    const r = run({});
    expect(r.completed).toBe(3_000);
    expect(r.latency.provisionalOverhead.p99).toBeLessThan(200);
    expect(r.latency.toFinal.p50).toBeGreaterThan(DEFAULT_OTR_SIM.otr.rollup.challengeWindowMs);
    expect(r.spotchecks.selected).toBe(r.spotchecks.proven);
    expect(r.security.fraudulent).toBe(0);
  });

  it("catches fraud by spot-check and fishermen about as often as the formula says", () => {
    const r = run({
      requests: 20_000,
      adversary: { kind: "wrongOutputs", workers: 0.2, rate: 1 },
      fishermen: { coverage: 0.05, reactionMs: 12_000 },
    });
    const s = r.security;
    const caught = (s.caughtBySpotcheck + s.caughtByFisherman) / s.fraudulent;
    const expected = 0.01 + 0.99 * 0.05;
    expect(s.fraudulent).toBeGreaterThan(3_000);
    expect(Math.abs(caught - expected)).toBeLessThan(0.02);
    expect(s.disputes).toBe(s.caughtByFisherman);
    expect(s.disputesWorkerLost).toBe(s.disputes);
    expect(BigInt(s.attackerProfitWei)).toBeLessThan(0n);
    // Fishermen re-execute their share and win half of each slash they cause.
    expect(Math.abs(r.fishermen.reexecuted / 20_000 - 0.05)).toBeLessThan(0.01);
    expect(r.fishermen.costUsd).toBeCloseTo(r.fishermen.gpuHours * DEFAULT_COST_INPUTS.gpuHourUsd, 10);
    expect(BigInt(r.fishermen.bountiesWei)).toBeGreaterThan(0n);
  });

  it("rejects a downgrade at admission when the TEE is honest; griefers lose their bonds; censored clients force their receipts in", () => {
    expect(
      run({ adversary: { kind: "downgrade", workers: 0.1, teeCompromised: false } }).security,
    ).toMatchObject({
      rejectedAtAdmission: expect.any(Number),
      undetected: 0,
    });
    const grief = run({ adversary: { kind: "griefing", disputes: 2 } }).security;
    expect(grief).toMatchObject({ disputes: 2, disputesWorkerLost: 0 });
    expect(BigInt(grief.honestBondsWei)).toBeLessThanOrEqual(BigInt(grief.attackerBondsWei));
    const censored = run({ adversary: { kind: "censorship", share: 0.05, clientTimeoutMs: 2_000 } });
    expect(censored.security.forcedIn).toBe(censored.security.censored);
    expect(censored.security.censored).toBeGreaterThan(0);
    expect(censored.completed).toBe(3_000);
  });

  it("the cost formula reproduces the paper's $0.07 from ρ × a Groth16 verification", () => {
    const proofsOnly = costPerQuery({
      ...DEFAULT_COST_INPUTS,
      proofVerifyGas: 229_000,
      batchPostGas: 0,
      receiptBytes: 0,
      teeOverhead: 0,
      proveSeconds: 0,
      fishermanCoverage: 0,
    });
    expect(proofsOnly.total).toBeCloseTo(0.0687, 4);
    const blob = costPerQuery({ ...DEFAULT_COST_INPUTS, dataAvailability: "blob" });
    expect(blob.dataAvailability).toBeLessThan(costPerQuery(DEFAULT_COST_INPUTS).dataAvailability / 1000);
  });
});
