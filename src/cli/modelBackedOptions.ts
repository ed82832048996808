/** CLI options and factory for model-backed evaluators (ONNX bi-/cross-encoders, LLM judge). */
import { configFileSection, envLayer, resolveLayers } from "../config/layeredConfig.ts";
import { createLlmJudgeEvaluator, JUDGE_CONFIG } from "../evaluators/llmJudge/llmJudge.ts";
import { createBiEncoderEvaluator, createCrossEncoderEvaluator } from "../evaluators/onnx/onnxEvaluators.ts";
import type { ProtocolParams } from "../protocol/params/params.ts";
import type { Evaluator } from "../protocol/poq/evaluator.ts";
import type { CommandContext, OptionSpec } from "./framework/command.ts";

/** Options for model-backed evaluators. */
export const MODEL_BACKED_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  "bi-encoder": {
    type: "string",
    value: "DIR",
    description: "exported bi-encoder folder (config.json, tokenizer.json, onnx/model.onnx)",
  },
  "cross-encoder": { type: "string", value: "DIR", description: "exported cross-encoder folder" },
  "judge-url": {
    type: "string",
    value: "URL",
    description:
      "LLM judge OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1 (env VERINFER_JUDGE_BASE_URL)",
  },
  "judge-model": {
    type: "string",
    value: "NAME",
    description:
      "LLM judge model name (env VERINFER_JUDGE_MODEL); API key from VERINFER_JUDGE_API_KEY or the config file",
  },
  "judge-timeout-ms": {
    type: "integer",
    value: "MS",
    description: "LLM judge per-request timeout (default 60000)",
  },
  "judge-concurrency": {
    type: "integer",
    value: "N",
    description: "LLM judge requests in flight (default 4)",
  },
  config: {
    type: "string",
    value: "FILE",
    description:
      'JSON config file; its "judge" section sets baseUrl, model, apiKey, timeoutMs, maxRetries, concurrency',
  },
};

/** Builds model-backed evaluators from the command's options, config file and environment. */
export function modelBackedFactory(
  ctx: CommandContext,
  params: ProtocolParams,
): (name: string) => Promise<Evaluator> | null {
  return (name) => {
    switch (name) {
      case "bi-encoder": {
        const dir = ctx.string("bi-encoder") ?? ctx.string("model");
        return dir === undefined ? null : createBiEncoderEvaluator(dir, params.poq);
      }
      case "cross-encoder": {
        const dir = ctx.string("cross-encoder") ?? ctx.string("model");
        return dir === undefined ? null : createCrossEncoderEvaluator(dir, params.poq);
      }
      case "llm-judge": {
        const config = resolveLayers(JUDGE_CONFIG, "LLM judge", [
          configFileSection(ctx.string("config"), "judge"),
          envLayer(process.env, {
            baseUrl: "VERINFER_JUDGE_BASE_URL",
            model: "VERINFER_JUDGE_MODEL",
            apiKey: "VERINFER_JUDGE_API_KEY",
            timeoutMs: "VERINFER_JUDGE_TIMEOUT_MS",
            concurrency: "VERINFER_JUDGE_CONCURRENCY",
          }),
          {
            baseUrl: ctx.string("judge-url"),
            model: ctx.string("judge-model"),
            timeoutMs: ctx.number("judge-timeout-ms"),
            concurrency: ctx.number("judge-concurrency"),
          },
        ]);
        return Promise.resolve(createLlmJudgeEvaluator(config, params.poq));
      }
      default:
        return null;
    }
  };
}
