import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, type Hex } from "../encoding/hex.ts";
import { keccak256 } from "../encoding/keccak.ts";
import { createRng } from "../rng/prng.ts";
import {
  ArrivalWindow,
  type BatchArrival,
  fishermanSeed,
  isSampled,
  movingAverage,
  REEXECUTION_SHARE,
  shareOf,
  sustainableRate,
} from "./sampling.ts";

const digest = (i: number): Hex => bytesToHex(keccak256(new Uint8Array([i & 255, (i >> 8) & 255, i >> 16])));

describe("isSampled", () => {
  it("samples about the rate's share of receipts, nested across rates", () => {
    const digests = Array.from({ length: 10_000 }, (_, i) => digest(i));
    for (const rate of [0.01, 0.1, 0.5]) {
      const n = digests.filter((d) => isSampled(7, d, rate)).length;
      expect(n / digests.length).toBeGreaterThan(rate * 0.9);
      expect(n / digests.length).toBeLessThan(rate * 1.1);
    }
    for (const d of digests.slice(0, 2000)) if (isSampled(7, d, 0.1)) expect(isSampled(7, d, 0.2)).toBe(true);
    expect(digests.every((d) => isSampled(7, d, 1))).toBe(true);
    expect(digests.some((d) => isSampled(7, d, 0))).toBe(false);
  });

  it("gives fishermen with no configured seed one each from their keys: independent draws, not the key", () => {
    const [k1, k2] = [`0x${"11".repeat(32)}`, `0x${"12".repeat(32)}`] as [Hex, Hex];
    const [s1, s2] = [fishermanSeed(k1), fishermanSeed(k2)];
    expect(fishermanSeed(k1)).toBe(s1);
    expect(s1).not.toBe(s2);
    expect(s1).not.toBe(k1);
    // At half the receipts each, two fishermen re-execute about three quarters of them between them
    // (one seed for both would cover half).
    const digests = Array.from({ length: 10_000 }, (_, i) => digest(i));
    const either = digests.filter((d) => isSampled(s1, d, 0.5) || isSampled(s2, d, 0.5)).length;
    expect(either / digests.length).toBeGreaterThan(0.72);
    expect(either / digests.length).toBeLessThan(0.78);
  });

  it("draws from the fisherman's seed: another seed samples other receipts", () => {
    const digests = Array.from({ length: 2000 }, (_, i) => digest(i));
    const a = digests.filter((d) => isSampled(1, d, 0.1));
    const b = digests.filter((d) => isSampled(2, d, 0.1));
    expect(a.filter((d) => b.includes(d)).length).toBeLessThan(a.length / 2);
  });
});

describe("a crew of fishermen", () => {
  const digests = Array.from({ length: 10_000 }, (_, i) => digest(i));
  const seed = fishermanSeed(`0x${"21".repeat(32)}`);

  it("puts each receipt in exactly one member's share, about 1/N of them each", () => {
    const some = digests.slice(0, 4000);
    for (const size of [2, 5]) {
      const members = Array.from({ length: size }, (_, member) => ({ size, member }));
      const counts = new Array<number>(size).fill(0);
      for (const d of some) {
        const share = shareOf(seed, d, size);
        counts[share] = (counts[share] as number) + 1;
        // At rate 1 the member whose share it is re-executes it, and nobody else.
        expect(members.filter((m) => isSampled(seed, d, 1, m)).map((m) => m.member)).toEqual([share]);
      }
      for (const n of counts) {
        expect(n / some.length).toBeGreaterThan((1 / size) * 0.9);
        expect(n / some.length).toBeLessThan((1 / size) * 1.1);
      }
    }
  });

  it("covers N times what one member affords, where independent fishermen overlap", () => {
    // Three fishermen that each afford 30% of the receipts' re-execution: as a crew each re-executes
    // 90% of its own third (30% of all: the same work), and together 90% of all receipts.
    const crew = [0, 1, 2].map((member) => ({ size: 3, member }));
    const covered = digests.filter((d) => crew.some((m) => isSampled(seed, d, 0.9, m))).length;
    expect(covered / digests.length).toBeGreaterThan(0.87);
    expect(covered / digests.length).toBeLessThan(0.93);
    for (const m of crew) {
      const own = digests.filter((d) => isSampled(seed, d, 0.9, m)).length / digests.length;
      expect(own).toBeGreaterThan(0.3 * 0.9);
      expect(own).toBeLessThan(0.3 * 1.1);
    }
    // Independently, at 30% each: 1 − 0.7³ ≈ 66%.
    const alone = [1, 2, 3].map((k) => fishermanSeed(`0x${String(k).padStart(2, "0").repeat(32)}`));
    const either = digests.filter((d) => alone.some((s) => isSampled(s, d, 0.3))).length;
    expect(either / digests.length).toBeGreaterThan(0.63);
    expect(either / digests.length).toBeLessThan(0.69);
  });

  it("samples a member's share uniformly and nested across rates; alone is a crew of one", () => {
    const m = { size: 2, member: 1 };
    const share = digests.filter((d) => shareOf(seed, d, m.size) === 1);
    for (const rate of [0.1, 0.5]) {
      const n = share.filter((d) => isSampled(seed, d, rate, m)).length;
      expect(n / share.length).toBeGreaterThan(rate * 0.9);
      expect(n / share.length).toBeLessThan(rate * 1.1);
    }
    for (const d of share) if (isSampled(seed, d, 0.1, m)) expect(isSampled(seed, d, 0.2, m)).toBe(true);
    expect(share.some((d) => isSampled(seed, d, 0, m))).toBe(false);
    for (const d of digests.slice(0, 1000)) {
      expect(isSampled(seed, d, 0.3, { size: 1, member: 0 })).toBe(isSampled(seed, d, 0.3));
      expect(shareOf(seed, d, 1)).toBe(0);
    }
  });
});

