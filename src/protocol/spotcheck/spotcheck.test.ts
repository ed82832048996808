import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keccakUtf8 } from "../encoding/keccak.ts";
import { DEFAULT_OTR_PARAMS } from "../params/otr.ts";
import {
  catchProbability,
  detectionProbability,
  honestyDominates,
  isSelected,
  minimumSlash,
  obligationsOf,
  requiredRho,
  settleObligation,
} from "./spotcheck.ts";

const P = DEFAULT_OTR_PARAMS.spotcheck;

describe("spot-checks", () => {
  it("select about ρ of receipts, deterministically from (batch root, position, seed)", () => {
    const root = keccakUtf8("batch");
    const seed = keccakUtf8("prevrandao");
    const n = 50_000;
    const selected = obligationsOf({ index: 3, root, count: n }, seed, 1000, P);
    // ρ = 1%: 500 expected, binomial σ ≈ 22.
    expect(selected.length).toBeGreaterThan(500 - 5 * 22);
    expect(selected.length).toBeLessThan(500 + 5 * 22);
    expect(selected.every((o) => o.batch === 3 && o.deadline === 1000 + P.proofDeadlineMs)).toBe(true);
    expect(obligationsOf({ index: 3, root, count: n }, seed, 1000, P)).toEqual(selected);
    // Another seed, another selection.
    expect(obligationsOf({ index: 3, root, count: n }, keccakUtf8("other"), 1000, P)).not.toEqual(selected);
    expect(isSelected(root, 0, seed, 0)).toBe(false);
    expect(isSelected(root, 0, seed, 1_000_000)).toBe(true);
  });

  it("slash a missing or invalid proof, not a valid one in time", () => {
    const o = { batch: 0, position: 1, deadline: 100 };
    expect(settleObligation(o, null, 100, P)).toEqual({ kind: "pending" });
    expect(settleObligation(o, null, 101, P)).toEqual({
      kind: "slash",
      reason: "missing",
      amount: P.missingProofSlash,
    });
    expect(settleObligation(o, { at: 90, valid: true }, 500, P)).toEqual({ kind: "proven" });
    expect(settleObligation(o, { at: 90, valid: false }, 95, P)).toMatchObject({
      kind: "slash",
      reason: "invalid",
    });
    expect(settleObligation(o, { at: 120, valid: true }, 130, P)).toMatchObject({
      kind: "slash",
      reason: "missing",
    });
    // An accepted proof shown unbound within the binding window slashes; after it, the proof stands.
    expect(settleObligation(o, { at: 90, valid: true, unboundAt: 90 + P.bindingWindowMs }, 500, P)).toEqual({
      kind: "slash",
      reason: "unbound",
      amount: P.missingProofSlash,
    });
    expect(settleObligation(o, { at: 90, valid: true, unboundAt: 91 + P.bindingWindowMs }, 500, P)).toEqual({
      kind: "proven",
    });
  });

  it("deterrence formulas agree with each other (PAPERS.md §1)", () => {
    expect(detectionProbability(0.01, 100)).toBeCloseTo(1 - 0.99 ** 100, 12);
    expect(detectionProbability(0.01, 459)).toBeGreaterThan(0.99);
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        fc.double({ min: 1, max: 1000, noNaN: true }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        (gain, slash, coverage) => {
          const rho = requiredRho(gain, slash, coverage);
          if (gain >= slash) {
            expect(rho).toBe(1);
            return;
          }
          // At the required ρ, the expected slash equals the gain (cheating is just unprofitable).
          const expected = catchProbability(rho, coverage) * slash;
          if (rho > 0) expect(expected).toBeCloseTo(gain, 6);
          else expect(expected).toBeGreaterThanOrEqual(gain - 1e-9);
          expect(minimumSlash(gain, Math.max(rho, 1e-9), coverage)).toBeLessThanOrEqual(slash * (1 + 1e-6));
        },
      ),
      { numRuns: 200, seed: 3 },
    );
    expect(honestyDominates(0.01, 1, 100, 0.5)).toBe(true);
    expect(honestyDominates(0.01, 1, 10, 0.5)).toBe(false);
  });
});
