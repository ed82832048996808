import { existsSync } from "node:fs";
import { parameterCount } from "../../engine/llama2c/checkpoint.ts";
import { PRESETS } from "../../engine/llama2c/generateModel.ts";
import { siblingTokenizerPath, writeGeneratedModel } from "../../engine/llama2c/modelFiles.ts";
import { VerinferError } from "../../errors.ts";
import type { CommandSpec } from "../framework/command.ts";

/** `verinfer model init`. */
export const initCommand: CommandSpec = {
  name: "init",
  summary: "generate a seeded random llama2.c model and its byte-level tokenizer (not a language model)",
  description: [
    "Writes a llama2.c checkpoint with random weights from the seed and verinfer's byte-level tokenizer beside it",
    "(<out>.tokenizer.bin), so every engine and the whole network run without downloaded weights. Its output is",
    "random bytes, not language. Presets: tiny (dim 64, 2 layers), small (dim 128, 4 layers), 15m (stories15M's shape).",
  ].join("\n"),
  options: {
    preset: { type: "string", default: "tiny", choices: Object.keys(PRESETS), description: "model shape" },
    seed: { type: "integer", value: "N", default: 1, min: 0, description: "weights seed" },
    out: { type: "string", value: "FILE", required: true, description: "checkpoint to write (.bin)" },
    force: { type: "boolean", description: "overwrite existing files" },
  },
  examples: [
    "verinfer model init --preset tiny --seed 1 --out tiny.bin",
    "verinfer model init --preset 15m --out m15.bin",
  ],
  run(ctx) {
    const out = ctx.string("out") as string;
    const preset = ctx.string("preset") as string;
    const config = PRESETS[preset];
    if (!config) throw new VerinferError("CLI_USAGE", `unknown preset ${preset}`);
    const tokenizerOut = siblingTokenizerPath(out);
    for (const f of [out, tokenizerOut]) {
      if (existsSync(f) && !ctx.flag("force"))
        throw new VerinferError("CLI_USAGE", `${f} exists; pass --force to overwrite`);
    }
    const seed = ctx.number("seed") as number;
    writeGeneratedModel(out, config, seed);
    ctx.output(
      {
        kind: "verinfer.model",
        preset,
        seed,
        out,
        tokenizer: tokenizerOut,
        config,
        parameters: parameterCount(config),
      },
      () =>
        [
          `wrote ${out} (${preset}, seed ${seed}, ${parameterCount(config).toLocaleString("en-US")} parameters) and ${tokenizerOut}`,
          "note: random weights and a byte-level tokenizer — the model runs, but its output is not language.",
        ].join("\n"),
    );
    return 0;
  },
};
