/**
 * A small synthetic pool for tests and benchmarks: item quality drawn per system, evaluator types that
 * see it with different noise, an alignment dimension that is anti-correlated with quality, and costs.
 * Real experiments use pools of real logged outputs (experiments/poq/buildPool.ts).
 */
import { deriveSeed, type Seed } from "../protocol/rng/deriveSeed.ts";
import { createRng } from "../protocol/rng/prng.ts";
import { POOL_DIMENSIONS, type PoqPool } from "./poqPool.ts";

/** Builds a pool of `prompts` × `systems` items with `evaluators` noisy evaluator types. */
export function syntheticPool(options: {
  prompts: number;
  systems: number;
  evaluators: number;
  seed: Seed;
}): PoqPool {
  const rng = createRng(deriveSeed(options.seed, "synthetic-pool"));
  const S = options.systems;
  const E = options.evaluators;
  const D = POOL_DIMENSIONS.length;
  const n = options.prompts * S;
  const clip = (x: number) => Math.max(0, Math.min(10, x));
  const skill = Array.from({ length: S }, (_, s) => 3 + (6 * s) / Math.max(1, S - 1));
  const truth = new Float32Array(n);
  const scores = new Float32Array(n * E);
  const dimensions = new Float32Array(n * D);
  const systemOf = new Int32Array(n);
  const itemOf = new Int32Array(n);
  const inferenceCostMs = new Float32Array(n);
  for (let p = 0; p < options.prompts; p++) {
    const difficulty = rng.normal();
    for (let s = 0; s < S; s++) {
      const i = p * S + s;
      itemOf[i] = i;
      systemOf[i] = s;
      truth[i] = clip((skill[s] as number) - difficulty + rng.normal());
      for (let e = 0; e < E; e++) scores[i * E + e] = clip((truth[i] as number) + (0.5 + e) * rng.normal());
      dimensions[i * D] = clip(8 + rng.normal()); // structure: unrelated to quality
      dimensions[i * D + 1] = clip(10 - (truth[i] as number) + rng.normal()); // alignment: anti-correlated
      dimensions[i * D + 2] = clip((truth[i] as number) + 2 * rng.normal()); // agreement: noisy but useful
      inferenceCostMs[i] = 100 * (s + 1);
    }
  }
  return {
    task: "synthetic",
    systems: Array.from({ length: S }, (_, s) => `system-${s}`),
    evaluators: Array.from({ length: E }, (_, e) => `evaluator-${e}`),
    truthName: "quality",
    prompts: options.prompts,
    itemOf,
    systemOf,
    scores,
    dimensions,
    truth,
    inferenceCostMs,
    evaluatorCostMs: Float64Array.from({ length: E }, (_, e) => 1 + e),
    provenance: { synthetic: true },
  };
}
