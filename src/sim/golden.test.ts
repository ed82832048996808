/**
 * Pins the seeded PoQ simulator's output bit for bit (sha256 of its JSON) over every aggregator, attack,
 * quality signal and commit–reveal setting, and a sweep, so moving the PoQ round into the protocol (or
 * any later refactor) cannot change a result unnoticed. A deliberate change of results updates the
 * hashes here and says why in its commit.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AGGREGATORS } from "../protocol/poq/consensus/aggregators.ts";
import { BEHAVIOURS } from "../protocol/poq/consensus/behaviours.ts";
import { seedFrom } from "../protocol/rng/deriveSeed.ts";
import { DEFAULT_SIM_CONFIG } from "./simConfig.ts";
import { simulatePoq } from "./simulatePoq.ts";
import { DEFAULT_SWEEP_GRID, runSweepPoint, sweepPoints } from "./sweep.ts";
import { syntheticPool } from "./syntheticPool.ts";

const pool = syntheticPool({ prompts: 120, systems: 4, evaluators: 3, seed: seedFrom(7) });
const sha = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex");

describe("PoQ simulator golden output", () => {
  it("simulate: every aggregator × attack × quality signal × commit–reveal", () => {
    const results: unknown[] = [];
    for (const aggregator of AGGREGATORS)
      for (const attack of BEHAVIOURS)
        for (const quality of ["evaluator", "composite"] as const)
          for (const commitReveal of [true, false])
            results.push(
              simulatePoq(
                pool,
                {
                  ...DEFAULT_SIM_CONFIG,
                  rounds: 150,
                  aggregator,
                  attack,
                  quality,
                  commitReveal,
                  maliciousRatio: 0.3,
                },
                seedFrom(11),
              ),
            );
    expect(sha(results)).toBe("40feccc4b626ad4e65d62e155f5b14883a58d2cc9cc50322608202e438c5d4df");
  });

  it("sweep: a grid of points", () => {
    const grid = { ...DEFAULT_SWEEP_GRID, maliciousRatios: [0, 0.3], ks: [3, 7], replicates: 1 };
    const rows = sweepPoints(grid).map((p) =>
      runSweepPoint(pool, { ...DEFAULT_SIM_CONFIG, rounds: 100 }, p, seedFrom(5)),
    );
    expect(sha(rows)).toBe("e7adcd041c28588497ce50eb68990da93d85e9febf4c2c18df59d82e3d1888db");
  });
});
