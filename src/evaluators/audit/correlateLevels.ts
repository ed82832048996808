/**
 * Correlation of evaluator scores with a ground truth at three levels, each with a seeded bootstrap
 * interval: pooled (all items; resample items), summary (per prompt across systems, averaged;
 * resample prompts), and system (system means; resample prompts and recompute the means).
 */

import { VerinferError } from "../../errors.ts";
import { correlate, type Estimate, quantileSorted } from "../../protocol/poq/metrics/bootstrap.ts";
import { kendallTauB, pearson, spearman } from "../../protocol/poq/metrics/correlation.ts";
import type { Rng } from "../../protocol/rng/prng.ts";
import type { Level } from "./tasks.ts";

/** Correlations at one level. `n` counts items, prompts or systems. */
export interface LevelCorrelation {
  readonly n: number;
  readonly pearson: Estimate;
  readonly spearman: Estimate;
  readonly kendall: Estimate;
}

/** Inputs: per item, its score (NaN when it failed), truth, prompt and system. */
export interface LevelInputs {
  readonly scores: Float64Array;
  readonly truth: Float64Array;
  readonly groups: readonly string[];
  readonly systems: readonly string[];
}

const COEFFICIENTS = { pearson, spearman, kendall: kendallTauB } as const;
type Coefficient = keyof typeof COEFFICIENTS;

function percentileInterval(values: number[], level: number): { low: number | null; high: number | null } {
  if (values.length === 0) return { low: null, high: null };
  const sorted = Float64Array.from(values).sort();
  return { low: quantileSorted(sorted, (1 - level) / 2), high: quantileSorted(sorted, 1 - (1 - level) / 2) };
}

function pooled(inputs: LevelInputs, rng: Rng, resamples: number, level: number): LevelCorrelation {
  const keep: number[] = [];
  for (let i = 0; i < inputs.scores.length; i++) if (!Number.isNaN(inputs.scores[i])) keep.push(i);
  const x = Float64Array.from(keep, (i) => inputs.scores[i] as number);
  const y = Float64Array.from(keep, (i) => inputs.truth[i] as number);
  const report = correlate(x, y, { rng, resamples, level });
  if (!report.ok) throw VerinferError.fromVerdict(report.error);
  return {
    n: keep.length,
    pearson: report.value.pearson,
    spearman: report.value.spearman,
    kendall: report.value.kendall,
  };
}

/** Indices of valid items per prompt, in first-seen order. */
function byGroup(inputs: LevelInputs): number[][] {
  const index = new Map<string, number[]>();
  inputs.groups.forEach((g, i) => {
    if (Number.isNaN(inputs.scores[i])) return;
    const list = index.get(g);
    if (list) list.push(i);
    else index.set(g, [i]);
  });
  return [...index.values()];
}

function summary(inputs: LevelInputs, rng: Rng, resamples: number, level: number): LevelCorrelation {
  const groups = byGroup(inputs).filter((g) => g.length >= 2);
  const perGroup = (name: Coefficient) =>
    groups.map((g) =>
      COEFFICIENTS[name](
        g.map((i) => inputs.scores[i] as number),
        g.map((i) => inputs.truth[i] as number),
      ),
    );
  const estimate = (name: Coefficient): Estimate => {
    const values = perGroup(name);
    const defined = values.filter((v): v is number => v !== null);
    if (defined.length === 0) return { value: null, low: null, high: null };
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const boot: number[] = [];
    for (let b = 0; b < resamples; b++) {
      const sample: number[] = [];
      for (let k = 0; k < values.length; k++) {
        const v = values[rng.int(values.length)];
        if (v !== null && v !== undefined) sample.push(v);
      }
      if (sample.length > 0) boot.push(mean(sample));
    }
    return { value: mean(defined), ...percentileInterval(boot, level) };
  };
  return {
    n: groups.length,
    pearson: estimate("pearson"),
    spearman: estimate("spearman"),
    kendall: estimate("kendall"),
  };
}

function system(inputs: LevelInputs, rng: Rng, resamples: number, level: number): LevelCorrelation {
  const systemNames = [...new Set(inputs.systems)];
  const systemIndex = new Map(systemNames.map((s, i) => [s, i]));
  const groups = byGroup(inputs);
  const means = (chosen: readonly number[][]) => {
    const sumScore = new Float64Array(systemNames.length);
    const sumTruth = new Float64Array(systemNames.length);
    const count = new Float64Array(systemNames.length);
    for (const g of chosen) {
      for (const i of g) {
        const s = systemIndex.get(inputs.systems[i] as string) as number;
        sumScore[s] = (sumScore[s] as number) + (inputs.scores[i] as number);
        sumTruth[s] = (sumTruth[s] as number) + (inputs.truth[i] as number);
        count[s] = (count[s] as number) + 1;
      }
    }
    const present = systemNames.map((_, s) => s).filter((s) => (count[s] as number) > 0);
    return {
      x: present.map((s) => (sumScore[s] as number) / (count[s] as number)),
      y: present.map((s) => (sumTruth[s] as number) / (count[s] as number)),
    };
  };
  const full = means(groups);
  const boot: Record<Coefficient, number[]> = { pearson: [], spearman: [], kendall: [] };
  for (let b = 0; b < resamples; b++) {
    const chosen: number[][] = [];
    for (let k = 0; k < groups.length; k++) chosen.push(groups[rng.int(groups.length)] as number[]);
    const m = means(chosen);
    for (const name of Object.keys(COEFFICIENTS) as Coefficient[]) {
      const v = COEFFICIENTS[name](m.x, m.y);
      if (v !== null) boot[name].push(v);
    }
  }
  const estimate = (name: Coefficient): Estimate => {
    const value = COEFFICIENTS[name](full.x, full.y);
    return value === null
      ? { value, low: null, high: null }
      : { value, ...percentileInterval(boot[name], level) };
  };
  return {
    n: full.x.length,
    pearson: estimate("pearson"),
    spearman: estimate("spearman"),
    kendall: estimate("kendall"),
  };
}

/** Correlations at one level. */
export function correlateAtLevel(
  level: Level,
  inputs: LevelInputs,
  rng: Rng,
  resamples: number,
  confidence: number,
): LevelCorrelation {
  switch (level) {
    case "pooled":
      return pooled(inputs, rng, resamples, confidence);
    case "summary":
      return summary(inputs, rng, resamples, confidence);
    case "system":
      return system(inputs, rng, resamples, confidence);
  }
}
