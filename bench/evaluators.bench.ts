/**
 * Evaluator throughput: scores per second of every evaluator on three real input sets (SQuAD
 * answers, STS-B sentence pairs, SummEval summaries with 11 references), through the public
 * Evaluator API (validation and timing included), after one warm-up pass.
 */
import { performance } from "node:perf_hooks";
import { buildEvaluatorContext } from "../src/evaluators/audit/buildContext.ts";
import { type AuditTask, loadAuditTask } from "../src/evaluators/audit/tasks.ts";
import { createEvaluator } from "../src/evaluators/registry.ts";
import { preset } from "../src/protocol/params/params.ts";
import type { Evaluator } from "../src/protocol/poq/evaluator.ts";

/** One measurement. */
export interface ThroughputRow {
  readonly evaluator: string;
  readonly kind: string;
  readonly inputs: string;
  readonly items: number;
  readonly scoresPerSecond: number;
}

async function measure(evaluator: Evaluator, task: AuditTask, limit: number): Promise<number> {
  const inputs = task.items.slice(0, limit).map((i) => i.input);
  await evaluator.scoreBatch(inputs.slice(0, Math.min(2000, inputs.length)));
  const start = performance.now();
  for (let lo = 0; lo < inputs.length; lo += 1000) await evaluator.scoreBatch(inputs.slice(lo, lo + 1000));
  return (1000 * inputs.length) / (performance.now() - start);
}

/** Runs the suite. */
export async function benchEvaluators(
  dataDir: string,
  log: (line: string) => void,
): Promise<ThroughputRow[]> {
  const params = preset("paper");
  const rows: ThroughputRow[] = [];
  const sets: [string, AuditTask, number][] = [
    ["SQuAD answers", loadAuditTask("qa", dataDir), 52_850],
    ["STS-B pairs", loadAuditTask("sts", dataDir), 1_379],
    ["SummEval summaries (11 refs)", loadAuditTask("summarization", dataDir), 1_600],
  ];
  // The QA audit's default evaluators, measured on every input set.
  const names = (sets[0] as (typeof sets)[number])[1].defaultEvaluators;
  for (const [label, task, limit] of sets) {
    const { context } = buildEvaluatorContext({
      params,
      corpusTexts: task.corpusTexts,
      lengthRange: task.lengthRange,
      dataDir: () => dataDir,
    });
    for (const name of names) {
      const evaluator = await createEvaluator(name, context);
      const rate = await measure(evaluator, task, limit);
      rows.push({
        evaluator: name,
        kind: evaluator.info.kind,
        inputs: label,
        items: Math.min(limit, task.items.length),
        scoresPerSecond: rate,
      });
      log(
        `  ${label.padEnd(30)} ${name.padEnd(20)} ${Math.round(rate).toLocaleString("en-US").padStart(10)} scores/s`,
      );
    }
  }
  return rows;
}
