/**
 * Correlation of several evaluators' scores with several ground truths at three levels, with a
 * paired, seeded bootstrap: every evaluator and truth is measured on the same resamples, so an
 * evaluator's interval does not depend on which other evaluators ran, and differences between
 * evaluators are comparable. Levels: pooled (all items; resample items), summary (per prompt across
 * systems, averaged; resample prompts) and system (system means; resample prompts, recompute means).
 * Items an evaluator failed to score (NaN) are left out of its statistics.
 */
import { drawBootstrapWeights, type Estimate, quantileSorted } from "../../protocol/poq/metrics/bootstrap.ts";
import { kendallTauB, pearson, spearman } from "../../protocol/poq/metrics/correlation.ts";
import {
  type PairedSample,
  pairWeights,
  preparePairs,
  weightedKendall,
  weightedPearson,
  weightedSpearman,
} from "../../protocol/poq/metrics/weightedCorrelation.ts";
import type { Rng } from "../../protocol/rng/prng.ts";
import type { Level } from "./tasks.ts";

/** Correlations at one level. `n` counts items, prompts or systems. */
export interface LevelCorrelation {
  readonly n: number;
  readonly pearson: Estimate;
  readonly spearman: Estimate;
  readonly kendall: Estimate;
}

/** Inputs: one score vector per evaluator (NaN = failed), one vector per truth, and item prompts and systems. */
export interface LevelInputs {
  readonly scores: readonly Float64Array[];
  readonly truths: readonly Float64Array[];
  readonly groups: readonly string[];
  readonly systems: readonly string[];
}

/** Results indexed [evaluator][truth]. */
export type LevelResults = LevelCorrelation[][];

const COEFFICIENTS = { pearson, spearman, kendall: kendallTauB } as const;
type Coefficient = keyof typeof COEFFICIENTS;
const NAMES = Object.keys(COEFFICIENTS) as Coefficient[];

type Samples = Record<Coefficient, number[]>;
const emptySamples = (): Samples => ({ pearson: [], spearman: [], kendall: [] });

function estimate(value: number | null, boot: readonly number[], level: number): Estimate {
  if (value === null || boot.length === 0) return { value, low: null, high: null };
  const sorted = Float64Array.from(boot).sort();
  return {
    value,
    low: quantileSorted(sorted, (1 - level) / 2),
    high: quantileSorted(sorted, 1 - (1 - level) / 2),
  };
}

/** Point estimates on (x, y) with the bootstrap samples' intervals. */
function levelCorrelation(
  n: number,
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  boot: Samples,
  level: number,
): LevelCorrelation {
  return {
    n,
    pearson: estimate(pearson(x, y), boot.pearson, level),
    spearman: estimate(spearman(x, y), boot.spearman, level),
    kendall: estimate(kendallTauB(x, y), boot.kendall, level),
  };
}

function grid<T>(evaluators: number, truths: number, make: (e: number, t: number) => T): T[][] {
  return Array.from({ length: evaluators }, (_, e) => Array.from({ length: truths }, (_, t) => make(e, t)));
}

