/**
 * The evaluator a node scores with: by default the composite of structure and lexical alignment (chrF),
 * with the learned STS's alignment when a model is given, weighted per dimension as the protocol weighs
 * them; evaluators that need a reference answer (which a
 * live network does not have) or a model the config lacks are refused with CONFIG_INVALID.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultDataDir } from "../../../data/dataDir.ts";
import { PRESETS as PRESETS_MODEL } from "../../../engine/llama2c/generateModel.ts";
import { loadLlama2c, writeGeneratedModel } from "../../../engine/llama2c/modelFiles.ts";
import { loadStsModel } from "../../../evaluators/learnedSts/model.ts";
import { obtainStsModel } from "../../../evaluators/learnedSts/store.ts";
import { JUDGE_SYSTEM_PROMPT, judgeUserMessage } from "../../../evaluators/llmJudge/llmJudge.ts";
import { createEvaluator } from "../../../evaluators/registry.ts";
import { PRESETS } from "../../../protocol/params/params.ts";
import { startChatServer } from "../../../testing/chatServer.ts";
import { contextOfRequest } from "../../inferRequest.ts";
import { tokenTextOf } from "../../tokenText.ts";
import { nodeEvaluator } from "./nodeEvaluator.ts";

const input = {
  query: "Tell me a story about the sea.",
  output: "Once upon a time a little boat sailed on the blue sea. The waves were big and the boat was brave.",
};
const params = { maxTextChars: PRESETS.devnet.poq.maxTextChars };

describe("nodeEvaluator", () => {
  it("scores structure and chrF alignment by default, half each (the protocol weighs them equally)", async () => {
    const e = await nodeEvaluator({});
    expect(e.info.name).toBe("structure+alignment:chrf");
    expect(e.info.needsReference).toBe(false);
    const parts = await Promise.all(
      ["structure", "alignment:chrf"].map((n) => createEvaluator(n, { params })),
    );
    const each = await Promise.all(parts.map(async (p) => (await p.score(input)).score));
    const { score } = await e.score(input);
    expect(score).toBeCloseTo(((each[0] as number) + (each[1] as number)) / 2, 12);
    expect(each[0]).not.toBe(each[1]); // two dimensions, not one counted twice
    expect(await e.scoreBatch([input, { ...input, output: "" }])).toHaveLength(2);
    await e.close();
  });

  it("adds the learned STS's alignment when given a model", async () => {
    const data = defaultDataDir();
    if (data === null) {
      console.warn("skipped: no data directory with stsbenchmark/sts-train.csv (set VERINFER_DATA_DIR)");
      return;
    }
    const { path } = obtainStsModel({ dataDir: data });
    const e = await nodeEvaluator({ stsModel: path });
    expect(e.info.name).toBe("structure+alignment:chrf+alignment:sts");
    // Two scorers of one dimension share its weight: structure keeps half, each alignment scorer a quarter.
    const parts = await Promise.all(
      ["structure", "alignment:chrf", "alignment:sts"].map((n) =>
        createEvaluator(n, { params, stsModel: () => loadStsModel(path) }),
      ),
    );
    const [structure, chrf, sts] = await Promise.all(parts.map(async (p) => (await p.score(input)).score));
    const { score } = await e.score(input);
    expect(score).toBeCloseTo(
      0.5 * (structure as number) + 0.25 * (chrf as number) + 0.25 * (sts as number),
      12,
    );
    expect(e.info.description).toContain("structure 50%, alignment 50%");
  }, 120_000);

  it("never asks its judge about a judge's own request served by the network, and asks about the rest", async () => {
    // What an evaluator sees of a receipt: the worker's prompt tokens (the chat rendered and tokenized as
    // the gateway and worker do), decoded by the model's vocabulary.
    const dir = mkdtempSync(join(tmpdir(), "verinfer-judge-loop-"));
    const { model } = writeGeneratedModel(join(dir, "tiny.bin"), PRESETS_MODEL.tiny as never, 3);
    const text = await tokenTextOf(model);
    const { tokenizer } = loadLlama2c(model);
    const sampling = { temperature: 0, topP: 1, maxTokens: 400, stop: [] };
    const seen = (messages: { role: "system" | "user"; content: string }[]) => ({
      query: text.prompt(contextOfRequest(tokenizer, { messages, params: sampling, seed: 0 }).prompt),
      output: "Score: 7",
    });
    const judgeRequest = seen([
      { role: "system", content: JUDGE_SYSTEM_PROMPT },
      { role: "user", content: judgeUserMessage(input) },
    ]);
    const server = await startChatServer([{ content: "Responsive and correct.\nScore: 9" }]);
    try {
      const e = await nodeEvaluator({
        evaluator: "structure,llm-judge",
        judgeUrl: server.baseUrl,
        judgeModel: "the-network",
        judgeApiKey: "client-key-0123456789",
      });
      await expect(e.score(judgeRequest)).rejects.toMatchObject({ code: "JUDGE_REQUEST_NOT_JUDGED" });
      expect(server.requests).toHaveLength(0);
      const { score } = await e.score(seen([{ role: "user", content: input.query }]));
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]?.headers.authorization).toBe("Bearer client-key-0123456789");
      const structure = await (await createEvaluator("structure", { params })).score({
        query: "",
        output: "Score: 7",
      });
      expect(score).toBeCloseTo(0.5 * structure.score + 0.5 * 9, 12);
    } finally {
      await server.close();
      await text.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses evaluators a live network cannot feed, naming what to use instead", async () => {
    await expect(nodeEvaluator({ evaluator: "token-f1" })).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringContaining("alignment:token-f1"),
    });
    await expect(nodeEvaluator({ evaluator: "structure,agreement:chrf" })).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringMatching(/other nodes' answers.*\(alignment:chrf\)/),
    });
    await expect(nodeEvaluator({ evaluator: "alignment:sts" })).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringContaining("train-sts"),
    });
    await expect(nodeEvaluator({ evaluator: "structure,,chrf" })).rejects.toMatchObject({
      code: "CONFIG_INVALID",
    });
    // A composite in the list is its parts: the same evaluator as listing them.
    expect((await nodeEvaluator({ evaluator: "structure+alignment:chrf" })).info.name).toBe(
      "structure+alignment:chrf",
    );
    await expect(nodeEvaluator({ evaluator: "no-such-scorer" })).rejects.toMatchObject({
      code: "EVALUATOR_UNKNOWN",
    });
  });
});
