/**
 * The input of PoQ simulations: real logged outputs scored by real evaluators. Items are outputs of
 * inference nodes (systems) for prompts; each item has every evaluator type's real score, the quality
 * dimensions of the composite, a ground-truth proxy (never shown to the protocol) and the output's cost.
 * Plain typed arrays, so a pool can be sent to worker threads and simulated without allocation.
 */
import { fail, ok, type Verdict } from "../protocol/errors.ts";

/** Extra per-item dimensions used by the composite (the semantic dimension is each evaluator's own score). */
export const POOL_DIMENSIONS = ["structure", "alignment", "agreement"] as const;

/** A simulation pool. */
export interface PoqPool {
  readonly task: string;
  /** Inference nodes. */
  readonly systems: readonly string[];
  /** Evaluator types (real evaluators). */
  readonly evaluators: readonly string[];
  /** Name of the ground-truth proxy. */
  readonly truthName: string;
  readonly prompts: number;
  /** item index of (prompt, system) at prompt·S + system, or −1 when that system has no output. */
  readonly itemOf: Int32Array;
  /** System of each item. */
  readonly systemOf: Int32Array;
  /** Score of item i by evaluator type e at i·E + e (0–10). */
  readonly scores: Float32Array;
  /** Dimension d of item i at i·D + d (0–10), D = POOL_DIMENSIONS.length. */
  readonly dimensions: Float32Array;
  /** Ground-truth proxy of each item (0–10). */
  readonly truth: Float32Array;
  /** Cost of producing each item (ms). */
  readonly inferenceCostMs: Float32Array;
  /** Mean measured scoring cost per item of each evaluator type (ms). */
  readonly evaluatorCostMs: Float64Array;
  /** Where the pool came from (for reports). */
  readonly provenance: Readonly<Record<string, unknown>>;
}

/** Number of items. */
export function itemCount(pool: PoqPool): number {
  return pool.truth.length;
}

/** Checks a pool's shapes and values, reporting every problem. */
export function validatePool(pool: PoqPool): Verdict<PoqPool> {
  const problems: string[] = [];
  const n = pool.truth.length;
  const S = pool.systems.length;
  const E = pool.evaluators.length;
  if (S < 1) problems.push("a pool needs at least one inference node");
  if (E < 1) problems.push("a pool needs at least one evaluator type");
  if (pool.itemOf.length !== pool.prompts * S) problems.push("itemOf must have prompts x systems entries");
  if (pool.scores.length !== n * E) problems.push("scores must have items x evaluators entries");
  if (pool.dimensions.length !== n * POOL_DIMENSIONS.length)
    problems.push("dimensions must have items x 3 entries");
  if (pool.systemOf.length !== n || pool.inferenceCostMs.length !== n)
    problems.push("per-item arrays must have one entry per item");
  if (pool.evaluatorCostMs.length !== E)
    problems.push("evaluatorCostMs must have one entry per evaluator type");
  const inRange = (a: ArrayLike<number>) => {
    for (let i = 0; i < a.length; i++) if (!((a[i] as number) >= 0 && (a[i] as number) <= 10)) return false;
    return true;
  };
  if (!inRange(pool.scores) || !inRange(pool.truth) || !inRange(pool.dimensions))
    problems.push("scores, dimensions and truth must be in [0, 10]");
  for (const [name, costs] of [
    ["inference", pool.inferenceCostMs],
    ["evaluator", pool.evaluatorCostMs],
  ] as const) {
    for (let i = 0; i < costs.length; i++) {
      if (!(Number.isFinite(costs[i]) && (costs[i] as number) >= 0)) {
        problems.push(`${name} costs must be finite and non-negative (index ${i}: ${costs[i]})`);
        break;
      }
    }
  }
  return problems.length
    ? fail("PARAMS_INVALID", `invalid simulation pool: ${problems.join("; ")}`, { problems })
    : ok(pool);
}
