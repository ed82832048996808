import { VerinferError } from "../../errors.ts";
import { preset } from "../../protocol/params/params.ts";
import { DEFAULT_DIMENSION_WEIGHTS, DIMENSIONS, formatWeights } from "../../protocol/poq/composite.ts";
import { seedFrom } from "../../protocol/rng/deriveSeed.ts";
import { provenance, provenanceLine } from "../../report/provenance.ts";
import { barChart, escapeHtml, htmlPage } from "../../report/svg.ts";
import { renderTable } from "../../report/table.ts";
import { calibrateComposite, type Difference } from "../../sim/calibrateComposite.ts";
import type { CommandSpec } from "../framework/command.ts";
import { POOL_OPTIONS, poolChoices, poolFromOptions } from "./poolOptions.ts";
import { writeReport } from "./simulate.ts";

const signed = (v: number) => `${v >= 0 ? "+" : ""}${v.toFixed(3)}`;
/** "+0.021 [−0.004, +0.047]" or what is missing. */
function formatDifference(d: Difference): string {
  if (d.delta === null) return "n/a";
  return d.low === null || d.high === null
    ? signed(d.delta)
    : `${signed(d.delta)} [${signed(d.low)}, ${signed(d.high)}]`;
}

/** `verinfer poq calibrate`: audit and calibrate the multi-dimensional composite, evaluated on held-out prompts. */
export const calibrateCommand: CommandSpec = {
  name: "calibrate",
  summary: "audit the quality dimensions, calibrate the composite, compare it on held-out prompts",
  description: [
    "Splits the task's prompts into a calibration half and a held-out half (seeded). Everything is chosen on the",
    "calibration half: the semantic evaluator (the best-correlated one, unless --semantic names it), each",
    "dimension's audit (prior, structure, semantic, alignment, agreement) with the paper's rule (drop dimensions",
    "below --min-correlation, renormalize), weights fitted by non-negative least squares, and the best single",
    "evaluator. On the held-out half it compares the default, calibrated and fitted composites with that best",
    "single evaluator (differences with a paired bootstrap over prompts) and the median consensus.",
    "With --task summarization --judgments FILE it calibrates on your own judged summaries.",
  ].join("\n"),
  options: {
    ...POOL_OPTIONS,
    semantic: {
      type: "string",
      value: "NAME",
      description: "evaluator used as the semantic dimension (default: the best on the calibration half)",
    },
    "min-correlation": {
      type: "number",
      value: "R",
      default: 0.1,
      min: -1,
      max: 1,
      description: "dimensions below this calibration-split Pearson are dropped (the paper's rule)",
    },
    bootstrap: {
      type: "integer",
      value: "N",
      min: 0,
      max: 100_000,
      description: "paired bootstrap resamples of held-out prompts (default: 1000, the params preset)",
    },
    html: { type: "string", value: "FILE", description: "also write an HTML report" },
    out: { type: "string", value: "FILE", description: "also write the JSON report" },
  },
  examples: [
    "verinfer poq calibrate --task summarization --truth relevance",
    "verinfer poq calibrate --task summarization --judgments my-judgments.jsonl --truth overall",
    "verinfer poq calibrate --task chat --json",
  ],
  async run(ctx) {
    const semantic = ctx.string("semantic") ?? null;
    if (semantic !== null && !poolChoices(ctx).evaluators.includes(semantic)) {
      throw new VerinferError("CLI_USAGE", `--semantic ${semantic} must be one of the pool's --evaluators`);
    }
    const { pool } = await poolFromOptions(ctx);
    const seed = ctx.number("seed") as number;
    const params = preset("paper");
    const result = calibrateComposite(pool, {
      semantic,
      weights: DEFAULT_DIMENSION_WEIGHTS,
      minCorrelation: ctx.number("min-correlation") as number,
      seed: seedFrom(seed),
      resamples: ctx.number("bootstrap") ?? params.poq.bootstrapResamples,
      confidence: params.poq.confidenceLevel,
    });
    const report = {
      kind: "verinfer.poq-calibrate",
      task: pool.task,
      truth: pool.truthName,
      seed,
      defaultWeights: DEFAULT_DIMENSION_WEIGHTS,
      ...result,
      provenance: provenance(),
    };
    const h = result.heldOut;
    const comparison: [string, number | null, string][] = [
      ["default composite (our weights)", h.defaultComposite, "–"],
      [
        "calibrated composite (the paper's rule)",
        h.calibratedComposite,
        result.calibration.weights ? formatDifference(h.calibratedMinusBestSingle) : "none",
      ],
      [
        "fitted composite (non-negative least squares)",
        h.fittedComposite,
        result.fitted.weights ? formatDifference(h.fittedMinusBestSingle) : "none",
      ],
      [`best single evaluator (${result.bestSingle.evaluator})`, h.bestSingle, "0"],
      [
        `best single dimension (${result.bestDimension.dimension ?? "none"})`,
        result.bestDimension.dimension ? h.perDimension[result.bestDimension.dimension] : null,
        "–",
      ],
      ["median consensus (all evaluators)", h.medianConsensus, "–"],
    ];
    const html = ctx.string("html");
    if (html) {
      writeReport(
        html,
        htmlPage(
          `verinfer composite calibration — ${pool.task}`,
          [
            `<h1>Composite calibration — ${escapeHtml(pool.task)} vs ${escapeHtml(pool.truthName)}</h1><p class="meta">${result.calibrationPrompts} calibration prompts, ${result.heldOutPrompts} held out · seed ${seed} · semantic ${escapeHtml(result.semantic.evaluator)} (chosen by ${escapeHtml(result.semantic.chosenBy)})<br>${escapeHtml(provenanceLine(report.provenance))}</p><div class="grid">`,
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
    ctx.output(report, () => {
      const weight = (w: typeof result.fitted.weights, d: (typeof DIMENSIONS)[number]) => (w ? w[d] : "–");
      const lines = [
        `Composite calibration on ${pool.task} vs ${pool.truthName}: ${result.calibrationItems} calibration outputs (${result.calibrationPrompts} prompts), ${result.heldOutItems} held-out (${result.heldOutPrompts}); seed ${seed}`,
        `semantic dimension: ${result.semantic.evaluator} (chosen by ${result.semantic.chosenBy}); best single evaluator on the calibration half: ${result.bestSingle.evaluator}`,
        "",
        renderTable(
          [
            "dimension",
            "Pearson (calibration)",
            "Pearson (held-out)",
            "default weight",
            "calibrated weight",
            "fitted weight",
          ],
          DIMENSIONS.map((d) => [
            d,
            result.dimensionCorrelations[d] ?? `n/a: ${result.dimensionUndefined[d]}`,
            h.perDimension[d] ?? "n/a",
            DEFAULT_DIMENSION_WEIGHTS[d],
            weight(result.calibration.weights, d),
            weight(result.fitted.weights, d),
          ]),
        ),
      ];
      if (result.calibration.reason) lines.push("", `No calibrated composite: ${result.calibration.reason}.`);
      else
        lines.push(
          "",
          `Calibrated composite minus the best single dimension (${result.bestDimension.dimension}), held out: ${formatDifference(h.calibratedMinusBestDimension)}`,
        );
      if (!result.fitted.weights)
        lines.push(
          "",
          "No fitted composite: no dimension has a positive partial association with the truth.",
        );
      lines.push(
        "",
        renderTable(
          ["quality signal", "Pearson (held-out)", "minus best single, 95% paired-bootstrap interval"],
          comparison,
        ),
      );
      for (const [name, weights] of [
        ["calibrated", result.calibration.weights],
        ["fitted", result.fitted.weights],
      ] as const)
        if (weights)
          lines.push(
            `As the quality signal of simulate/sweep (${name}): --quality composite --composite-weights ${formatWeights(weights)}`,
          );
      return lines.join("\n");
    });
    return 0;
  },
};
