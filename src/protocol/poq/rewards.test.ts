import { describe, expect, it } from "vitest";
import { bytesToHex, type Hex } from "../encoding/hex.ts";
import { keccakUtf8 } from "../encoding/keccak.ts";
import { ok } from "../errors.ts";
import { createRng } from "../rng/prng.ts";
import {
  calibrateWeights,
  compositeScore,
  DEFAULT_DIMENSION_WEIGHTS,
  DIMENSIONS,
  type DimensionWeights,
  fitWeights,
  formatWeights,
  parseWeights,
  renormalizeWeights,
  validateWeights,
} from "./composite.ts";
import { commitment, type Reveal, settleReveals, toScoreMilli } from "./consensus/commitReveal.ts";
import {
  evaluatorReward,
  formatFixedPoint,
  inferenceReward,
  normalizeCost,
  RewardLedger,
  toFixedPoint,
} from "./rewards.ts";

describe("cost-aware rewards", () => {
  it("R = α·quality − β·cost for both node types", () => {
    const w = { alpha: 1, beta: 0.5 };
    expect(inferenceReward(8, 0.4, w)).toBeCloseTo(0.8 - 0.2, 12);
    expect(evaluatorReward(7, 8, 0.1, w)).toBeCloseTo(0.9 - 0.05, 12);
    expect(normalizeCost(50, 200)).toBe(0.25);
    expect(normalizeCost(5, 0)).toBe(0);
  });

  it("settles ⌊x·10^18⌋ of the exact binary value, toward −∞", () => {
    // 0.1 is 3602879701896397 / 2^55 = 0.1000000000000000055511…
    expect(toFixedPoint(0.1, 18)).toBe(100000000000000005n);
    expect(toFixedPoint(-0.1, 18)).toBe(-100000000000000006n);
    expect(toFixedPoint(0.5, 18)).toBe(500000000000000000n);
    expect(toFixedPoint(3, 0)).toBe(3n);
    expect(toFixedPoint(2 ** 70, 2)).toBe(2n ** 70n * 100n);
    expect(toFixedPoint(5e-324, 18)).toBe(0n);
    expect(toFixedPoint(-5e-324, 18)).toBe(-1n);
    expect(() => toFixedPoint(Number.NaN, 18)).toThrow(RangeError);
  });

  it("ledgers sum exactly and never credit more than the float rewards", () => {
    const ledger = new RewardLedger(18);
    for (let i = 0; i < 10; i++) ledger.credit("a", 0.1);
    ledger.credit("b", -0.25);
    const a = ledger.balancesByNode().get("a")!;
    expect(a).toBe(1000000000000000050n);
    expect(ledger.balancesByNode().get("b")).toBe(-250000000000000000n);
    expect(ledger.total()).toBe(a - 250000000000000000n);
    expect(formatFixedPoint(a, 18)).toBe("1.000000000000000050");
    expect(formatFixedPoint(-250000000000000000n, 18, 4)).toBe("-0.2500");
    expect(formatFixedPoint(42n, 0)).toBe("42");
  });
});

describe("commit–reveal", () => {
  const evaluator = "0x00000000000000000000000000000000000000aa" as Hex;
  const other = "0x00000000000000000000000000000000000000bb" as Hex;
  const salt = keccakUtf8("salt");
  const reveal: Reveal = { round: 7n, evaluator, scoreMilli: toScoreMilli(7.25), salt };

  it("commits to round, evaluator, score and salt, and checks reveals", () => {
    const c = commitment(reveal);
    expect(c.ok && c.value).toMatch(/^0x[0-9a-f]{64}$/);
    const outcome = settleReveals(7n, new Map([[evaluator, (c as { value: Hex }).value]]), [reveal]);
    expect(outcome.accepted.get(evaluator)).toBe(7.25);
    expect(outcome.penalized.size).toBe(0);
  });

  it("penalizes a changed score or a missing reveal, and ignores reveals without a commitment", () => {
    const c = (commitment(reveal) as { value: Hex }).value;
    const c2 = (commitment({ ...reveal, evaluator: other }) as { value: Hex }).value;
    const outcome = settleReveals(
      7n,
      new Map([
        [evaluator, c],
        [other, c2],
      ]),
      [
        { ...reveal, scoreMilli: 9000 },
        { ...reveal, evaluator: "0x00000000000000000000000000000000000000cc" as Hex },
      ],
    );
    expect(outcome.penalized.get(evaluator)).toBe("COMMIT_MISMATCH");
    expect(outcome.penalized.get(other)).toBe("REVEAL_MISSING");
    expect(outcome.ignored).toEqual(["0x00000000000000000000000000000000000000cc"]);
    expect(settleReveals(8n, new Map([[evaluator, c]]), [reveal]).penalized.get(evaluator)).toBe(
      "COMMIT_MISMATCH",
    );
  });

  it("rejects out-of-range scores and malformed salts", () => {
    expect(commitment({ ...reveal, scoreMilli: 10001 })).toMatchObject({
      ok: false,
      error: { code: "SCORE_OUT_OF_RANGE" },
    });
    expect(commitment({ ...reveal, scoreMilli: 1.5 })).toMatchObject({
      ok: false,
      error: { code: "SCORE_OUT_OF_RANGE" },
    });
    expect(commitment({ ...reveal, salt: bytesToHex(new Uint8Array(4)) })).toMatchObject({
      ok: false,
      error: { code: "HEX_INVALID" },
    });
  });
});

