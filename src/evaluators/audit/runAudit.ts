/**
 * Runs the evaluator audit: every evaluator scores every item of a task, then all scores are
 * correlated with each ground truth at each level of the task on shared bootstrap resamples. Failed items are counted and left
 * out of the correlations (never silently scored); everything random derives from the master seed.
 */
import { performance } from "node:perf_hooks";
import { isVerinferError } from "../../errors.ts";
import type { Evaluator } from "../../protocol/poq/evaluator.ts";
import { deriveSeed } from "../../protocol/rng/deriveSeed.ts";
import { createRng } from "../../protocol/rng/prng.ts";
import { correlateAtLevel, type LevelCorrelation, type LevelResults } from "./correlateLevels.ts";
import type { AuditTask, Level } from "./tasks.ts";

/** Options of a run. */
export interface AuditOptions {
  readonly seed: number;
  readonly resamples: number;
  readonly confidence: number;
  /** Score points kept per evaluator for scatter plots. */
  readonly scatterPoints: number;
  /** Called as items are scored and as each level's statistics start. */
  readonly onProgress?: (event: {
    evaluator: string;
    phase: "scoring" | "statistics";
    done: number;
    total: number;
  }) => void;
}

/** Per-evaluator outcome. */
export interface EvaluatorAudit {
  readonly name: string;
  readonly kind: string;
  readonly description: string;
  readonly scored: number;
  readonly failed: number;
  readonly failures: readonly { readonly item: number; readonly code: string; readonly message: string }[];
  readonly meanScore: number | null;
  readonly meanCostMs: number | null;
  readonly scoresPerSecond: number | null;
  readonly systemMeans: Readonly<Record<string, number>>;
  readonly correlations: Readonly<Record<string, Partial<Record<Level, LevelCorrelation>>>>;
  /** A seeded sample of (score, primary truth) pairs for plots. */
  readonly scatter: readonly (readonly [number, number])[];
}

/** Scores all items with one evaluator, batch by batch; a failing batch is retried item by item. */
async function scoreAll(
  evaluator: Evaluator,
  task: AuditTask,
  onProgress: AuditOptions["onProgress"],
): Promise<{
  scores: Float64Array;
  costMs: number;
  elapsedMs: number;
  failures: EvaluatorAudit["failures"];
  failed: number;
}> {
  const n = task.items.length;
  const scores = new Float64Array(n).fill(Number.NaN);
  const failures: { item: number; code: string; message: string }[] = [];
  let failed = 0;
  let costMs = 0;
  const batch = 500;
  const start = performance.now();
  for (let lo = 0; lo < n; lo += batch) {
    const chunk = task.items.slice(lo, lo + batch);
    try {
      const results = await evaluator.scoreBatch(chunk.map((i) => i.input));
      results.forEach((r, k) => {
        scores[lo + k] = r.score;
        costMs += r.costMs;
      });
    } catch {
      for (let k = 0; k < chunk.length; k++) {
        try {
          const r = await evaluator.score((chunk[k] as (typeof chunk)[number]).input);
          scores[lo + k] = r.score;
          costMs += r.costMs;
        } catch (error) {
          failed++;
          if (failures.length < 5) {
            failures.push({
              item: lo + k,
              code: isVerinferError(error) ? error.code : "EVALUATOR_BACKEND_FAILED",
              message: error instanceof Error ? error.message : String(error),
            });
          }
        }
      }
    }
    onProgress?.({
      evaluator: evaluator.info.name,
      phase: "scoring",
      done: Math.min(n, lo + batch),
      total: n,
    });
  }
  return { scores, costMs, elapsedMs: performance.now() - start, failures, failed };
}

/** Scores of one evaluator on every item of a task (NaN where it failed). */
export interface ScoredEvaluator {
  readonly evaluator: Evaluator;
  readonly scores: Float64Array;
  readonly costMs: number;
  readonly elapsedMs: number;
  readonly failed: number;
  readonly failures: EvaluatorAudit["failures"];
}