function pooled(inputs: LevelInputs, rng: Rng, resamples: number, level: number): LevelResults {
  const n = inputs.groups.length;
  // Items an evaluator failed on get their own pair index (the last), which statistics never read.
  const prepared = grid(inputs.scores.length, inputs.truths.length, (e, t) => {
    const scores = inputs.scores[e] as Float64Array;
    const keep: number[] = [];
    for (let i = 0; i < n; i++) if (!Number.isNaN(scores[i])) keep.push(i);
    const sample = preparePairs(
      keep.map((i) => scores[i]!),
      keep.map((i) => (inputs.truths[t] as Float64Array)[i]!),
    );
    const pairOf = new Uint32Array(n).fill(sample.x.length);
    keep.forEach((i, k) => {
      pairOf[i] = sample.pairOf[k]!;
    });
    const full: PairedSample = { ...sample, n, pairOf };
    return {
      sample: full,
      kept: keep.length,
      weights: new Uint32Array(sample.x.length + 1),
      tree: new Float64Array(sample.kb + 1),
    };
  });
  const samples = grid(inputs.scores.length, inputs.truths.length, emptySamples);
  const points = new Uint32Array(n);
  for (let b = 0; b < resamples; b++) {
    drawBootstrapWeights(rng, points);
    for (const [e, row] of prepared.entries()) {
      for (const [t, p] of row.entries()) {
        const w = pairWeights(p.sample, points, p.weights).subarray(0, p.sample.x.length);
        const s = (samples[e] as Samples[])[t] as Samples;
        const values = [
          weightedPearson(p.sample.x, p.sample.y, w),
          weightedSpearman(p.sample, w),
          weightedKendall(p.sample, w, p.tree),
        ];
        NAMES.forEach((name, k) => {
          const v = values[k];
          if (v !== null && v !== undefined) s[name].push(v);
        });
      }
    }
  }
  return grid(inputs.scores.length, inputs.truths.length, (e, t) => {
    const p = (prepared[e] as (typeof prepared)[number])[t] as (typeof prepared)[number][number];
    const scores = inputs.scores[e] as Float64Array;
    const truth = inputs.truths[t] as Float64Array;
    const keep = [...scores.keys()].filter((i) => !Number.isNaN(scores[i]));
    const x = keep.map((i) => scores[i]!);
    const y = keep.map((i) => truth[i]!);
    return levelCorrelation(p.kept, x, y, (samples[e] as Samples[])[t] as Samples, level);
  });
}

/** Valid item indices per prompt (first-seen order), for one evaluator. */
function byGroup(groups: readonly string[], scores: Float64Array): number[][] {
  const index = new Map<string, number[]>();
  groups.forEach((g, i) => {
    if (Number.isNaN(scores[i])) return;
    const list = index.get(g);
    if (list) list.push(i);
    else index.set(g, [i]);
  });
  return [...index.values()];
}

/** Prompt names in first-seen order. */
function groupNames(groups: readonly string[]): string[] {
  return [...new Set(groups)];
}

