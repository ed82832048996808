import { writeFileSync } from "node:fs";
import type { GenerateRequest, GenerationResult } from "../../engine/engine.ts";
import { VerinferError } from "../../errors.ts";
import { ENGINE_OPTIONS, engineFrom } from "../engineOptions.ts";
import type { CommandSpec } from "../framework/command.ts";

/** `verinfer generate`. */
export const generateCommand: CommandSpec = {
  name: "generate",
  summary: "generate text with an engine: ts, ts-int (verifiable, traced), llama-cpp (GGUF) or openai",
  description: [
    "Runs one generation and streams the text to stdout (the statistics go to stderr). ts and ts-int run llama2.c",
    "checkpoints in TypeScript; ts-int is the verifiable integer mode and can record the execution trace (--trace).",
    "llama-cpp runs any GGUF by path through node-llama-cpp; openai talks to any OpenAI-compatible server",
    "(--model is its base URL, --served-model the model name). Same seed, same output.",
  ].join("\n"),
  options: {
    ...ENGINE_OPTIONS,
    prompt: { type: "string", value: "TEXT", required: true, description: "prompt text" },
    temperature: {
      type: "number",
      value: "T",
      default: 0,
      min: 0,
      description: "sampling temperature (0 = greedy)",
    },
    "top-p": { type: "number", value: "P", default: 1, min: 0, max: 1, description: "nucleus sampling mass" },
    "max-tokens": {
      type: "integer",
      value: "N",
      default: 128,
      min: 1,
      description: "tokens to generate at most",
    },
    stop: {
      type: "string",
      value: "TEXT",
      multiple: true,
      description: "stop before this text (repeatable)",
    },
    seed: { type: "integer", value: "N", default: 0, min: 0, description: "sampling seed" },
    trace: { type: "string", value: "FILE", description: "record the execution trace to FILE (ts-int)" },
  },
  examples: [
    "verinfer model init --preset tiny --seed 1 --out tiny.bin && verinfer generate --model tiny.bin --prompt 'Once upon a time'",
    "verinfer generate --engine ts --model stories260K.bin --tokenizer tok512.bin --prompt '' --max-tokens 64",
    "verinfer generate --engine ts-int --model tiny.bin --prompt hello --trace trace.json",
    "verinfer generate --engine openai --model http://127.0.0.1:8080/v1 --served-model qwen2.5 --prompt hello",
  ],
  async run(ctx) {
    const tracePath = ctx.string("trace");
    const engine = await engineFrom(ctx);
    try {
      const request: GenerateRequest = {
        prompt: ctx.string("prompt") as string,
        params: {
          temperature: ctx.number("temperature") as number,
          topP: ctx.number("top-p") as number,
          maxTokens: ctx.number("max-tokens") as number,
          stop: ctx.strings("stop"),
        },
        seed: ctx.number("seed") as number,
        trace: tracePath !== undefined,
      };
      const stream = engine.stream(request);
      let result: GenerationResult;
      for (;;) {
        const next = await stream.next();
        if (next.done) {
          result = next.value;
          break;
        }
        if (!ctx.json) ctx.write(next.value.text);
      }
      if (tracePath) {
        if (!result.trace)
          throw new VerinferError("GENERATION_INVALID", `the ${engine.info.name} engine recorded no trace`);
        writeFileSync(tracePath, `${JSON.stringify(result.trace, null, 2)}\n`);
      }
      // The per-step leaves go to the trace file only; the printed result names the root and the file.
      const printable = result.trace
        ? {
            ...result,
            trace: {
              root: result.trace.root,
              leaves: result.trace.leaves,
              modelRoot: result.trace.modelRoot,
              file: tracePath,
            },
          }
        : result;
      if (ctx.json) ctx.output(printable, () => "");
      else {
        ctx.write("\n");
        const usage = result.usage
          ? `${result.usage.promptTokens} prompt + ${result.usage.completionTokens} generated tokens`
          : "no token counts from the server";
        const speed = result.timings.tokensPerSecond?.toFixed(1) ?? "?";
        const trace = result.trace
          ? `, trace root ${result.trace.root} (${result.trace.leaves} leaves) → ${tracePath}`
          : "";
        ctx.info(
          `[${result.engine}] ${usage}, ${speed} tokens/s, finish: ${result.finishReason}, seed ${result.seed}${trace}`,
        );
      }
      return 0;
    } finally {
      await engine.close();
    }
  },
};
