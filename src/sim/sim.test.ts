import { describe, expect, it } from "vitest";
import { DEFAULT_DIMENSION_WEIGHTS } from "../protocol/poq/composite.ts";
import { seedFrom } from "../protocol/rng/deriveSeed.ts";
import { calibrateComposite } from "./calibrateComposite.ts";
import { validatePool } from "./poqPool.ts";
import { DEFAULT_SIM_CONFIG, type PoqSimConfig, validateSimConfig } from "./simConfig.ts";
import { simulatePoq } from "./simulatePoq.ts";
import {
  DEFAULT_SWEEP_GRID,
  maliciousSeed,
  pointSeed,
  runSweepPoint,
  sweepPoints,
  validateSweep,
} from "./sweep.ts";
import { syntheticPool } from "./syntheticPool.ts";

const pool = syntheticPool({ prompts: 400, systems: 4, evaluators: 3, seed: seedFrom(1) });
const run = (overrides: Partial<PoqSimConfig>, seed = 1) =>
  simulatePoq(pool, { ...DEFAULT_SIM_CONFIG, rounds: 3000, ...overrides }, seedFrom(seed));

describe("PoQ simulation", () => {
  it("is deterministic for a seed and tracks the truth when everyone is honest", () => {
    expect(validatePool(pool).ok).toBe(true);
    const a = run({});
    expect(run({})).toEqual(a);
    expect(run({}, 2)).not.toEqual(a);
    expect(a.consensus.pearson!).toBeGreaterThan(0.85);
    expect(a.maliciousEvaluatorReward).toBeNull();
    expect(a.inference.map((s) => s.rounds).reduce((x, y) => x + y, 0)).toBe(3000);
    // Every round settles in bigint fixed point: floors, so never more than the float rewards, and
    // less by under one unit per round.
    const settled = a.settled!;
    expect(settled.decimals).toBe(18);
    for (const node of a.inference) {
      const exact = BigInt(settled.inference[node.name]!);
      const float = node.meanReward * node.rounds;
      expect(Number(exact) / 1e18).toBeCloseTo(float, 9);
    }
    const sum = [...Object.values(settled.inference), ...settled.evaluators].reduce(
      (x, y) => x + BigInt(y),
      0n,
    );
    expect(BigInt(settled.total)).toBe(sum);
    expect(run({ settlementDecimals: null }).settled).toBeNull();
  });

  it("rejects invalid parameters with every problem listed, before any work", () => {
    const bad = { ...DEFAULT_SIM_CONFIG, trim: 0.5, k: 0, attack: "bribe" as never, maliciousRatio: 2 };
    const v = validateSimConfig(bad, 3);
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.error.code).toBe("PARAMS_INVALID");
      expect(v.error.message).toMatch(/trim fraction τ must be in \[0, 0.5\), got 0.5/);
      expect(v.error.message).toMatch(/unknown attack "bribe"/);
      expect(v.error.meta.problems).toHaveLength(4);
    }
    expect(validateSimConfig({ ...DEFAULT_SIM_CONFIG, k: 31 }, 3)).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/exceeds the 30 evaluator nodes/) },
    });
    const negative = {
      ...pool,
      inferenceCostMs: Float32Array.from(pool.inferenceCostMs, (c, i) => (i === 3 ? -1 : c)),
    };
    expect(validatePool(negative)).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/costs must be finite and non-negative \(index 3/) },
    });
  });

  it("reproduces the robust-PoQ paper's qualitative findings", () => {
    // Boosting inflates rewards under the mean; Yuma's clipping pays nobody above consensus.
    const boostMean = run({ aggregator: "mean", attack: "boost", maliciousRatio: 0.3 });
    const boostYuma = run({ aggregator: "yuma", attack: "boost", maliciousRatio: 0.3 });
    expect(boostMean.rewardInflation).toBeGreaterThan(0.05);
    expect(boostYuma.rewardInflation).toBeLessThan(boostMean.rewardInflation);
    // Median and trimmed mean beat the mean under strong sabotage by a minority (with weak attacks on
    // noisy evaluators the median's own noise can cost more than it saves: see poq-robust.md).
    const strong = { ...DEFAULT_SIM_CONFIG.attackParams, amount: 8 };
    const sab = (aggregator: PoqSimConfig["aggregator"]) =>
      run({ aggregator, attack: "sabotage", maliciousRatio: 0.2, attackParams: strong }).consensus.mae;
    expect(sab("median")).toBeLessThan(sab("mean"));
    expect(sab("trimmed-mean")).toBeLessThan(sab("mean"));
  });

  it("the paper's trust rule saturates and rewards a coalition; the hardened rule does not", () => {
    const paper = run({ aggregator: "trust", attack: "collude", maliciousRatio: 0.3 });
    expect(paper.finalWeights.honest).toBeCloseTo(DEFAULT_SIM_CONFIG.paperTrust.wMax, 6);
    expect(paper.finalWeights.malicious).toBeCloseTo(DEFAULT_SIM_CONFIG.paperTrust.wMax, 6);
    const hardened = run({ aggregator: "hardened-trust", attack: "collude", maliciousRatio: 0.3 });
    expect(hardened.finalWeights.malicious!).toBeLessThan(hardened.finalWeights.honest / 2);
    expect(hardened.consensus.mae).toBeLessThan(paper.consensus.mae);
  });

  it("commit–reveal stops copying this round's scores; a small cost weight makes stale copying unprofitable", () => {
    const rewards = (beta: number) => ({ inference: { alpha: 1, beta }, evaluator: { alpha: 1, beta } });
    const open = run({ attack: "copycat", maliciousRatio: 0.2, commitReveal: false });
    const sealed = run({ attack: "copycat", maliciousRatio: 0.2, commitReveal: true });
    // Without commit–reveal a copycat agrees perfectly at no cost and out-earns honest evaluators.
    expect(open.maliciousEvaluatorReward!.mean).toBeGreaterThan(open.honestEvaluatorReward.mean);
    expect(sealed.maliciousEvaluatorReward!.mean).toBeLessThan(open.maliciousEvaluatorReward!.mean);
    // With commit–reveal it can only copy the previous round; that still pays when β is large (it saves
    // the evaluation cost), but not once β is small.
    const sealedCheap = run({
      attack: "copycat",
      maliciousRatio: 0.2,
      commitReveal: true,
      rewards: rewards(0.1),
    });
    expect(sealedCheap.maliciousEvaluatorReward!.mean).toBeLessThan(sealedCheap.honestEvaluatorReward.mean);
  });

  it("runs with the composite quality signal", () => {
    const r = run({
      quality: "composite",
      compositeWeights: { prior: 0.1, structure: 0, semantic: 0.7, alignment: 0, agreement: 0.2 },
    });
    expect(r.consensus.pearson!).toBeGreaterThan(0.8);
  });
});

