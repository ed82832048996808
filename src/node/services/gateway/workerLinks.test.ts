import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { routingWeight } from "./workerLinks.ts";

const TOKEN = 10n ** 18n;
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
