import { VerinferError } from "../../errors.ts";
import { DEFAULT_DIMENSION_WEIGHTS, DIMENSIONS, formatWeights } from "../../protocol/poq/composite.ts";
import { seedFrom } from "../../protocol/rng/deriveSeed.ts";
import { provenance, provenanceLine } from "../../report/provenance.ts";
import { barChart, escapeHtml, htmlPage } from "../../report/svg.ts";
import { renderTable } from "../../report/table.ts";
import { calibrateComposite } from "../../sim/calibrateComposite.ts";
import type { CommandSpec } from "../framework/command.ts";
import { POOL_OPTIONS, poolChoices, poolFromOptions } from "./poolOptions.ts";
import { writeReport } from "./simulate.ts";

/** `verinfer poq calibrate`: audit and calibrate the multi-dimensional composite, evaluated on held-out prompts. */
export const calibrateCommand: CommandSpec = {
  name: "calibrate",
  summary: "audit the quality dimensions, calibrate the composite, compare it on held-out prompts",
  description: [
    "Splits the task's prompts into a calibration half and a held-out half (seeded). On the calibration half it",
    "audits each dimension (prior, structure, semantic, alignment, agreement) against the ground-truth proxy and",
    "drops weak or negatively correlated ones; on the held-out half it compares the default composite, the",
    "calibrated composite, the best single evaluator and the median consensus of all evaluators.",
  ].join("\n"),
  options: {
    ...POOL_OPTIONS,
    semantic: {
      type: "string",
      value: "NAME",
      default: "sts",
      description: "evaluator used as the semantic dimension",
    },
    "min-correlation": {
      type: "number",
      value: "R",
      default: 0.1,
      description: "dimensions below this calibration-split Pearson are dropped",
    },
    html: { type: "string", value: "FILE", description: "also write an HTML report" },
    out: { type: "string", value: "FILE", description: "also write the JSON report" },
  },
  examples: [
    "verinfer poq calibrate --task summarization --truth relevance",
    "verinfer poq calibrate --task chat --json",
  ],
  async run(ctx) {
    const semantic = ctx.string("semantic") as string;
    if (!poolChoices(ctx).evaluators.includes(semantic)) {
      throw new VerinferError("CLI_USAGE", `--semantic ${semantic} must be one of the pool's --evaluators`);
    }
    const { pool } = await poolFromOptions(ctx);
    const seed = ctx.number("seed") as number;
    const result = calibrateComposite(pool, {
      semantic,
      weights: DEFAULT_DIMENSION_WEIGHTS,
      minCorrelation: ctx.number("min-correlation") as number,
      seed: seedFrom(seed),
    });
    const report = {
      kind: "verinfer.poq-calibrate",
      task: pool.task,
      truth: pool.truthName,
      seed,
      semantic,
      defaultWeights: DEFAULT_DIMENSION_WEIGHTS,
      ...result,
      provenance: provenance(),
    };
    const comparison = [
      ["default composite", result.heldOut.defaultComposite],
      ["calibrated composite", result.heldOut.calibratedComposite],
      [
        `best single evaluator (${result.heldOut.bestSingle.evaluator}, chosen on the calibration half)`,
        result.heldOut.bestSingle.pearson,
      ],
      ["median consensus (all evaluators)", result.heldOut.medianConsensus],
    ] as const;
    const html = ctx.string("html");
    if (html) {
      writeReport(
        html,
        htmlPage(
          `verinfer composite calibration — ${pool.task}`,
          [
            `<h1>Composite calibration — ${escapeHtml(pool.task)} vs ${escapeHtml(pool.truthName)}</h1><p class="meta">seed ${seed} · semantic ${escapeHtml(semantic)}<br>${escapeHtml(provenanceLine(report.provenance))}</p><div class="grid">`,
            barChart({
              title: "dimension Pearson (calibration half)",
              min: -0.4,
              max: 1,
              bars: DIMENSIONS.map((d) => ({ label: d, value: result.dimensionCorrelations[d] })),
            }),
            barChart({
              title: "held-out Pearson",
              min: -0.4,
              max: 1,
              bars: comparison.map(([label, value]) => ({ label: label.split(" (")[0] as string, value })),
            }),
            "</div>",
          ].join("\n"),
        ),
      );
      ctx.info(`wrote ${html}`);
    }
    const out = ctx.string("out");
    if (out) writeReport(out, `${JSON.stringify(report, null, 2)}\n`);
    ctx.output(report, () =>
      [
        `Composite calibration on ${pool.task} vs ${pool.truthName}: ${result.calibrationItems} calibration outputs, ${result.heldOutItems} held-out; seed ${seed}`,
        "",
        renderTable(
          ["dimension", "Pearson (calibration)", "default weight", "calibrated weight"],
          DIMENSIONS.map((d) => [
            d,
            result.dimensionCorrelations[d],
            DEFAULT_DIMENSION_WEIGHTS[d],
            result.calibration.weights[d],
          ]),
        ),
        "",
        renderTable(
          ["quality signal", "Pearson (held-out)"],
          comparison.map(([l, v]) => [l, v]),
        ),
        "",
        `As the quality signal of simulate/sweep: --quality composite --composite-weights ${formatWeights(result.calibration.weights)}`,
      ].join("\n"),
    );
    return 0;
  },
};
