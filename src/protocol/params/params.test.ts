import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../errors.ts";
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

describe("error codes", () => {
  it("are UPPER_SNAKE_CASE with a meaning and a disposition", () => {
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/);
      expect(entry.meaning.length).toBeGreaterThan(10);
      expect(["reject", "ignore"]).toContain(entry.disposition);
    }
  });
});
