/** Wall time of the full QA evaluator audit (52,850 outputs, default evaluators, 1000 bootstrap resamples), by phase. */
import { performance } from "node:perf_hooks";
import { buildEvaluatorContext } from "../src/evaluators/audit/buildContext.ts";
import { auditScores, type ScoredEvaluator, scoreTask } from "../src/evaluators/audit/runAudit.ts";
import { loadAuditTask } from "../src/evaluators/audit/tasks.ts";
import { createEvaluator } from "../src/evaluators/registry.ts";
import { preset } from "../src/protocol/params/params.ts";

/** Phase timings in seconds. */
export interface AuditTiming {
  readonly outputs: number;
  readonly evaluators: number;
  readonly resamples: number;
  readonly loadSeconds: number;
  readonly scoringSeconds: number;
  readonly statisticsSeconds: number;
  readonly totalSeconds: number;
}

/** Runs the full QA audit in process and times it. */
export async function benchQaAudit(dataDir: string): Promise<AuditTiming> {
  const params = preset("paper");
  const t0 = performance.now();
  const task = loadAuditTask("qa", dataDir);
  const { context } = buildEvaluatorContext({
    params,
    corpusTexts: task.corpusTexts,
    lengthRange: task.lengthRange,
    dataDir: () => dataDir,
  });
  const evaluators = await Promise.all(task.defaultEvaluators.map((n) => createEvaluator(n, context)));
  context.stsModel?.();
  const t1 = performance.now();
  const scored: ScoredEvaluator[] = [];
  for (const e of evaluators) scored.push(await scoreTask(e, task, {}));
  const t2 = performance.now();
  auditScores(scored, task, {
    seed: 1,
    resamples: params.poq.bootstrapResamples,
    confidence: 0.95,
    scatterPoints: 1500,
  });
  const t3 = performance.now();
  return {
    outputs: task.items.length,
    evaluators: evaluators.length,
    resamples: params.poq.bootstrapResamples,
    loadSeconds: (t1 - t0) / 1000,
    scoringSeconds: (t2 - t1) / 1000,
    statisticsSeconds: (t3 - t2) / 1000,
    totalSeconds: (t3 - t0) / 1000,
  };
}
