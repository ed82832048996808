import { writeFileSync } from "node:fs";
import { basename } from "node:path";
import { readTextFile } from "../../data/files.ts";
import { toGguf } from "../../engine/gguf/ggufWriter.ts";
import { loadLlama2c } from "../../engine/llama2c/modelFiles.ts";
import type { CommandSpec } from "../framework/command.ts";

/** `verinfer model convert`. */
export const convertCommand: CommandSpec = {
  name: "convert",
  summary: "convert a llama2.c checkpoint and its tokenizer to GGUF (llama architecture, F32) for llama.cpp",
  positionals: [{ name: "FILE", description: "llama2.c checkpoint", required: true }],
  options: {
    tokenizer: {
      type: "string",
      value: "FILE",
      description: "llama2.c tokenizer (default: beside the model)",
    },
    out: { type: "string", value: "FILE", required: true, description: "GGUF file to write" },
    "chat-template": {
      type: "string",
      value: "FILE",
      description: "Jinja chat template to store (tokenizer.chat_template); chat requests then use it",
    },
  },
  examples: ["verinfer model convert stories260K.bin --tokenizer tok512.bin --out stories260K.gguf"],
  run(ctx) {
    const file = ctx.positionals[0] as string;
    const m = loadLlama2c(file, ctx.string("tokenizer"));
    const out = ctx.string("out") as string;
    const templateFile = ctx.string("chat-template");
    const chatTemplate = templateFile === undefined ? undefined : readTextFile(templateFile);
    const bytes = toGguf(m.checkpoint, m.tokenizer, basename(file).replace(/\.bin$/, ""), { chatTemplate });
    writeFileSync(out, bytes);
    ctx.output(
      { kind: "verinfer.gguf", from: file, tokenizer: m.tokenizerPath, out, bytes: bytes.length },
      () =>
        `wrote ${out} (${(bytes.length / 1e6).toFixed(1)} MB, GGUF v3, llama architecture, F32) from ${file} + ${m.tokenizerPath}`,
    );
    return 0;
  },
};