/** Centered Gram matrix and cross products of rows (dimensions) against y. */
function centeredMoments(rows: number[][], y: number[]) {
  const n = rows.length;
  const d = (rows[0] as number[]).length;
  const mean = Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + (r[j] as number), 0) / n);
  const my = y.reduce((a, b) => a + b, 0) / n;
  const gram = Array.from({ length: d }, (_, j) =>
    Array.from({ length: d }, (_, k) =>
      rows.reduce(
        (s, r) => s + ((r[j] as number) - (mean[j] as number)) * ((r[k] as number) - (mean[k] as number)),
        0,
      ),
    ),
  );
  const cross = Array.from({ length: d }, (_, j) =>
    rows.reduce((s, r, i) => s + ((r[j] as number) - (mean[j] as number)) * ((y[i] as number) - my), 0),
  );
  return { gram, cross };
}

describe("multi-dimensional composite", () => {
  it("weights dimensions and calibrates by dropping weak or negative ones", () => {
    expect(compositeScore([10, 10, 10, 10, 10], DEFAULT_DIMENSION_WEIGHTS)).toBeCloseTo(10, 12);
    expect(compositeScore([0, 0, 10, 0, 0], DEFAULT_DIMENSION_WEIGHTS)).toBeCloseTo(4, 12);
    const c = calibrateWeights(
      { prior: 0.3, structure: 0.05, semantic: 0.7, alignment: -0.1, agreement: null },
      DEFAULT_DIMENSION_WEIGHTS,
      0.1,
    );
    expect(c.weights?.semantic).toBeCloseTo(0.4 / 0.55, 12);
    expect(c.weights?.prior).toBeCloseTo(0.15 / 0.55, 12);
    expect(c.weights?.alignment).toBe(0);
    expect(c.dropped.map((d) => d.dimension)).toEqual(["structure", "alignment", "agreement"]);
    expect(validateWeights(c.weights as DimensionWeights).ok).toBe(true);
    // None passes: no calibrated composite, and why (the best of the rejected is not kept).
    const none = calibrateWeights(
      { prior: -0.3, structure: -0.2, semantic: 0.05, alignment: null, agreement: -0.1 },
      DEFAULT_DIMENSION_WEIGHTS,
      0.1,
    );
    expect(none).toMatchObject({
      weights: null,
      reason: "no dimension reaches Pearson 0.1 on the calibration half",
    });
    expect(none.dropped).toHaveLength(5);
    // The dimensions an evaluator node scores (structure and alignment), renormalized: half each.
    expect(renormalizeWeights(DEFAULT_DIMENSION_WEIGHTS, ["structure", "alignment"])).toEqual({
      prior: 0,
      structure: 0.5,
      semantic: 0,
      alignment: 0.5,
      agreement: 0,
    });
    expect(renormalizeWeights({ ...DEFAULT_DIMENSION_WEIGHTS, structure: 0 }, ["structure"])).toBeNull();
    expect(validateWeights({ ...DEFAULT_DIMENSION_WEIGHTS, semantic: 0.5 })).toMatchObject({
      ok: false,
      error: { code: "PARAMS_INVALID" },
    });
  });

  it("fits non-negative weights that recover a linear truth, and none when nothing predicts it", () => {
    // y = 2·semantic + 1·agreement on random dimensions: the fit finds 2/3 and 1/3.
    const rng = createRng(4);
    const rows = Array.from({ length: 400 }, () => DIMENSIONS.map(() => rng.float() * 10));
    const y = rows.map((r) => 2 * (r[2] as number) + (r[4] as number));
    const { gram, cross } = centeredMoments(rows, y);
    const w = fitWeights(gram, cross) as DimensionWeights;
    expect(w.semantic).toBeCloseTo(2 / 3, 6);
    expect(w.agreement).toBeCloseTo(1 / 3, 6);
    expect(w.prior + w.structure + w.alignment).toBeCloseTo(0, 6);
    // Only structure varies, and the truth falls as it rises: nothing has a positive association.
    const flat = rows.map((r) => [5, r[1] as number, 5, 5, 5]);
    const anti = centeredMoments(
      flat,
      flat.map((r) => -(r[1] as number)),
    );
    expect(fitWeights(anti.gram, anti.cross)).toBeNull();
  });

  it("weights round-trip through the command-line form; bad lists are rejected", () => {
    expect(parseWeights(formatWeights(DEFAULT_DIMENSION_WEIGHTS))).toEqual(ok(DEFAULT_DIMENSION_WEIGHTS));
    const p = parseWeights("semantic=3, prior=1");
    expect(p).toMatchObject({ ok: true, value: { semantic: 0.75, prior: 0.25, structure: 0 } });
    for (const [text, message] of [
      ["semantic=0.5,quality=0.5", /unknown composite weight "quality=0.5"/],
      ["semantic=-1", /must be a non-negative number, got "-1"/],
      ["semantic=", /must be a non-negative number/],
      ["prior=0,semantic=0", /at least one positive weight/],
    ] as const) {
      expect(parseWeights(text)).toMatchObject({ ok: false, error: { code: "PARAMS_INVALID", message } });
    }
  });
});