function summary(inputs: LevelInputs, rng: Rng, resamples: number, level: number): LevelResults {
  const names = groupNames(inputs.groups);
  const position = new Map(names.map((g, i) => [g, i]));
  // Per evaluator and truth: the coefficient of each prompt (null when undefined or < 2 outputs).
  const perGroup = grid(inputs.scores.length, inputs.truths.length, (e, t) => {
    const values: Record<Coefficient, (number | null)[]> = { pearson: [], spearman: [], kendall: [] };
    for (const name of NAMES) values[name] = new Array(names.length).fill(null);
    for (const members of byGroup(inputs.groups, inputs.scores[e] as Float64Array)) {
      if (members.length < 2) continue;
      const g = position.get(inputs.groups[members[0] as number] as string) as number;
      const x = members.map((i) => (inputs.scores[e] as Float64Array)[i]!);
      const y = members.map((i) => (inputs.truths[t] as Float64Array)[i]!);
      for (const name of NAMES) (values[name] as (number | null)[])[g] = COEFFICIENTS[name](x, y);
    }
    return values;
  });
  const samples = grid(inputs.scores.length, inputs.truths.length, emptySamples);
  const counts = new Uint32Array(names.length);
  for (let b = 0; b < resamples; b++) {
    drawBootstrapWeights(rng, counts);
    for (const [e, row] of perGroup.entries()) {
      for (const [t, values] of row.entries()) {
        for (const name of NAMES) {
          let sum = 0;
          let weight = 0;
          (values[name] as (number | null)[]).forEach((v, g) => {
            if (v !== null) {
              sum += counts[g]! * v;
              weight += counts[g]!;
            }
          });
          if (weight > 0) ((samples[e] as Samples[])[t] as Samples)[name].push(sum / weight);
        }
      }
    }
  }
  return grid(inputs.scores.length, inputs.truths.length, (e, t) => {
    const values = (perGroup[e] as (typeof perGroup)[number])[t] as Record<Coefficient, (number | null)[]>;
    const defined = values.pearson.filter((v) => v !== null).length;
    const mean = (name: Coefficient) => {
      const xs = values[name].filter((v): v is number => v !== null);
      return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    const s = (samples[e] as Samples[])[t] as Samples;
    return {
      n: defined,
      pearson: estimate(mean("pearson"), s.pearson, level),
      spearman: estimate(mean("spearman"), s.spearman, level),
      kendall: estimate(mean("kendall"), s.kendall, level),
    };
  });
}

function system(inputs: LevelInputs, rng: Rng, resamples: number, level: number): LevelResults {
  const names = groupNames(inputs.groups);
  const position = new Map(names.map((g, i) => [g, i]));
  const systemNames = [...new Set(inputs.systems)];
  const systemIndex = new Map(systemNames.map((s, i) => [s, i]));
  const itemGroup = Uint32Array.from(inputs.groups, (g) => position.get(g) as number);
  const itemSystem = Uint32Array.from(inputs.systems, (s) => systemIndex.get(s) as number);
  const k = systemNames.length;
  /** System means of every evaluator's scores and every truth, items weighted by their prompt's count. */
  const means = (groupWeight: (g: number) => number) => {
    const sums = grid(inputs.scores.length, inputs.truths.length + 1, () => new Float64Array(k));
    const count = Array.from({ length: inputs.scores.length }, () => new Float64Array(k));
    for (let i = 0; i < itemGroup.length; i++) {
      const w = groupWeight(itemGroup[i]!);
      if (w === 0) continue;
      const s = itemSystem[i]!;
      inputs.scores.forEach((scores, e) => {
        const v = scores[i]!;
        if (Number.isNaN(v)) return;
        const row = sums[e] as Float64Array[];
        row[0]![s]! += w * v;
        inputs.truths.forEach((truth, t) => {
          row[t + 1]![s]! += w * truth[i]!;
        });
        count[e]![s]! += w;
      });
    }
    return sums.map((row, e) => {
      const present = [...Array(k).keys()].filter((s) => count[e]![s]! > 0);
      return row.map((values) => present.map((s) => values[s]! / count[e]![s]!));
    });
  };
  const full = means(() => 1);
  const samples = grid(inputs.scores.length, inputs.truths.length, emptySamples);
  const counts = new Uint32Array(names.length);
  for (let b = 0; b < resamples; b++) {
    drawBootstrapWeights(rng, counts);
    const m = means((g) => counts[g]!);
    m.forEach((row, e) => {
      const x = row[0] as number[];
      for (let t = 0; t < inputs.truths.length; t++) {
        for (const name of NAMES) {
          const v = COEFFICIENTS[name](x, row[t + 1] as number[]);
          if (v !== null) ((samples[e] as Samples[])[t] as Samples)[name].push(v);
        }
      }
    });
  }
  return grid(inputs.scores.length, inputs.truths.length, (e, t) => {
    const row = full[e] as number[][];
    const x = row[0] as number[];
    const y = row[t + 1] as number[];
    return levelCorrelation(x.length, x, y, (samples[e] as Samples[])[t] as Samples, level);
  });
}

/** Correlations of every evaluator with every truth at one level. */
export function correlateAtLevel(
  level: Level,
  inputs: LevelInputs,
  rng: Rng,
  resamples: number,
  confidence: number,
): LevelResults {
  switch (level) {
    case "pooled":
      return pooled(inputs, rng, resamples, confidence);
    case "summary":
      return summary(inputs, rng, resamples, confidence);
    case "system":
      return system(inputs, rng, resamples, confidence);
  }
}
