import { fileURLToPath } from "node:url";
import { checked, VerinferError } from "../../errors.ts";
import { defaultThreads, runInWorkers } from "../../parallel/workerPool.ts";
import { AGGREGATORS, type AggregatorName } from "../../protocol/poq/consensus/aggregators.ts";
import { BEHAVIOURS, type BehaviourName } from "../../protocol/poq/consensus/behaviours.ts";
import { seedFrom } from "../../protocol/rng/deriveSeed.ts";
import { provenance, provenanceLine } from "../../report/provenance.ts";
import { escapeHtml, htmlPage, lineChart } from "../../report/svg.ts";
import { renderTable } from "../../report/table.ts";
import {
  DEFAULT_SWEEP_GRID,
  runSweepPoint,
  type SweepGrid,
  type SweepRow,
  sweepPoints,
  validateSweep,
} from "../../sim/sweep.ts";
import type { CommandSpec } from "../framework/command.ts";
import {
  POOL_OPTIONS,
  poolChoices,
  poolFromOptions,
  SIM_OPTIONS,
  simConfigFromOptions,
} from "./poolOptions.ts";
import { writeReport } from "./simulate.ts";

const SWEPT = new Set(["malicious-ratio", "k", "aggregator", "attack"]);
const BASE_OPTIONS = Object.fromEntries(Object.entries(SIM_OPTIONS).filter(([name]) => !SWEPT.has(name)));

function numbers(text: string, name: string): number[] {
  const values = text.split(",").map((s) => Number(s.trim()));
  if (values.some((v) => !Number.isFinite(v)) || values.length === 0) {
    throw new VerinferError(
      "CLI_USAGE",
      `--${name} must be a comma-separated list of numbers, got "${text}"`,
    );
  }
  return values;
}

function names<T extends string>(text: string, all: readonly T[], name: string): T[] {
  if (text === "all") return [...all];
  const values = text.split(",").map((s) => s.trim());
  const unknown = values.filter((v) => !(all as readonly string[]).includes(v));
  if (unknown.length)
    throw new VerinferError("CLI_USAGE", `unknown ${name} ${unknown.join(", ")}; known: ${all.join(", ")}`);
  return values as T[];
}