describe("sustainableRate", () => {
  const load = fc.record({
    receiptsPerWindow: fc.double({ min: 0, max: 1e6, noNaN: true }),
    windowSeconds: fc.double({ min: 0, max: 1e5, noNaN: true }),
    secondsPerReexecution: fc.double({ min: 0, max: 100, noNaN: true }),
    ageSeconds: fc.double({ min: 0, max: 2e5, noNaN: true }),
  });

  it("never exceeds the configured rate; lowered, it plans the share of what is left of the window", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), load, (configured, l) => {
        const rate = sustainableRate(configured, l);
        expect(rate).toBeGreaterThanOrEqual(0);
        expect(rate).toBeLessThanOrEqual(configured);
        const planned = rate * l.receiptsPerWindow * l.secondsPerReexecution;
        const left = Math.max(0, l.windowSeconds - l.ageSeconds);
        if (rate < configured) expect(planned).toBeCloseTo(REEXECUTION_SHARE * left, 6);
        else if (l.windowSeconds > 0 && planned > 0)
          expect(planned).toBeLessThanOrEqual(REEXECUTION_SHARE * left * (1 + 1e-12));
      }),
    );
  });

  it("keeps the configured rate while unmeasured", () => {
    const w = { windowSeconds: 30, ageSeconds: 0 };
    expect(sustainableRate(0.3, { ...w, receiptsPerWindow: 0, secondsPerReexecution: 1 })).toBe(0.3);
    expect(sustainableRate(1, { ...w, receiptsPerWindow: 500, secondsPerReexecution: 0 })).toBe(1);
    // 600 receipts a window at 0.1 s each: 60 s of work for a 30 s window.
    const heavy = { ...w, receiptsPerWindow: 600, secondsPerReexecution: 0.1 };
    expect(sustainableRate(1, heavy)).toBe((REEXECUTION_SHARE * 30) / 60);
    // Half a window behind: half that, to catch up.
    expect(sustainableRate(1, { ...heavy, ageSeconds: 15 })).toBe((REEXECUTION_SHARE * 15) / 60);
    expect(sustainableRate(1, { ...heavy, ageSeconds: 40 })).toBe(0);
  });
});

