import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../errors.ts";
import { DEFAULT_OTR_PARAMS, defenseCapital, griefingCost, otrProblems } from "./otr.ts";
import { PRESETS, validateParams } from "./params.ts";

describe("protocol parameters", () => {
  it("every preset is valid", () => {
    for (const p of Object.values(PRESETS)) expect(validateParams(p).ok, p.name).toBe(true);
  });

  it("reports every problem at once", () => {
    const bad = {
      ...PRESETS.paper,
      fixedPointDecimals: -1,
      poq: { ...PRESETS.paper.poq, scoreMax: -1, confidenceLevel: 1, bootstrapResamples: 1.5 },
    };
    const v = validateParams(bad);
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.error.code).toBe("PARAMS_INVALID");
      expect(v.error.meta.problems).toHaveLength(4);
    }
  });
});

describe("OTR parameters", () => {
  it("the defaults are valid and every problem is named", () => {
    expect(otrProblems(DEFAULT_OTR_PARAMS)).toEqual([]);
    const d = DEFAULT_OTR_PARAMS;
    expect(
      otrProblems({
        ...d,
        rollup: { ...d.rollup, maxBatchReceipts: 0 },
        dispute: { ...d.dispute, arity: 12, gas: { ...d.dispute.gas, oneStep: 1.5 } },
        poea: { ...d.poea, workerShareBps: 9_000 },
      }),
    ).toEqual([
      "rollup.maxBatchReceipts must be an integer in 1..1000000, got 0",
      "dispute.arity must be a power of two in 2..256, got 12",
      "dispute.gas.oneStep must be an integer in 1..1000000000, got 1.5",
      "poea reward shares must sum to 10,000 basis points",
    ]);
  });

  it("bonds cover the answers they force: defending against N griefers costs at most what they post", () => {
    const { aboveLeaves, atLeaves } = griefingCost(DEFAULT_OTR_PARAMS.dispute);
    expect(aboveLeaves.honest).toBeLessThanOrEqual(aboveLeaves.attackerBond);
    expect(atLeaves.honest).toBeLessThanOrEqual(atLeaves.attackerBond);
    // 100 griefers: 100 one-steps at 30M gas and 30 gwei = 90 ETH of capital, all paid back.
    expect(defenseCapital(DEFAULT_OTR_PARAMS.dispute, 100)).toBe(90n * 10n ** 18n);
    // Even at cost (safety factor 1) an attack's bond covers the dissection it forces, bond included,
    // whatever the measured gas of the two moves.
    for (const gas of [
      { attack: 150_000, dissect: 150_000, oneStep: 30_000_000 },
      { attack: 400_000, dissect: 90_000, oneStep: 1_000 },
    ]) {
      const d = { ...DEFAULT_OTR_PARAMS.dispute, bondSafetyFactor: 1, gas };
      expect(otrProblems({ ...DEFAULT_OTR_PARAMS, dispute: d })).toEqual([]);
      const g = griefingCost(d);
      expect(g.aboveLeaves.honest).toBeLessThanOrEqual(g.aboveLeaves.attackerBond);
    }
    expect(
      otrProblems({
        ...DEFAULT_OTR_PARAMS,
        dispute: { ...DEFAULT_OTR_PARAMS.dispute, bondSafetyFactor: 0.5 },
      }),
    ).toEqual([expect.stringMatching(/bondSafetyFactor must be ≥ 1/)]);
  });
});

describe("error codes", () => {
  it("are UPPER_SNAKE_CASE with a meaning and a disposition", () => {
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/);
      expect(entry.meaning.length).toBeGreaterThan(10);
      expect(["reject", "ignore"]).toContain(entry.disposition);
    }
  });
});
