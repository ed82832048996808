import { describe, expect, it } from "vitest";
import { createRng } from "../../rng/prng.ts";
import { mean, median, trimmedMean, validateTrim, weightedMean, weightedMedian } from "./aggregators.ts";
import { parseBehaviour, reportedScore, validateAttackParams } from "./behaviours.ts";
import { captureProbability, minimumK, probabilityAtLeast } from "./sampling.ts";
import { DiscriminationStats, hardenedTrustUpdate, leaveOneOutMedians, paperTrustUpdate } from "./trust.ts";

const attack = { noiseSigma: 1, amount: 3, intermittentProbability: 0.5, lazyScore: 7 };

describe("aggregators", () => {
  it("compute mean, median, trimmed mean, weighted mean and weighted median", () => {
    const s = [1, 9, 3, 10, 2];
    expect(mean(s)).toBe(5);
    expect(median(s)).toBe(3);
    expect(median([1, 2, 3, 4])).toBe(2.5);
    expect(trimmedMean(s, 0.2)).toBeCloseTo((2 + 3 + 9) / 3, 12);
    expect(trimmedMean(s, 0)).toBe(5);
    expect(weightedMean([2, 8], [3, 1])).toBe(3.5);
    expect(weightedMean([2, 8], [0, 0])).toBe(5);
    expect(weightedMedian([1, 2, 3], [1, 1, 5])).toBe(3);
    expect(weightedMedian([1, 2, 3], [1, 1, 1])).toBe(2);
    expect(weightedMedian([4, 1, 3, 2], [1, 1, 1, 1])).toBe(2.5);
    expect(weightedMedian([1, 2, 3], [2, 1, 1])).toBe(1.5);
  });

  it("reject a trim fraction outside [0, 0.5)", () => {
    expect(validateTrim(0.25).ok).toBe(true);
    for (const tau of [0.5, -0.1, Number.NaN])
      expect(validateTrim(tau)).toMatchObject({ ok: false, error: { code: "PARAMS_INVALID" } });
  });
});

describe("trust", () => {
  const paper = { lambda: 0.2, wMin: 0.1, wMax: 5, initialWeight: 1 };

  it("Eq. 21 exactly: w ← clip(w·(1 + λ(0.5 − |s−c|/10)), w_min, w_max)", () => {
    const w = Float64Array.from([1, 1, 4.9]);
    paperTrustUpdate(w, [0, 1, 2], [6, 0, 6], 3, 5, paper);
    expect(w[0]).toBeCloseTo(1 * (1 + 0.2 * (0.5 - 0.1)), 12);
    expect(w[1]).toBeCloseTo(1 * (1 + 0.2 * (0.5 - 0.5)), 12);
    expect(w[2]).toBe(5);
  });

  it("Eq. 21 saturates: everyone within 5 points of consensus grows to w_max, even a biased coalition", () => {
    const w = new Float64Array(5).fill(1);
    for (let t = 0; t < 200; t++) {
      // Three honest evaluators near the truth, two colluders 4 points above it: all d < 0.5.
      const scores = [5, 5.2, 4.8, 9, 9];
      paperTrustUpdate(
        w,
        [0, 1, 2, 3, 4],
        scores,
        5,
        weightedMean(scores, [w[0]!, w[1]!, w[2]!, w[3]!, w[4]!]),
        paper,
      );
    }
    expect([...w]).toEqual([5, 5, 5, 5, 5]);
  });

  it("the hardened rule: leave-one-out references, relative steps, decay, audits", () => {
    const p = {
      eta: 2,
      decay: 0.02,
      prior: 1,
      wMin: 0.05,
      wMax: 20,
      auditBoost: 3,
      discriminationMemory: 100,
    };
    const w = new Float64Array(5).fill(1);
    const refs = new Float64Array(5);
    const dev = new Float64Array(5);
    for (let t = 0; t < 200; t++) {
      const scores = [5, 5.2, 4.8, 9, 9];
      const trust = [w[0]!, w[1]!, w[2]!, w[3]!, w[4]!];
      leaveOneOutMedians(
        scores,
        trust,
        5,
        refs,
        new Float64Array(5),
        new Float64Array(5),
        new Uint32Array(5),
      );
      hardenedTrustUpdate(w, [0, 1, 2, 3, 4], scores, refs, 5, false, p, dev);
    }
    // The coalition of two cannot move the honest majority's median: it loses trust, honest nodes gain.
    expect(w[3]!).toBeLessThan(0.5);
    expect(w[0]!).toBeGreaterThan(1);
    // Decay keeps honest weights bounded well below w_max (no saturation).
    expect(w[0]!).toBeLessThan(p.wMax);
    // On an audited round a unanimous majority coalition still loses against the ground truth.
    const v = new Float64Array(3).fill(1);
    hardenedTrustUpdate(v, [0, 1, 2], [9, 9, 9], [5, 5, 5], 3, true, p, dev);
    expect(v[0]!).toBeLessThan(1);
  });

  it("the discrimination factor: correlation with the references, floored, after a warm-up", () => {
    const stats = new DiscriminationStats(3, 100);
    const rng = createRng(7);
    const observeRound = () => {
      const reference = rng.float() * 10;
      // Node 0 tracks the reference with noise, node 1 reports a constant, node 2 is independent noise.
      stats.observe(
        [0, 1, 2],
        [reference + rng.normal(), 6, rng.float() * 10],
        [reference, reference, reference],
        3,
      );
    };
    for (let t = 0; t < 10; t++) observeRound();
    expect([stats.factor(0), stats.factor(1), stats.factor(2)]).toEqual([1, 1, 1]);
    for (let t = 0; t < 500; t++) observeRound();
    expect(stats.factor(0)).toBeGreaterThan(0.9);
    expect(stats.factor(1)).toBe(0.01);
    expect(stats.factor(2)).toBeLessThan(0.2);
    // Memory 0 turns the factor off.
    const off = new DiscriminationStats(1, 0);
    off.observe([0], [6], [1], 1);
    expect(off.factor(0)).toBe(1);
  });
});