describe("ArrivalWindow", () => {
  it("counts the receipts of the batches posted in the window that ends at the newest", () => {
    const w = new ArrivalWindow(30);
    expect(w.receipts).toBe(0);
    for (const b of [
      { postedAt: 100, receipts: 5 },
      { postedAt: 110, receipts: 7 },
      { postedAt: 129, receipts: 1 },
    ])
      w.add(b);
    expect(w.receipts).toBe(13);
    w.add({ postedAt: 140, receipts: 2 });
    expect(w.receipts).toBe(3);
    // A batch read out of posting order (a forced one) counts if posted in the window, and moves no
    // window back; one posted before the window does not count.
    w.add({ postedAt: 120, receipts: 4 });
    w.add({ postedAt: 105, receipts: 50 });
    expect(w.receipts).toBe(7);
  });

  it("counts as a recount of the window would, over days of batches", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ gap: fc.integer({ min: 0, max: 40 }), receipts: fc.integer({ min: 1, max: 30 }) }),
          {
            maxLength: 3000,
          },
        ),
        fc.integer({ min: 1, max: 300 }),
        (steps, windowSeconds) => {
          const w = new ArrivalWindow(windowSeconds);
          const all: BatchArrival[] = [];
          let t = 0;
          for (const { gap, receipts } of steps) {
            t += gap;
            all.push({ postedAt: t, receipts });
            w.add({ postedAt: t, receipts });
            const recount = all
              .filter((b) => b.postedAt > t - windowSeconds)
              .reduce((n, b) => n + b.receipts, 0);
            expect(w.receipts).toBe(recount);
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe("movingAverage", () => {
  it("starts at the first sample and moves a fifth of the way to each next", () => {
    expect(movingAverage(null, 4)).toBe(4);
    expect(movingAverage(4, 9)).toBe(5);
  });
});

/**
 * A fisherman working through batches in order, each of `receipts` receipts posted every
 * `interval` seconds, re-executing each sampled receipt in `cost` seconds (±30%): the policy the service
 * runs, in simulated time. Returns the receipts re-executed, those skipped as late (reached after the
 * window closed), and the greatest age of a batch when its re-execution ended: of all, and of those
 * posted after the first two windows (once the traffic is measured and the start's backlog cleared).
 */
function simulate(
  adaptive: boolean,
  o: { receipts: number; interval: number; cost: number; seconds: number },
) {
  const window = 30;
  const rng = createRng("fisherman-sampling-simulation");
  const seen = new ArrivalWindow(window);
  let perReexecution: number | null = null;
  let now = 0;
  let reexecuted = 0;
  let late = 0;
  let maxAge = 0;
  let steadyMaxAge = 0;
  let id = 0;
  for (let batch = 0; batch * o.interval < o.seconds; batch++) {
    const postedAt = batch * o.interval;
    now = Math.max(now, postedAt);
    seen.add({ postedAt, receipts: o.receipts });
    if (now >= postedAt + window) {
      late += o.receipts;
      continue;
    }
    const rate = adaptive
      ? sustainableRate(1, {
          receiptsPerWindow: seen.receipts,
          windowSeconds: window,
          secondsPerReexecution: perReexecution ?? 0,
          ageSeconds: now - postedAt,
        })
      : 1;
    for (let i = 0; i < o.receipts; i++) {
      if (!isSampled(3, digest(id++), rate)) continue;
      const took = o.cost * (0.7 + 0.6 * rng.float());
      now += took;
      perReexecution = movingAverage(perReexecution, took);
      reexecuted++;
    }
    maxAge = Math.max(maxAge, now - postedAt);
    if (postedAt >= 2 * window) steadyMaxAge = Math.max(steadyMaxAge, now - postedAt);
  }
  return { reexecuted, late, maxAge, steadyMaxAge };
}

describe("a fisherman at its sustainable rate", () => {
  // 40 receipts a second, 0.1 s a re-execution: four times what one fisherman can re-execute.
  const overloaded = { receipts: 20, interval: 0.5, cost: 0.1, seconds: 600 };

  it("keeps up with more traffic than it can re-execute: none late, each re-executed well inside the window", () => {
    const r = simulate(true, overloaded);
    expect(r.late).toBe(0);
    expect(r.maxAge).toBeLessThan(30 * 0.75);
    expect(r.steadyMaxAge).toBeLessThan(5);
    // It re-executes about its share of the capacity: 0.8 × 10 of 40 receipts a second.
    const share = r.reexecuted / ((overloaded.seconds / overloaded.interval) * overloaded.receipts);
    expect(share).toBeGreaterThan(0.15);
    expect(share).toBeLessThan(0.25);
  });

  it("where the configured rate alone falls a window behind and skips whole runs of batches", () => {
    const r = simulate(false, overloaded);
    expect(r.late).toBeGreaterThan(0);
    expect(r.maxAge).toBeGreaterThanOrEqual(30);
  });

  it("re-executes everything when it can", () => {
    const light = { receipts: 2, interval: 0.5, cost: 0.1, seconds: 300 };
    const r = simulate(true, light);
    expect(r).toMatchObject({ reexecuted: 1200, late: 0 });
  });
});