/** Scores every item with one evaluator. */
export async function scoreTask(
  evaluator: Evaluator,
  task: AuditTask,
  options: Pick<AuditOptions, "onProgress">,
): Promise<ScoredEvaluator> {
  return { evaluator, ...(await scoreAll(evaluator, task, options.onProgress)) };
}

/** Correlates every scored evaluator with every truth at every level of the task (paired bootstrap). */
export function auditScores(
  scored: readonly ScoredEvaluator[],
  task: AuditTask,
  options: AuditOptions,
): EvaluatorAudit[] {
  const groups = task.items.map((i) => i.group);
  const systems = task.items.map((i) => i.system);
  const truths = task.truths.map((truth) =>
    Float64Array.from(task.items, (i) => i.truth[truth.name] as number),
  );
  const byLevel = new Map<Level, LevelResults>();
  task.levels.forEach((level, k) => {
    options.onProgress?.({ evaluator: "all", phase: "statistics", done: k, total: task.levels.length });
    const rng = createRng(deriveSeed(options.seed, "audit", task.task, level));
    byLevel.set(
      level,
      correlateAtLevel(
        level,
        { scores: scored.map((s) => s.scores), truths, groups, systems },
        rng,
        options.resamples,
        options.confidence,
      ),
    );
  });
  options.onProgress?.({
    evaluator: "all",
    phase: "statistics",
    done: task.levels.length,
    total: task.levels.length,
  });
  const primary = task.truths[0]?.name as string;
  const pick = createRng(deriveSeed(options.seed, "audit", task.task, "scatter")).sampleIndices(
    task.items.length,
    Math.min(options.scatterPoints, task.items.length),
  );
  return scored.map((s, e) => {
    const correlations: Record<string, Partial<Record<Level, LevelCorrelation>>> = {};
    task.truths.forEach((truth, t) => {
      correlations[truth.name] = Object.fromEntries(
        task.levels.map((level) => [level, byLevel.get(level)?.[e]?.[t]]),
      );
    });
    const totals = new Map<string, { sum: number; n: number }>();
    let sum = 0;
    s.scores.forEach((v, i) => {
      if (Number.isNaN(v)) return;
      sum += v;
      const t = totals.get(systems[i] as string) ?? { sum: 0, n: 0 };
      t.sum += v;
      t.n++;
      totals.set(systems[i] as string, t);
    });
    const count = task.items.length - s.failed;
    return {
      name: s.evaluator.info.name,
      kind: s.evaluator.info.kind,
      description: s.evaluator.info.description,
      scored: count,
      failed: s.failed,
      failures: s.failures,
      meanScore: count > 0 ? sum / count : null,
      meanCostMs: count > 0 ? s.costMs / count : null,
      scoresPerSecond: count > 0 && s.elapsedMs > 0 ? (1000 * count) / s.elapsedMs : null,
      systemMeans: Object.fromEntries([...totals].map(([name, t]) => [name, t.sum / t.n])),
      correlations,
      scatter: pick
        .filter((i) => !Number.isNaN(s.scores[i]))
        .map(
          (i) =>
            [
              s.scores[i] as number,
              (task.items[i] as (typeof task.items)[number]).truth[primary] as number,
            ] as const,
        ),
    };
  });
}

/** Mean of each truth per system (the ground-truth ranking the evaluators are compared with). */
export function truthSystemMeans(task: AuditTask): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const truth of task.truths) {
    const totals = new Map<string, { sum: number; n: number }>();
    for (const item of task.items) {
      const t = totals.get(item.system) ?? { sum: 0, n: 0 };
      t.sum += item.truth[truth.name] as number;
      t.n++;
      totals.set(item.system, t);
    }
    out[truth.name] = Object.fromEntries([...totals].map(([s, t]) => [s, t.sum / t.n]));
  }
  return out;
}
