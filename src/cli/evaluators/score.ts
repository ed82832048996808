import { z } from "zod";
import { resolveDataDir } from "../../data/dataDir.ts";
import { jsonLinesLoader } from "../../data/files.ts";
import { VerinferError } from "../../errors.ts";
import { buildEvaluatorContext } from "../../evaluators/audit/buildContext.ts";
import { createEvaluator } from "../../evaluators/registry.ts";
import { preset } from "../../protocol/params/params.ts";
import type { EvaluationInput, EvaluationScore } from "../../protocol/poq/evaluator.ts";
import { renderTable } from "../../report/table.ts";
import type { CommandSpec } from "../framework/command.ts";
import { MODEL_BACKED_OPTIONS, modelBackedFactory } from "../modelBackedOptions.ts";
import { DATA_DIR_OPTION } from "../sharedOptions.ts";

const INPUT = z.object({
  query: z.string().default(""),
  output: z.string(),
  reference: z.union([z.string(), z.array(z.string())]).optional(),
  peers: z.array(z.string()).optional(),
});

/** `verinfer evaluators score`: score one output, or a JSONL file of outputs, with one evaluator. */
export const scoreCommand: CommandSpec = {
  name: "score",
  summary: "score outputs with one evaluator (one from flags, or many from a JSONL file)",
  description:
    'Scores with one evaluator. Give one output with --output (and --reference, --query, --peer), or many with\n--input FILE.jsonl, one {"query", "output", "reference"?, "peers"?} object per line. tfidf and bm25 fit IDF on\nthe given texts.',
  options: {
    evaluator: {
      type: "string",
      required: true,
      value: "NAME",
      description: "evaluator name (see 'verinfer evaluators list')",
    },
    output: { type: "string", value: "TEXT", description: "the output to score" },
    reference: {
      type: "string",
      value: "TEXT",
      multiple: true,
      description: "reference answer (repeat for several)",
    },
    query: { type: "string", value: "TEXT", description: "the prompt the output answers", default: "" },
    peer: {
      type: "string",
      value: "TEXT",
      multiple: true,
      description: "another node's output for the same query (agreement)",
    },
    input: { type: "string", value: "FILE", description: "JSON Lines file of inputs" },
    model: { type: "string", value: "DIR", description: "model folder for bi-encoder / cross-encoder" },
    "sts-model": {
      type: "string",
      value: "FILE",
      description: "learned STS model file (default: train once and cache)",
    },
    "data-dir": DATA_DIR_OPTION,
    ...MODEL_BACKED_OPTIONS,
  },
  examples: [
    'verinfer evaluators score --evaluator token-f1 --output "Denver Broncos" --reference "the Broncos"',
    "verinfer evaluators score --evaluator bi-encoder --model ./all-MiniLM-L6-v2 --input outputs.jsonl --json",
  ],
  async run(ctx) {
    const file = ctx.string("input");
    const single = ctx.string("output");
    if ((file === undefined) === (single === undefined)) {
      throw new VerinferError("CLI_USAGE", "give exactly one of --output TEXT or --input FILE");
    }
    const inputs: EvaluationInput[] =
      file !== undefined
        ? jsonLinesLoader(INPUT)(file).map((i) => ({
            query: i.query,
            output: i.output,
            ...(i.reference !== undefined ? { reference: i.reference } : {}),
            ...(i.peers !== undefined ? { peers: i.peers } : {}),
          }))
        : [
            {
              query: ctx.string("query") ?? "",
              output: single as string,
              ...(ctx.strings("reference").length ? { reference: ctx.strings("reference") } : {}),
              ...(ctx.strings("peer").length ? { peers: ctx.strings("peer") } : {}),
            },
          ];
    const params = preset("paper");
    const { context } = buildEvaluatorContext({
      params,
      corpusTexts: inputs.flatMap((i) => [
        i.query,
        i.output,
        ...(typeof i.reference === "string" ? [i.reference] : (i.reference ?? [])),
      ]),
      dataDir: () => resolveDataDir(ctx.string("data-dir")),
      stsModelPath: ctx.string("sts-model"),
      modelBacked: modelBackedFactory(ctx, params),
    });
    const evaluator = await createEvaluator(ctx.string("evaluator") as string, context);
    try {
      const bar = ctx.progress("scoring", inputs.length);
      const scores: EvaluationScore[] = [];
      for (let lo = 0; lo < inputs.length; lo += 256) {
        scores.push(...(await evaluator.scoreBatch(inputs.slice(lo, lo + 256))));
        bar.update(Math.min(inputs.length, lo + 256));
      }
      bar.done();
      const result = { evaluator: evaluator.info, scores };
      ctx.output(result, () =>
        renderTable(
          ["#", "score", "cost ms"],
          scores.map((s, i) => [i + 1, s.score, s.costMs]),
          { title: `${evaluator.info.name}: ${evaluator.info.description}` },
        ),
      );
    } finally {
      await evaluator.close();
    }
    return 0;
  },
};
