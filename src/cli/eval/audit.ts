import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { resolveDataDir } from "../../data/dataDir.ts";
import { PAPER_ANCHORS } from "../../evaluators/audit/anchors.ts";
import { buildEvaluatorContext } from "../../evaluators/audit/buildContext.ts";
import {
  type AuditReport,
  renderAuditHtml,
  renderAuditMarkdown,
  renderAuditText,
} from "../../evaluators/audit/report.ts";
import {
  auditScores,
  type ScoredEvaluator,
  scoreTask,
  truthSystemMeans,
} from "../../evaluators/audit/runAudit.ts";
import { type AuditTask, loadTaskOutputs, TASKS, type TaskName } from "../../evaluators/audit/tasks.ts";
import { createEvaluator, parseEvaluatorList } from "../../evaluators/registry.ts";
import { preset } from "../../protocol/params/params.ts";
import { deriveSeed } from "../../protocol/rng/deriveSeed.ts";
import { createRng } from "../../protocol/rng/prng.ts";
import { provenance } from "../../report/provenance.ts";
import type { CommandSpec } from "../framework/command.ts";
import { MODEL_BACKED_OPTIONS, modelBackedFactory } from "../modelBackedOptions.ts";
import { DATA_DIR_OPTION, SEED_OPTION } from "../sharedOptions.ts";

/** Keeps every output of a seeded sample of prompts, so summary and system levels stay meaningful. */
function samplePrompts(task: AuditTask, limit: number, seed: number): AuditTask {
  const groups = [...new Set(task.items.map((i) => i.group))];
  if (limit >= groups.length) return task;
  const rng = createRng(deriveSeed(seed, "audit", task.task, "prompt-sample"));
  const keep = new Set(rng.sampleIndices(groups.length, limit).map((i) => groups[i] as string));
  return { ...task, items: task.items.filter((i) => keep.has(i.group)) };
}

