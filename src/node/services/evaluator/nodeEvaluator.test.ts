/**
 * The evaluator a node scores with: by default the composite of structure and lexical alignment (chrF),
 * with the learned STS's alignment when a model is given, weighted per dimension as the protocol weighs
 * them; evaluators that need a reference answer (which a
 * live network does not have) or a model the config lacks are refused with CONFIG_INVALID.
 */
import { describe, expect, it } from "vitest";
import { defaultDataDir } from "../../../data/dataDir.ts";
import { loadStsModel } from "../../../evaluators/learnedSts/model.ts";
import { obtainStsModel } from "../../../evaluators/learnedSts/store.ts";
import { createEvaluator } from "../../../evaluators/registry.ts";
import { PRESETS } from "../../../protocol/params/params.ts";
import { nodeEvaluator } from "./nodeEvaluator.ts";

const input = {
  query: "Tell me a story about the sea.",
  output: "Once upon a time a little boat sailed on the blue sea. The waves were big and the boat was brave.",
};
const params = { maxTextChars: PRESETS.devnet.poq.maxTextChars };

describe("nodeEvaluator", () => {
  it("scores structure and chrF alignment by default, half each (the protocol weighs them equally)", async () => {
    const e = await nodeEvaluator({});
    expect(e.info.name).toBe("structure,alignment:chrf");
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
    expect(e.info.name).toBe("structure,alignment:chrf,alignment:sts");
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
    await expect(nodeEvaluator({ evaluator: "no-such-scorer" })).rejects.toMatchObject({
      code: "EVALUATOR_UNKNOWN",
    });
  });
});
