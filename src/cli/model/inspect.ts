import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parameterCount, shapeOf } from "../../engine/llama2c/checkpoint.ts";
import { loadCheckpoint } from "../../engine/llama2c/modelFiles.ts";
import { renderTable } from "../../report/table.ts";
import type { CommandSpec } from "../framework/command.ts";

/** `verinfer model inspect`. */
export const inspectCommand: CommandSpec = {
  name: "inspect",
  summary: "show a llama2.c checkpoint's shape, parameter count and hashes",
  positionals: [{ name: "FILE", description: "llama2.c checkpoint", required: true }],
  options: {},
  examples: ["verinfer model inspect tiny.bin --json"],
  run(ctx) {
    const file = ctx.positionals[0] as string;
    const ck = loadCheckpoint(file);
    const c = ck.config;
    const { headSize, kvDim } = shapeOf(c);
    const sha256 = createHash("sha256").update(readFileSync(file)).digest("hex");
    const info = {
      file,
      format: ck.format,
      config: c,
      headSize,
      kvDim,
      parameters: parameterCount(c),
      sha256,
    };
    ctx.output(info, () =>
      renderTable(
        ["field", "value"],
        [
          ["format", ck.format],
          ["dim / hidden", `${c.dim} / ${c.hiddenDim}`],
          ["layers", c.nLayers],
          ["heads / kv heads (head size)", `${c.nHeads} / ${c.nKvHeads} (${headSize})`],
          ["vocab / context", `${c.vocabSize} / ${c.seqLen}`],
          ["shared classifier", c.sharedClassifier ? "yes" : "no"],
          ["parameters", parameterCount(c).toLocaleString("en-US")],
          ["sha256", sha256],
        ],
        { title: file },
      ),
    );
    return 0;
  },
};
