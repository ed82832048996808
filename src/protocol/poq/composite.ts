/**
 * The multi-dimensional quality composite (multi-dimensional PoQ paper, PAPERS.md §4):
 *
 *   Q = Σ_d w_d · q_d,  Σ_d w_d = 1,  each q_d on 0–10,
 *
 * over the dimensions of the scoring layer (structure, semantic, alignment, agreement) and the node's
 * priors (quality and cheapness from its history). Calibration audits each dimension's correlation
 * with reference quality on a calibration split and drops dimensions that are weak or negatively
 * correlated, renormalizing the rest: w'_d = w_d / Σ_kept w_k. Default weights are ours (the paper's
 * are unknown).
 */
import { fail, ok, type Verdict } from "../errors.ts";

/** The composite's dimensions. */
export const DIMENSIONS = ["prior", "structure", "semantic", "alignment", "agreement"] as const;
/** A dimension. */
export type Dimension = (typeof DIMENSIONS)[number];
/** Weights per dimension. */
export type DimensionWeights = Readonly<Record<Dimension, number>>;

/** Our default weights: the reference-based semantic dimension dominates, the rest share the remainder. */
export const DEFAULT_DIMENSION_WEIGHTS: DimensionWeights = {
  prior: 0.15,
  structure: 0.15,
  semantic: 0.4,
  alignment: 0.15,
  agreement: 0.15,
};

/**
 * Composite of one output's dimension scores (indexed like DIMENSIONS): Σ w_d q_d, summed in
 * DIMENSIONS order, with weights that sum to 1 (`validateWeights`).
 */
export function compositeScore(scores: ArrayLike<number>, weights: DimensionWeights): number {
  return (
    weights.prior * (scores[0] as number) +
    weights.structure * (scores[1] as number) +
    weights.semantic * (scores[2] as number) +
    weights.alignment * (scores[3] as number) +
    weights.agreement * (scores[4] as number)
  );
}

/** A node's quality prior after a round: an exponential average of its consensus scores. */
export function smoothPrior(prior: number, consensus: number, smoothing: number): number {
  return (1 - smoothing) * prior + smoothing * consensus;
}

/** Outcome of calibration. */
export interface Calibration {
  /** Null when no dimension passes: then there is no calibrated composite, and `reason` says why. */
  readonly weights: DimensionWeights | null;
  readonly dropped: readonly { readonly dimension: Dimension; readonly correlation: number | null }[];
  readonly reason: string | null;
}

/**
 * The paper's rule: drops dimensions whose correlation with reference quality is below
 * `minCorrelation` (or undefined) and renormalizes the others. When none passes, there is no
 * calibrated composite (weights null) — keeping the "least bad" dimension would pass off a
 * signal the audit rejected as calibrated.
 */
export function calibrateWeights(
  correlations: Readonly<Record<Dimension, number | null>>,
  weights: DimensionWeights,
  minCorrelation: number,
): Calibration {
  const keep = DIMENSIONS.filter(
    (d) => weights[d] > 0 && (correlations[d] ?? Number.NEGATIVE_INFINITY) >= minCorrelation,
  );
  const dropped = DIMENSIONS.filter((d) => !keep.includes(d)).map((d) => ({
    dimension: d,
    correlation: correlations[d],
  }));
  if (keep.length === 0)
    return {
      weights: null,
      dropped,
      reason: `no dimension reaches Pearson ${minCorrelation} on the calibration half`,
    };
  return { weights: renormalizeWeights(weights, keep), dropped, reason: null };
}

/**
 * `weights` over the dimensions in `keep` only, renormalized: w'_d = w_d / Σ_kept w_k, 0 elsewhere.
 * Null when the kept dimensions weigh nothing.
 */
export function renormalizeWeights(
  weights: DimensionWeights,
  keep: readonly Dimension[],
): DimensionWeights | null {
  const total = keep.reduce((s, d) => s + weights[d], 0);
  if (!(total > 0)) return null;
  return Object.fromEntries(DIMENSIONS.map((d) => [d, keep.includes(d) ? weights[d] / total : 0])) as Record<
    Dimension,
    number
  >;
}

