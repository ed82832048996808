/**
 * The evaluator an evaluator node scores with, from its config: the composite of the named evaluators
 * (each dimension's mean, weighted as the protocol weighs dimensions), each of which must do without a
 * reference answer (a live network has none).
 */
import { VerinferError } from "../../../errors.ts";
import { loadStsModel } from "../../../evaluators/learnedSts/model.ts";
import { createLlmJudgeEvaluator, JUDGE_CONFIG } from "../../../evaluators/llmJudge/llmJudge.ts";
import { composeEvaluators, createEvaluator, parseEvaluatorList } from "../../../evaluators/registry.ts";
import { PRESETS } from "../../../protocol/params/params.ts";
import type { Evaluator } from "../../../protocol/poq/evaluator.ts";
import type { EvaluatorConfig } from "../../nodeConfig.ts";

/**
 * The evaluators a node scores with when its config names none: the answer's structure, and its alignment
 * with the query by a lexical scorer (chrF) and, given a trained model, by the learned STS.
 */
export function defaultEvaluators(stsModel: string | undefined): string {
  return stsModel ? "structure,alignment:chrf,alignment:sts" : "structure,alignment:chrf";
}

/**
 * The evaluator a node scores with: the multi-dimensional composite of the named evaluators (any
 * registered names, the LLM judge at `judgeUrl` among them) under the protocol's dimension weights,
 * each of which must do without a reference answer.
 */
export async function nodeEvaluator(
  c: Pick<EvaluatorConfig, "evaluator" | "stsModel" | "judgeUrl" | "judgeModel" | "judgeApiKey">,
): Promise<Evaluator> {
  const params = { maxTextChars: PRESETS.devnet.poq.maxTextChars };
  const stsModel = c.stsModel;
  const names = namesOf(c.evaluator ?? defaultEvaluators(stsModel));
  const parts = await Promise.all(
    names.map((name) =>
      createEvaluator(name, {
        params,
        stsModel: () => {
          if (stsModel === undefined)
            throw new VerinferError(
              "CONFIG_INVALID",
              `evaluator ${name} needs stsModel in the evaluator's config: a model file from 'verinfer evaluators train-sts --out FILE'`,
            );
          return loadStsModel(stsModel);
        },
        modelBacked: (n) =>
          n === "llm-judge" && c.judgeUrl && c.judgeModel
            ? Promise.resolve(
                createLlmJudgeEvaluator(
                  JUDGE_CONFIG.parse({ baseUrl: c.judgeUrl, model: c.judgeModel, apiKey: c.judgeApiKey }),
                  params,
                ),
              )
            : null,
      }),
    ),
  );
  const unfit = parts.find((p) => p.info.needsReference || p.info.needsPeers);
  if (unfit) {
    await Promise.all(parts.map((p) => p.close()));
    throw new VerinferError(
      "CONFIG_INVALID",
      `evaluator ${unfit.info.name} compares the answer with ${unfit.info.needsReference ? "a reference answer" : "other nodes' answers"}, which a live network does not have; score its alignment with the query instead (alignment:${unfit.info.name.replace(/^(semantic|agreement):/, "")})`,
    );
  }
  return composeEvaluators(names, parts);
}

/** The config's evaluator list, its faults as config errors. */
function namesOf(list: string): string[] {
  try {
    // The node composes what it lists: `a+b` in the list is `a,b`, each part weighed by its dimension.
    return parseEvaluatorList(list.replaceAll("+", ","));
  } catch (e) {
    if (e instanceof VerinferError) throw new VerinferError("CONFIG_INVALID", `evaluator: ${e.message}`);
    throw e;
  }
}