describe("sweeps", () => {
  it("cover the issue's grid, share rounds across aggregators, and validate before work", () => {
    expect(sweepPoints(DEFAULT_SWEEP_GRID)).toHaveLength(1260);
    const p = { aggregator: "mean", attack: "boost", maliciousRatio: 0.2, k: 5, replicate: 0 } as const;
    expect(pointSeed(seedFrom(1), p)).toBe(pointSeed(seedFrom(1), { ...p, aggregator: "median" }));
    expect(pointSeed(seedFrom(1), p)).not.toBe(pointSeed(seedFrom(1), { ...p, k: 7 }));
    expect(maliciousSeed(seedFrom(1), p)).toBe(
      maliciousSeed(seedFrom(1), { ...p, k: 7, attack: "sabotage" }),
    );
    // The malicious seed, not the round seed, decides who is malicious.
    const attackers = (seed: number) =>
      simulatePoq(
        pool,
        { ...DEFAULT_SIM_CONFIG, rounds: 10, maliciousRatio: 0.3, attack: "boost" },
        seedFrom(seed),
        seedFrom(99),
      ).evaluators.flatMap((e) => (e.malicious ? [e.node] : []));
    expect(attackers(1)).toHaveLength(9);
    expect(attackers(2)).toEqual(attackers(1));
    const row = runSweepPoint(pool, { ...DEFAULT_SIM_CONFIG, rounds: 500 }, p, seedFrom(1));
    expect(row).toMatchObject({ aggregator: "mean", attack: "boost", k: 5 });
    expect(validateSweep({ ...DEFAULT_SWEEP_GRID, ks: [3, 40] }, DEFAULT_SIM_CONFIG, 3)).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/k = 40 exceeds the 30 evaluator nodes/) },
    });
  });
});

describe("composite calibration", () => {
  it("drops the anti-correlated dimension and is evaluated on held-out prompts", () => {
    const options = {
      semantic: null,
      weights: DEFAULT_DIMENSION_WEIGHTS,
      minCorrelation: 0.1,
      seed: seedFrom(3),
      resamples: 200,
      confidence: 0.95,
    };
    const r = calibrateComposite(pool, options);
    expect(r.dimensionCorrelations.alignment!).toBeLessThan(0);
    expect(r.calibration.dropped.map((d) => d.dimension)).toContain("alignment");
    expect(r.calibration.weights?.alignment).toBe(0);
    expect(r.calibrationItems + r.heldOutItems).toBe(1600);
    expect(r.heldOut.calibratedComposite!).toBeGreaterThan(r.heldOut.defaultComposite!);
    // Chosen on the calibration half: the best single evaluator, and the semantic dimension with it.
    expect(r.bestSingle.evaluator).toBe("evaluator-0");
    expect(r.semantic).toEqual({ evaluator: "evaluator-0", chosenBy: "calibration half" });
    const best = Object.entries(r.calibrationPearson).sort((a, b) => (b[1] ?? -2) - (a[1] ?? -2))[0];
    expect(best?.[0]).toBe("evaluator-0");
    // The differences come with an interval that contains them.
    const d = r.heldOut.calibratedMinusBestSingle;
    expect(d.delta).toBeCloseTo(r.heldOut.calibratedComposite! - r.heldOut.bestSingle!, 12);
    expect(d.low!).toBeLessThanOrEqual(d.delta!);
    expect(d.high!).toBeGreaterThanOrEqual(d.delta!);
    // Deterministic per seed; a threshold nothing passes gives no calibrated composite.
    expect(calibrateComposite(pool, options)).toEqual(r);
    const none = calibrateComposite(pool, { ...options, minCorrelation: 0.99 });
    expect(none.calibration.weights).toBeNull();
    expect(none.heldOut.calibratedComposite).toBeNull();
    expect(none.heldOut.calibratedMinusBestSingle.delta).toBeNull();
  });
});