describe("evaluator behaviours", () => {
  const view = { lastConsensus: 6, revealedMedian: Number.NaN, coalitionMean: 4 };
  it("transform the honest score as specified", () => {
    const rng = createRng(1);
    expect(reportedScore("honest", 5, view, attack, rng)).toBe(5);
    expect(reportedScore("boost", 8, view, attack, rng)).toBe(10);
    expect(reportedScore("sabotage", 2, view, attack, rng)).toBe(0);
    expect(reportedScore("collude", 9, view, attack, rng)).toBe(7);
    expect(reportedScore("copycat", 1, view, attack, rng)).toBe(6);
    expect(reportedScore("copycat", 1, { ...view, revealedMedian: 3 }, attack, rng)).toBe(3);
    expect(reportedScore("copycat", 1, { ...view, lastConsensus: Number.NaN }, attack, rng)).toBe(7);
    expect(reportedScore("lazy", 1, view, attack, rng)).toBe(7);
    const noisy = Array.from({ length: 2000 }, () => reportedScore("noise", 5, view, attack, rng));
    expect(Math.min(...noisy)).toBeGreaterThanOrEqual(0);
    expect(Math.abs(mean(noisy) - 5)).toBeLessThan(0.1);
    const intermittent = Array.from({ length: 2000 }, () =>
      reportedScore("intermittent", 5, view, attack, rng),
    );
    expect(intermittent.filter((s) => s === 8).length / 2000).toBeCloseTo(0.5, 1);
  });

  it("reject unknown attacks and invalid parameters before any work", () => {
    expect(parseBehaviour("boost")).toEqual({ ok: true, value: "boost" });
    expect(parseBehaviour("bribe")).toMatchObject({
      ok: false,
      error: {
        code: "PARAMS_INVALID",
        message: expect.stringMatching(/unknown attack "bribe"; known: honest, noise/),
      },
    });
    const bad = validateAttackParams({
      noiseSigma: -1,
      amount: 11,
      intermittentProbability: 2,
      lazyScore: 5,
    });
    expect(bad).toMatchObject({
      ok: false,
      error: { meta: { problems: expect.arrayContaining([expect.stringMatching(/σ/)]) } },
    });
    if (!bad.ok) expect(bad.error.meta.problems).toHaveLength(3);
  });
});

describe("sampling", () => {
  it("computes hypergeometric capture probabilities exactly", () => {
    // 2 attackers of 4 nodes, k = 3: a majority needs both attackers, C(2,2)·C(2,1)/C(4,3) = 2/4.
    expect(captureProbability(4, 2, 3)).toBeCloseTo(0.5, 12);
    expect(captureProbability(10, 0, 5)).toBe(0);
    expect(captureProbability(10, 10, 5)).toBeCloseTo(1, 12);
    expect(probabilityAtLeast(10, 3, 4, 0)).toBeCloseTo(1, 12);
    let total = 0;
    for (let x = 0; x <= 5; x++)
      total += probabilityAtLeast(30, 9, 5, x) - probabilityAtLeast(30, 9, 5, x + 1);
    expect(total).toBeCloseTo(1, 12);
    expect(minimumK(30, 3, 0.001, 30)).toBe(7);
    expect(minimumK(30, 15, 0.001, 30)).toBeNull();
  });
});
