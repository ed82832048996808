import { loadCheckpoint } from "../../engine/llama2c/modelFiles.ts";
import { quantizationLoss } from "../../engine/llama2c/quantizationLoss.ts";
import { renderTable } from "../../report/table.ts";
import type { CommandSpec } from "../framework/command.ts";

/** `verinfer model quality`. */
export const qualityCommand: CommandSpec = {
  name: "quality",
  summary:
    "measure what the verifiable integer engine (ts-int) loses against the float32 engine on a checkpoint",
  description: [
    "Teacher-forces both engines with the float engine's greedy tokens from BOS and reports, over the positions,",
    "how often their greedy (argmax) tokens agree and the absolute error of the integer logits (Q16, as floats).",
  ].join("\n"),
  positionals: [{ name: "FILE", description: "llama2.c checkpoint", required: true }],
  options: {
    positions: { type: "integer", value: "N", default: 64, min: 1, description: "positions to compare" },
  },
  examples: [
    "verinfer model quality ../shared/data/llama2c/stories260K-plctlab-variant.bin",
    "verinfer model quality m15.bin --positions 16 --json",
  ],
  run(ctx) {
    const file = ctx.positionals[0] as string;
    const checkpoint = loadCheckpoint(file);
    const positions = ctx.number("positions") as number;
    const progress = ctx.progress("comparing ts-int with ts", positions);
    const loss = quantizationLoss(checkpoint, file, positions, (d) => progress.update(d));
    progress.done();
    ctx.output({ kind: "verinfer.quantization-loss", file, ...loss }, () =>
      renderTable(
        ["measure", "value"],
        [
          ["greedy-token agreement", `${loss.greedyAgreement}/${loss.positions}`],
          ["mean |logit error|", loss.meanAbsLogitError],
          ["max |logit error|", loss.maxAbsLogitError],
          ["mean |float logit|", loss.meanAbsLogit],
        ],
        { title: `${file}: ts-int vs ts (float32), teacher-forced`, digits: 4 },
      ),
    );
    return 0;
  },
};
