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
    // 100 griefers: 100 one-steps at 2M gas and 30 gwei = 6 ETH of capital, all paid back.
    expect(defenseCapital(DEFAULT_OTR_PARAMS.dispute, 100)).toBe(6n * 10n ** 18n);
    // Bonds at cost (safety factor 1) do not cover the dissection's own bond and gas: refused.
    expect(
      otrProblems({ ...DEFAULT_OTR_PARAMS, dispute: { ...DEFAULT_OTR_PARAMS.dispute, bondSafetyFactor: 1 } }),
    ).toEqual([expect.stringMatching(/dispute bonds must cover the answers they force/)]);
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