/**
 * Weights fitted to reference quality: non-negative least squares of the centered truth on the centered
 * dimensions (all on 0–10, so the coefficients compare), normalized to sum 1 — the composite is then
 * an affine map of the best non-negative linear predictor, with its Pearson. Takes the dimensions'
 * Gram matrix `gram[j][k] = Σ (x_j − x̄_j)(x_k − x̄_k)` and `cross[j] = Σ (x_j − x̄_j)(y − ȳ)`;
 * solved by cyclic coordinate descent (exact for this convex problem of five variables). Null when no
 * dimension has a positive partial association with the truth.
 */
export function fitWeights(
  gram: readonly (readonly number[])[],
  cross: readonly number[],
  sweeps = 500,
): DimensionWeights | null {
  const n = DIMENSIONS.length;
  const w = new Array<number>(n).fill(0);
  for (let sweep = 0; sweep < sweeps; sweep++) {
    let change = 0;
    for (let j = 0; j < n; j++) {
      const g = (gram[j] as readonly number[])[j] as number;
      if (!(g > 0)) continue; // a constant dimension cannot predict anything
      let r = cross[j] as number;
      for (let k = 0; k < n; k++)
        if (k !== j) r -= ((gram[j] as readonly number[])[k] as number) * (w[k] as number);
      const next = Math.max(0, r / g);
      change = Math.max(change, Math.abs(next - (w[j] as number)));
      w[j] = next;
    }
    if (change < 1e-12) break;
  }
  const total = w.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return null;
  return Object.fromEntries(DIMENSIONS.map((d, j) => [d, (w[j] as number) / total])) as DimensionWeights;
}

/** Checks composite weights: non-negative, finite, summing to 1 (±1e-9). */
export function validateWeights(weights: DimensionWeights): Verdict<DimensionWeights> {
  const values = DIMENSIONS.map((d) => weights[d]);
  if (values.some((w) => !(Number.isFinite(w) && w >= 0))) {
    return fail("PARAMS_INVALID", "composite weights must be finite and non-negative", { weights });
  }
  const sum = values.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-9)
    return fail("PARAMS_INVALID", `composite weights must sum to 1, got ${sum}`, { weights });
  return ok(weights);
}

/** Writes weights as `name=value,...` (non-zero ones only), the form `parseWeights` reads. */
export function formatWeights(weights: DimensionWeights): string {
  return DIMENSIONS.filter((d) => weights[d] > 0)
    .map((d) => `${d}=${Number(weights[d].toFixed(6))}`)
    .join(",");
}

/**
 * Parses `prior=0.2,semantic=0.8`: dimensions not named weigh 0; the values are renormalized to sum to 1
 * (so calibrated weights can be pasted rounded). Unknown names, bad numbers and an all-zero list fail.
 */
export function parseWeights(text: string): Verdict<DimensionWeights> {
  const weights: Record<Dimension, number> = {
    prior: 0,
    structure: 0,
    semantic: 0,
    alignment: 0,
    agreement: 0,
  };
  for (const part of text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name, value, ...rest] = part.split("=").map((s) => s.trim());
    if (!(DIMENSIONS as readonly string[]).includes(name ?? "") || rest.length > 0) {
      return fail(
        "PARAMS_INVALID",
        `unknown composite weight "${part}"; write dimension=value with dimension one of ${DIMENSIONS.join(", ")}`,
      );
    }
    const w = Number(value);
    if (value === undefined || value === "" || !(Number.isFinite(w) && w >= 0)) {
      return fail(
        "PARAMS_INVALID",
        `composite weight of ${name} must be a non-negative number, got "${value ?? ""}"`,
      );
    }
    weights[name as Dimension] = w;
  }
  const sum = DIMENSIONS.reduce((a, d) => a + weights[d], 0);
  if (!(sum > 0))
    return fail("PARAMS_INVALID", "composite weights must include at least one positive weight");
  for (const d of DIMENSIONS) weights[d] /= sum;
  return ok(weights);
}
