import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { formatFixedPoint } from "../../protocol/poq/rewards.ts";
import { seedFrom } from "../../protocol/rng/deriveSeed.ts";
import { provenance, provenanceLine } from "../../report/provenance.ts";
import { barChart, escapeHtml, htmlPage } from "../../report/svg.ts";
import { renderTable } from "../../report/table.ts";
import { simulatePoq } from "../../sim/simulatePoq.ts";
import type { CommandSpec } from "../framework/command.ts";
import {
  assertSimConfig,
  POOL_OPTIONS,
  poolChoices,
  poolFromOptions,
  SIM_OPTIONS,
  simConfigFromOptions,
} from "./poolOptions.ts";

const INFERENCE_COLUMNS = [
  "inference node",
  "rounds",
  "mean reward",
  "sd",
  "consensus",
  "truth",
  "cost ms",
  "quality/s",
  "settled (sum)",
];

/** Writes a report file, creating its folder. */
export function writeReport(path: string, content: string): void {
  mkdirSync(dirname(resolve(path)), { recursive: true });
  writeFileSync(path, content);
}

/** `verinfer poq simulate`: Monte Carlo PoQ rounds with cost-aware rewards. */
export const simulateCommand: CommandSpec = {
  name: "simulate",
  summary:
    "Monte Carlo PoQ rounds on real logged outputs: consensus accuracy and cost-aware rewards per node",
  description: [
    "Each round draws a prompt and an inference node (a real system whose logged output is scored), samples k of the",
    "evaluator nodes (each runs a real evaluator; malicious ones apply --attack), aggregates their scores into a",
    "consensus, and pays R = α·quality − β·cost to the inference node and to every evaluator. Reports consensus",
    "Pearson/MAE against the ground-truth proxy, reward inflation, and rewards per node. The first run on a task",
    "scores every output with every evaluator (tens of seconds) and caches the pool.",
  ].join("\n"),
  options: {
    ...POOL_OPTIONS,
    ...SIM_OPTIONS,
    html: { type: "string", value: "FILE", description: "also write an HTML report" },
    out: { type: "string", value: "FILE", description: "also write the JSON report" },
  },
  examples: [
    "verinfer poq simulate --task qa",
    "verinfer poq simulate --task qa --malicious-ratio 0.3 --attack boost --aggregator trust --json",
    "verinfer poq simulate --task chat --beta 1 --html reports/chat-rewards.html",
  ],
  async run(ctx) {
    const config = simConfigFromOptions(ctx);
    assertSimConfig(config, poolChoices(ctx).evaluators.length);
    const { pool } = await poolFromOptions(ctx);
    const seed = ctx.number("seed") as number;
    const start = performance.now();
    const result = simulatePoq(pool, config, seedFrom(seed));
    const elapsedMs = performance.now() - start;
    const types = pool.evaluators.map((type) => {
      const nodes = result.evaluators.filter((e) => e.type === type);
      const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
      return {
        type,
        costMs: pool.evaluatorCostMs[pool.evaluators.indexOf(type)] as number,
        honestMeanReward: avg(nodes.filter((e) => !e.malicious).map((e) => e.meanReward)),
        maliciousMeanReward: avg(nodes.filter((e) => e.malicious).map((e) => e.meanReward)),
        meanFinalWeight: avg(nodes.map((e) => e.finalWeight)),
      };
    });
    const report = {
      kind: "verinfer.poq-simulate",
      task: pool.task,
      truth: pool.truthName,
      seed,
      config,
      systems: pool.systems,
      evaluatorTypes: pool.evaluators,
      elapsedMs,
      result,
      evaluatorTypeSummary: types,
      provenance: provenance(),
    };
    const inferenceRows = result.inference.map((s) => [
      s.name,
      s.rounds,
      s.meanReward,
      s.stdReward,
      s.meanConsensus,
      s.meanTruth,
      s.meanCostMs,
      s.meanCostMs > 0 ? s.meanConsensus / (s.meanCostMs / 1000) : null,
      result.settled
        ? formatFixedPoint(BigInt(result.settled.inference[s.name] ?? "0"), result.settled.decimals, 4)
        : "–",
    ]);
    const html = ctx.string("html");
    if (html) {
      writeReport(
        html,
        htmlPage(
          `verinfer PoQ simulation — ${pool.task}`,
          [
            `<h1>PoQ simulation — ${escapeHtml(pool.task)}</h1>`,
            `<p class="meta">${config.rounds} rounds · k=${config.k} of ${config.evaluatorNodes} evaluator nodes · aggregator ${config.aggregator} · attack ${config.attack} by ${config.maliciousRatio * 100}% · commit-reveal ${config.commitReveal ? "on" : "off"} · seed ${seed}<br>${escapeHtml(provenanceLine(report.provenance))}</p>`,
            `<p>Consensus vs ${escapeHtml(pool.truthName)}: Pearson ${result.consensus.pearson?.toFixed(3) ?? "n/a"}, MAE ${result.consensus.mae.toFixed(3)}; reward inflation ${result.rewardInflation.toFixed(4)}</p><div class="grid">`,
            barChart({
              title: "mean reward per inference node",
              min: -0.5,
              max: 1,
              bars: result.inference.map((s) => ({ label: s.name, value: s.meanReward })),
            }),
            barChart({
              title: "mean reward per evaluator type (honest nodes)",
              min: -0.5,
              max: 1,
              bars: types.map((t) => ({ label: t.type, value: t.honestMeanReward })),
            }),
            "</div>",
            `<pre>${escapeHtml(renderTable(INFERENCE_COLUMNS, inferenceRows))}</pre>`,
          ].join("\n"),
        ),
      );
      ctx.info(`wrote ${html}`);
    }
    const out = ctx.string("out");
    if (out) writeReport(out, `${JSON.stringify(report, null, 2)}\n`);
    ctx.output(report, () =>
      [
        `PoQ simulation on ${pool.task}: ${config.rounds} rounds in ${elapsedMs.toFixed(0)} ms; k=${config.k} of ${config.evaluatorNodes} evaluator nodes; aggregator ${config.aggregator}; attack ${config.attack} by ${config.maliciousRatio * 100}% of nodes; commit-reveal ${config.commitReveal ? "on" : "off"}; seed ${seed}`,
        `consensus vs ${pool.truthName}: Pearson ${result.consensus.pearson?.toFixed(4) ?? "n/a"}, MAE ${result.consensus.mae.toFixed(4)}; reward inflation ${result.rewardInflation.toFixed(4)}`,
        "",
        renderTable(INFERENCE_COLUMNS, inferenceRows, {
          title: `inference nodes (R = ${config.rewards.inference.alpha}·consensus/10 − ${config.rewards.inference.beta}·cost/max cost)`,
        }),
        "",
        renderTable(
          ["evaluator type", "cost ms", "honest reward", "malicious reward", "mean weight"],
          types.map((t) => [t.type, t.costMs, t.honestMeanReward, t.maliciousMeanReward, t.meanFinalWeight]),
          {
            title: `evaluator nodes (R = ${config.rewards.evaluator.alpha}·(1 − |s − c|/10) − ${config.rewards.evaluator.beta}·cost/max cost)`,
            digits: 4,
          },
        ),
      ].join("\n"),
    );
    return 0;
  },
};