/** Mean of a metric over the replicates of one grid cell (null when no replicate has it). */
function replicateMean(
  rows: readonly SweepRow[],
  cell: { attack: string; aggregator: string; k: number; maliciousRatio: number },
  value: (r: SweepRow) => number | null,
): number | null {
  const values = rows
    .filter(
      (r) =>
        r.attack === cell.attack &&
        r.aggregator === cell.aggregator &&
        r.k === cell.k &&
        r.maliciousRatio === cell.maliciousRatio,
    )
    .map(value)
    .filter((v): v is number => v !== null);
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

/** The HTML report's charts per attack, each over the malicious ratio. */
const SWEEP_CHARTS: readonly {
  title: string;
  yLabel: string;
  yRange: [number, number];
  value: (r: SweepRow) => number | null;
}[] = [
  { title: "consensus Pearson vs truth", yLabel: "Pearson", yRange: [0, 1], value: (r) => r.pearson },
  { title: "consensus MAE", yLabel: "MAE", yRange: [0, 4], value: (r) => r.mae },
  {
    title: "reward inflation",
    yLabel: "α·(paid − true)/10",
    yRange: [-0.3, 0.3],
    value: (r) => r.rewardInflation,
  },
  {
    title: "malicious evaluator mean reward",
    yLabel: "reward",
    yRange: [0, 1],
    value: (r) => r.maliciousEvaluatorMean,
  },
];

/** Replicate means at one k, as series over the malicious ratio (one per aggregator). */
function seriesByAggregator(
  rows: readonly SweepRow[],
  grid: SweepGrid,
  attack: string,
  k: number,
  value: (r: SweepRow) => number | null,
) {
  return grid.aggregators.map((aggregator) => ({
    label: aggregator,
    points: grid.maliciousRatios.map(
      (maliciousRatio) =>
        [maliciousRatio, replicateMean(rows, { attack, aggregator, k, maliciousRatio }, value)] as const,
    ),
  }));
}

/** `verinfer poq sweep`: malicious ratio × k × aggregator × attack. */
export const sweepCommand: CommandSpec = {
  name: "sweep",
  summary: "sweep malicious ratio × evaluators per round × aggregator × attack, in parallel",
  description: [
    "Runs one PoQ simulation per grid point (default: ratio 0–0.5 × k ∈ {3,5,7,9,11} × 6 aggregators × 7 attacks =",
    "1,260 points × 5,000 rounds) on worker threads, and reports consensus Pearson and MAE against the ground-truth",
    "proxy, reward inflation, evaluator reward mean and variance, and inference reward stability. Points differ",
    "only in the aggregator share their random rounds, so aggregators are compared on identical data.",
  ].join("\n"),
  options: {
    ...POOL_OPTIONS,
    ...BASE_OPTIONS,
    ratios: {
      type: "string",
      value: "LIST",
      default: DEFAULT_SWEEP_GRID.maliciousRatios.join(","),
      description: "malicious ratios",
    },
    ks: {
      type: "string",
      value: "LIST",
      default: DEFAULT_SWEEP_GRID.ks.join(","),
      description: "evaluators per round",
    },
    aggregators: {
      type: "string",
      value: "LIST",
      default: "all",
      description: `aggregators (all = ${AGGREGATORS.join(", ")})`,
    },
    attacks: {
      type: "string",
      value: "LIST",
      default: DEFAULT_SWEEP_GRID.attacks.join(","),
      description: "attacks",
    },
    replicates: {
      type: "integer",
      value: "N",
      default: 1,
      min: 1,
      description: "independent seeds per point",
    },
    threads: {
      type: "integer",
      value: "N",
      min: 1,
      description: `worker threads (default: one per core, ${defaultThreads()} here)`,
    },
    html: { type: "string", value: "FILE", description: "also write an HTML report with plots" },
    out: { type: "string", value: "FILE", description: "also write the JSON report (every point)" },
  },
  examples: [
    "verinfer poq sweep --task qa --html reports/sweep-qa.html",
    "verinfer poq sweep --attacks boost,collude --ks 5 --aggregators median,trust,hardened-trust --json",
  ],
  async run(ctx) {
    const base = simConfigFromOptions(ctx);
    const grid: SweepGrid = {
      maliciousRatios: numbers(ctx.string("ratios") as string, "ratios"),
      ks: numbers(ctx.string("ks") as string, "ks"),
      aggregators: names<AggregatorName>(ctx.string("aggregators") as string, AGGREGATORS, "aggregator"),
      attacks: names<BehaviourName>(ctx.string("attacks") as string, BEHAVIOURS, "attack"),
      replicates: ctx.number("replicates") as number,
    };
    checked(validateSweep(grid, base, poolChoices(ctx).evaluators.length));
    const { pool } = await poolFromOptions(ctx);
    const seed = ctx.number("seed") as number;
    const points = sweepPoints(grid);
    const threads = ctx.number("threads") ?? defaultThreads();
    const bar = ctx.progress("sweep".padEnd(32), points.length);
    const start = performance.now();
    const rows: SweepRow[] =
      threads === 1
        ? points.map((p, i) => {
            bar.update(i + 1);
            return runSweepPoint(pool, base, p, seedFrom(seed));
          })
        : await runInWorkers<(typeof points)[number], SweepRow>({
            module: new URL("../../experiments/poq/sweepTask.ts", import.meta.url),
            workerData: { pool, base, seed: seedFrom(seed) },
            items: points,
            batchSize: 10,
            threads,
            onProgress: (done) => bar.update(done),
          });
    const seconds = (performance.now() - start) / 1000;
    bar.done();
    const totalRounds = points.length * base.rounds;
    const report = {
      kind: "verinfer.poq-sweep",
      task: pool.task,
      truth: pool.truthName,
      seed,
      base,
      grid,
      points: points.length,
      seconds,
      threads,
      roundsPerSecondPerCore: totalRounds / seconds / threads,
      rows,
      provenance: provenance(),
    };
    const kShown = grid.ks.includes(5) ? 5 : (grid.ks[0] as number);
    const html = ctx.string("html");
    if (html) {
      const sections = [
        `<h1>PoQ sweep — ${escapeHtml(pool.task)}</h1>`,
        `<p class="meta">${points.length} points × ${base.rounds} rounds in ${seconds.toFixed(1)} s on ${threads} threads · truth ${escapeHtml(pool.truthName)} · seed ${seed} · plots at k = ${kShown}<br>${escapeHtml(provenanceLine(report.provenance))}</p>`,
      ];
      for (const attack of grid.attacks) {
        sections.push(`<h2>${escapeHtml(attack)}</h2><div class="grid">`);
        for (const chart of SWEEP_CHARTS) {
          sections.push(
            lineChart({
              title: chart.title,
              xLabel: "malicious ratio",
              yLabel: chart.yLabel,
              yRange: chart.yRange,
              series: seriesByAggregator(rows, grid, attack, kShown, chart.value),
            }),
          );
        }
        sections.push("</div>");
      }
      writeReport(html, htmlPage(`verinfer PoQ sweep — ${pool.task}`, sections.join("\n")));
      ctx.info(`wrote ${html}`);
    }
    const out = ctx.string("out");
    if (out) writeReport(out, `${JSON.stringify(report, null, 2)}\n`);
    ctx.output(report, () => {
      const lines = [
        `PoQ sweep on ${pool.task}: ${points.length} points x ${base.rounds} rounds in ${seconds.toFixed(1)} s on ${threads} threads (${Math.round(report.roundsPerSecondPerCore).toLocaleString("en-US")} rounds/s per core); seed ${seed}`,
      ];
      for (const attack of grid.attacks) {
        const aggregators = grid.aggregators;
        lines.push(
          "",
          renderTable(
            ["aggregator", ...grid.maliciousRatios.map((r) => `r=${r}`)],
            aggregators.map((a) => [
              a,
              ...grid.maliciousRatios.map((maliciousRatio) => {
                const cell = { attack, aggregator: a, k: kShown, maliciousRatio };
                const pearson = replicateMean(rows, cell, (r) => r.pearson);
                const mae = replicateMean(rows, cell, (r) => r.mae);
                return mae === null ? "–" : `${pearson?.toFixed(3) ?? "n/a"} / ${mae.toFixed(2)}`;
              }),
            ]),
            {
              title: `${attack}: consensus Pearson / MAE vs ${pool.truthName} at k=${kShown}${grid.replicates > 1 ? ` (mean of ${grid.replicates} replicates)` : ""}`,
            },
          ),
        );
      }
      return lines.join("\n");
    });
    return 0;
  },
};

// The worker module path must exist next to this command (checked once at load).
void fileURLToPath(new URL("../../experiments/poq/sweepTask.ts", import.meta.url));