/** `verinfer eval audit`: how well does each evaluator track real quality? */
export const auditCommand: CommandSpec = {
  name: "audit",
  summary: "score real logged outputs with every evaluator and correlate with ground truth",
  description: [
    "Scores every logged output of a task with every evaluator and reports each evaluator's Pearson, Spearman and",
    "Kendall correlation (seeded bootstrap intervals) with the task's ground truth:",
    "  qa             SQuAD v1.1 dev, 5 leaderboard systems (52,850 outputs) vs official token F1",
    "  summarization  SummEval, 16 systems x 100 articles vs the 4 expert dimensions and token F1 (summary and system level)",
    "  sts            STS-B test vs gold similarity",
    "  chat           AlpacaEval, 3 models x 805 instructions vs GPT-4-turbo preference and token F1",
    "With --task summarization --judgments FILE it audits your own judged summaries (JSON Lines: id, system, summary,",
    "references, human dimensions on any scale; docs/evaluators.md) instead of SummEval.",
    "The sts evaluator is trained on STS-B train on first use (about 5 s) and cached.",
  ].join("\n"),
  options: {
    task: { type: "string", required: true, choices: TASKS, description: "which logged outputs to audit" },
    judgments: {
      type: "string",
      value: "FILE",
      description: "summarization: audit your own judged summaries (JSON Lines) instead of SummEval",
    },
    evaluators: {
      type: "string",
      value: "LIST",
      description:
        "comma-separated evaluator names (default: the task's set; see 'verinfer evaluators list')",
    },
    html: { type: "string", value: "FILE", description: "also write a standalone HTML report with plots" },
    out: { type: "string", value: "FILE", description: "also write the JSON report to a file" },
    markdown: { type: "string", value: "FILE", description: "also write the tables as Markdown" },
    bootstrap: {
      type: "integer",
      value: "N",
      min: 0,
      max: 100000,
      description: "bootstrap resamples (default: 1000, the params preset)",
    },
    confidence: {
      type: "number",
      value: "P",
      default: 0.95,
      min: 0.5,
      max: 0.999,
      description: "confidence level of intervals",
    },
    "limit-prompts": {
      type: "integer",
      value: "N",
      min: 2,
      description: "audit a seeded sample of N prompts (all systems' outputs for each)",
    },
    "sts-model": {
      type: "string",
      value: "FILE",
      description: "learned STS model file (default: train once and cache)",
    },
    "data-dir": DATA_DIR_OPTION,
    seed: SEED_OPTION,
    ...MODEL_BACKED_OPTIONS,
  },
  examples: [
    "verinfer eval audit --task qa",
    "verinfer eval audit --task summarization --html reports/summeval.html",
    "verinfer eval audit --task summarization --judgments my-judgments.jsonl --html reports/mine.html",
    "verinfer eval audit --task sts --evaluators sts,tfidf,token-f1 --json",
    "verinfer eval audit --task chat --evaluators llm-judge,sts --judge-url http://127.0.0.1:8080/v1 --judge-model m --limit-prompts 50",
  ],
  async run(ctx) {
    const params = preset("paper");
    const seed = ctx.number("seed") as number;
    const resamples = ctx.number("bootstrap") ?? params.poq.bootstrapResamples;
    const dataDir = resolveDataDir(ctx.string("data-dir"));
    const taskName = ctx.string("task") as TaskName;
    let task = loadTaskOutputs(taskName, ctx.string("judgments"), dataDir);
    const limit = ctx.number("limit-prompts");
    if (limit !== undefined) task = samplePrompts(task, limit, seed);
    const names = parseEvaluatorList(ctx.string("evaluators") ?? task.defaultEvaluators.join(","));
    let training: ReturnType<typeof ctx.progress> | null = null;
    const { context, stsInfo } = buildEvaluatorContext({
      params,
      corpusTexts: task.corpusTexts,
      lengthRange: task.lengthRange,
      dataDir: () => dataDir,
      stsModelPath: ctx.string("sts-model"),
      onStsTraining: (phase, done, total) => {
        if (phase === "trees") {
          training ??= ctx.progress("training sts model", total);
          training.update(done);
          if (done === total) training.done();
        }
      },
      modelBacked: modelBackedFactory(ctx, params),
    });
    const evaluators = [];
    for (const name of names) evaluators.push(await createEvaluator(name, context));
    const scored: ScoredEvaluator[] = [];
    try {
      for (const evaluator of evaluators) {
        const bar = ctx.progress(`scoring ${evaluator.info.name}`.padEnd(26), task.items.length);
        scored.push(await scoreTask(evaluator, task, { onProgress: (e) => bar.update(e.done) }));
        bar.done();
      }
    } finally {
      for (const e of evaluators) await e.close();
    }
    const stats = ctx.progress("statistics (all levels)".padEnd(26), task.levels.length);
    const results = auditScores(scored, task, {
      seed,
      resamples,
      confidence: ctx.number("confidence") as number,
      scatterPoints: 1500,
      onProgress: (e) => stats.update(e.done),
    });
    stats.done();
    const report: AuditReport = {
      kind: "verinfer.evaluator-audit",
      version: 1,
      task: task.task,
      description: task.description,
      items: task.items.length,
      prompts: new Set(task.items.map((i) => i.group)).size,
      systems: [...new Set(task.items.map((i) => i.system))],
      truths: task.truths,
      levels: task.levels,
      seed,
      bootstrapResamples: resamples,
      confidence: ctx.number("confidence") as number,
      evaluators: results,
      truthSystemMeans: truthSystemMeans(task),
      anchors: PAPER_ANCHORS[task.task],
      stsModel: stsInfo(),
      sources: task.sources,
      provenance: provenance(),
    };
    const html = ctx.string("html");
    if (html) {
      mkdirSync(dirname(resolve(html)), { recursive: true });
      writeFileSync(html, renderAuditHtml(report));
      ctx.info(`wrote ${html}`);
    }
    const markdown = ctx.string("markdown");
    if (markdown) {
      mkdirSync(dirname(resolve(markdown)), { recursive: true });
      writeFileSync(markdown, renderAuditMarkdown(report));
      ctx.info(`wrote ${markdown}`);
    }
    const out = ctx.string("out");
    if (out) {
      mkdirSync(dirname(resolve(out)), { recursive: true });
      writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
      ctx.info(`wrote ${out}`);
    }
    ctx.output(report, () => renderAuditText(report));
    // Say why an evaluator left outputs unscored, in the human output too; one that scored nothing
    // although it was asked for by name fails the command.
    const explicit = ctx.string("evaluators") !== undefined;
    let nothing = 0;
    for (const r of results) {
      if (r.failed === 0) continue;
      const first = r.failures[0];
      const why = first ? `; first failure: [${first.code}] ${first.message}` : "";
      const all = r.scored === 0;
      if (all && explicit) nothing++;
      ctx.info(
        `${all && explicit ? "error" : "warning"}: ${r.name} could not score ${r.failed} of ${r.failed + r.scored} outputs${all ? " (none scored: its correlations are n/a)" : "; they are excluded from its correlations"}${why}`,
      );
    }
    return nothing > 0 ? 1 : 0;
  },
};
