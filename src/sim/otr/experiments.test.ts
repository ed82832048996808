import { describe, expect, it } from "vitest";
import { keccak256 } from "../../protocol/encoding/keccak.ts";
import { seedFrom } from "../../protocol/rng/deriveSeed.ts";
import { EXPERIMENT_RUNS, EXPERIMENTS, runExperiment } from "./experiments.ts";
import { DEFAULT_OTR_SIM, validateOtrSim } from "./otrSim.ts";
import { SCENARIOS } from "./scenarios.ts";

const base = { ...DEFAULT_OTR_SIM, requests: 1_500 };

describe("OTR experiments", () => {
  it("each makes the runs its progress bar counts, and gives rows as wide as its columns", () => {
    for (const name of EXPERIMENTS) {
      let runs = 0;
      const t = runExperiment(name, { base, seed: seedFrom(1), hash: keccak256, onRun: () => runs++ });
      expect(runs, name).toBe(EXPERIMENT_RUNS[name]);
      expect(t.rows.length, name).toBeGreaterThan(0);
      for (const row of t.rows) expect(row.length, name).toBe(t.columns.length);
    }
  });

  it("the cost table's first row is the paper's $0.07 and the throughput ratio follows 1/(1+overhead)", () => {
    const cost = runExperiment("cost", { base, seed: seedFrom(1), hash: keccak256 });
    expect(cost.rows[0]?.at(-1)).toBeCloseTo(0.0687, 4);
    const tp = runExperiment("throughput", {
      base: { ...base, requests: 8_000, workers: 40 },
      seed: seedFrom(1),
      hash: keccak256,
    });
    for (const row of tp.rows) expect(Math.abs((row[3] as number) - (row[4] as number))).toBeLessThan(0.03);
  });
});

describe("OTR simulation configurations", () => {
  it("every scenario is valid", () => {
    for (const [name, s] of Object.entries(SCENARIOS)) expect(validateOtrSim(s.config).ok, name).toBe(true);
  });

  it("an invalid configuration is refused with every problem named", () => {
    const v = validateOtrSim({
      ...DEFAULT_OTR_SIM,
      requests: 0,
      workers: 2.5,
      arrivals: { kind: "poisson", ratePerSecond: -1 },
      fishermen: { coverage: 1.5, reactionMs: 0 },
      adversary: { kind: "lazy", workers: 2, rate: 0.5 },
      otr: { ...DEFAULT_OTR_SIM.otr, dispute: { ...DEFAULT_OTR_SIM.otr.dispute, arity: 3 } },
    });
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.error.code).toBe("PARAMS_INVALID");
    expect(v.error.meta.problems).toEqual([
      "requests must be an integer in 1..50000000, got 0",
      "workers must be an integer in 1..10000000, got 2.5",
      "arrivals.ratePerSecond must be > 0, got -1",
      "fishermen.coverage must be in [0, 1], got 1.5",
      "adversary.workers must be in [0, 1], got 2",
      "dispute.arity must be a power of two in 2..256, got 3",
    ]);
  });
});
