import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadNativeSecp256k1 } from "../../crypto/nativeSecp256k1.ts";
import { parseCheckpoint } from "../../engine/llama2c/checkpoint.ts";
import { generateCheckpoint, PRESETS } from "../../engine/llama2c/generateModel.ts";
import { generatedIntModel } from "../../engine/llama2c/modelFiles.ts";
import { quantizationLoss } from "../../engine/llama2c/quantizationLoss.ts";
import { itWithData } from "../../testing/sharedData.ts";
import { bytesToHex } from "../encoding/hex.ts";
import { createRng } from "../rng/prng.ts";
import { auditTrace } from "./auditTrace.ts";
import {
  exp2FractionTable,
  floorDiv,
  INV_LN2_Q16,
  invSqrtQ16,
  ropeTables,
  sigmoidTable,
} from "./fixedMath.ts";
import type { IntModel } from "./intModel.ts";
import { sampleInt } from "./intSampler.ts";
import { IntTransformer } from "./intTransformer.ts";
import { modelLeafIndex, modelLeaves, modelRoot, rowLeaf, TENSOR } from "./modelCommitment.ts";
import {
  checkMatmulChunk,
  checkStep,
  chunkRows,
  computeStep,
  decodeInt32,
  disputeCost,
  type ExecutionContext,
  inputsOf,
  replayExecution,
} from "./replay.ts";
import {
  firstDivergence,
  int32Bytes,
  leafHash,
  merkleProof,
  merkleRoot,
  OP,
  type StepId,
  stepLabel,
  verifyMerkleProof,
} from "./trace.ts";
import { verifiableGeneration } from "./verifiableGeneration.ts";

const sha = (a: Int32Array) =>
  createHash("sha256")
    .update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
    .digest("hex");
const tinyModel = (seed = 1): IntModel => {
  return generatedIntModel(PRESETS.tiny!, seed);
};
const TOKENS = [1, 72, 101, 108];
/** The four tokens as the prompt, greedy: the last position's SAMPLE is the first generated token. */
const CONTEXT: ExecutionContext = { prompt: TOKENS, sampling: { temperature: 0, topP: 1, seed: 0 } };

/** Runs the context with a trace (optionally a faulty transformer); returns the steps, leaves and root. */
function traced(model: IntModel, setup?: (t: IntTransformer) => void) {
  const t = new IntTransformer(model);
  setup?.(t);
  const { steps } = replayExecution(model, CONTEXT, TOKENS.length, t);
  const leaves = steps.map((s) => leafHash(s.id, s.output));
  return { steps, leaves, ids: steps.map((s) => s.id), root: () => merkleRoot(leaves) };
}

describe("verifiable engine: the spec's tables are pinned", () => {
  it("generates every table with integer math, bit for bit", () => {
    expect(sha(exp2FractionTable())).toBe("47c3fa45e218908d4d9b3aa74428ae993cd27ea3b8059c273ed1c6f12eb4ed81");
    expect(sha(sigmoidTable())).toBe("cba4ddac2dcb591f1b566e9f80ff91a69d92b5ba42c7298d698254412214a7fd");
    const rope = ropeTables(48, 256);
    expect([sha(rope.cos), sha(rope.sin)]).toEqual([
      "93adbf565d525b92bb83d9f54109109f9d4ceea6452c4fd910289c90f64b59ab",
      "1053461e72d84d337cbd238d8efa92d775bf3a217225e499326a50cf699ec4fd",
    ]);
    // Spot values against the float definitions.
    expect([exp2FractionTable()[512], sigmoidTable()[4096], rope.cos[24], rope.sin[24]]).toEqual([
      Math.round(65536 * 2 ** -0.5),
      32768,
      Math.round(16384 * Math.cos(1)),
      Math.round(16384 * Math.sin(1)),
    ]);
    expect([INV_LN2_Q16, invSqrtQ16(48), invSqrtQ16(16)]).toEqual([94548, 9459, 16384]);
    // Exact floor division even where the double quotient rounds across an integer.
    expect(floorDiv(2 ** 53 - 1, 3)).toBe(3002399751580330);
    expect(floorDiv(-7, 2)).toBe(-4);
  });
});

describe("verifiable engine: quality against the float path", () => {
  const compare = (bytes: Uint8Array, positions: number) => {
    const ck = parseCheckpoint(bytes);
    if (!ck.ok) throw new Error(ck.error.message);
    return quantizationLoss(ck.value, "checkpoint", positions);
  };

  itWithData(
    "on the shared checkpoint (flat logits: the int8 weights cost a few argmax ties)",
    ["llama2c/stories260K-plctlab-variant.bin"],
    (path) => {
      const r = compare(new Uint8Array(readFileSync(path)), 64);
      expect(r.greedyAgreement).toBeGreaterThanOrEqual(56);
      expect(r.meanAbsLogitError).toBeLessThan(0.35);
    },
  );

  it("on generated models", () => {
    const r = compare(generateCheckpoint(PRESETS.tiny!, 1), 64);
    expect(r.greedyAgreement).toBe(64);
    expect(r.meanAbsLogitError).toBeLessThan(0.01);
  });
});

describe("verifiable engine: traces", () => {
  const model = tinyModel();

  it("are deterministic, and the native and pure keccak give the same root", () => {
    const a = traced(model);
    const b = traced(model);
    expect(bytesToHex(a.root())).toBe(bytesToHex(b.root()));
    // One leaf per step: per position 1 + 19 per layer + 2 + one logits part (vocab 512 ≤ 1024) + SAMPLE.
    expect(a.leaves).toHaveLength(TOKENS.length * (1 + 19 * 2 + 4));
    const native = loadNativeSecp256k1();
    if (native) {
      const leaves = a.steps.map((s) => leafHash(s.id, s.output, native.keccak256));
      expect(bytesToHex(merkleRoot(leaves, native.keccak256))).toBe(bytesToHex(a.root()));
    }
    expect(modelRoot(model)).toBe(modelRoot(tinyModel()));
    expect(modelRoot(model)).not.toBe(modelRoot(tinyModel(2)));
  });

  it("regenerate a request alike with either keccak, each model's weights root its own", () => {
    // One output token: the four positions `traced` runs.
    expect(verifiableGeneration(model, CONTEXT, 1).tree.root).toEqual(traced(model).root());
    const pure = verifiableGeneration(model, CONTEXT, 3);
    const native = loadNativeSecp256k1();
    if (native) {
      const fast = verifiableGeneration(model, CONTEXT, 3, null, native.keccak256);
      expect(fast.fields).toEqual(pure.fields);
      expect(fast.tree.root).toEqual(pure.tree.root);
    }
    // The weights root is computed once per model, and is each model's own.
    expect(verifiableGeneration(model, CONTEXT, 3).fields.weightsHash).toBe(modelRoot(model));
    const other = tinyModel(2);
    expect(verifiableGeneration(other, CONTEXT, 3).fields.weightsHash).toBe(modelRoot(other));
  });

  it("Merkle proofs open any leaf", () => {
    const t = traced(model);
    const root = t.root();
    for (const i of [0, 1, 37, t.leaves.length - 1]) {
      const proof = merkleProof(t.leaves, i);
      expect(verifyMerkleProof(root, t.leaves[i] as Uint8Array, i, proof)).toBe(true);
      expect(verifyMerkleProof(root, t.leaves[(i + 1) % t.leaves.length] as Uint8Array, i, proof)).toBe(
        false,
      );
    }
    expect(bytesToHex(merkleRoot(t.leaves))).toBe(bytesToHex(root));
  });

  it("the model commitment's leaf index follows from the shape alone, for every tensor", () => {
    const leaves = modelLeaves(model);
    const l = model.layers[1] as IntModel["layers"][number];
    const cases: [number, number, number, Uint8Array][] = [
      [TENSOR.EMBEDDING, 0, 7, rowLeaf(model.embedding, TENSOR.EMBEDDING, 0, 7)],
      [TENSOR.WQ, 1, 3, rowLeaf(l.wq, TENSOR.WQ, 1, 3)],
      [TENSOR.WK, 1, 0, rowLeaf(l.wk, TENSOR.WK, 1, 0)],
      [TENSOR.WV, 1, 5, rowLeaf(l.wv, TENSOR.WV, 1, 5)],
      [TENSOR.WO, 1, 9, rowLeaf(l.wo, TENSOR.WO, 1, 9)],
      [TENSOR.W1, 1, 2, rowLeaf(l.w1, TENSOR.W1, 1, 2)],
      [TENSOR.W2, 1, 4, rowLeaf(l.w2, TENSOR.W2, 1, 4)],
      [TENSOR.W3, 1, 8, rowLeaf(l.w3, TENSOR.W3, 1, 8)],
    ];
    for (const [tensor, layer, row, leaf] of cases)
      expect(bytesToHex(leaves[modelLeafIndex(model.shape, tensor, layer, row)] as Uint8Array)).toBe(
        bytesToHex(leaf),
      );
    expect(modelLeafIndex(model.shape, TENSOR.RMS_FINAL, 0, 0)).toBe(leaves.length - 1); // shared classifier
  });

  it("every step replays from its committed inputs", () => {
    const t = traced(model);
    const steps = t.steps;
    const index = new Map(steps.map((s, i) => [stepLabel(s.id), i]));
    expect(steps).toHaveLength(t.leaves.length);
    for (const [i, s] of steps.entries()) {
      const producers = inputsOf(s.id, model.shape, TOKENS.length).map(
        (p) => index.get(stepLabel(p)) as number,
      );
      const v = checkStep(
        model,
        s.id,
        producers.map((p) => (steps[p] as (typeof steps)[number]).output),
        producers.map((p) => t.leaves[p] as Uint8Array),
        CONTEXT,
        t.leaves[i] as Uint8Array,
      );
      expect(v.ok, stepLabel(s.id)).toBe(true);
    }
  });

  it("a flipped leaf fails its replay", () => {
    const t = traced(model);
    const steps = t.steps;
    const target = steps.findIndex((s) => s.id.pos === 2 && s.id.layer === 1 && s.id.op === OP.SWIGLU);
    const s = steps[target] as (typeof steps)[number];
    const index = new Map(steps.map((x, i) => [stepLabel(x.id), i]));
    const producers = inputsOf(s.id, model.shape, TOKENS.length).map(
      (p) => index.get(stepLabel(p)) as number,
    );
    const leaf = Uint8Array.from(t.leaves[target] as Uint8Array);
    leaf[5] = (leaf[5] as number) ^ 1;
    const v = checkStep(
      model,
      s.id,
      producers.map((p) => (steps[p] as (typeof steps)[number]).output),
      producers.map((p) => t.leaves[p] as Uint8Array),
      CONTEXT,
      leaf,
    );
    expect(v).toMatchObject({
      ok: false,
      error: { code: "TRACE_MISMATCH", message: /pos 2 layer 1 swiglu/ },
    });
    // And a wrong input is caught against its own leaf.
    const badInput = Uint8Array.from((steps[producers[0] as number] as (typeof steps)[number]).output);
    badInput[0] = (badInput[0] as number) ^ 1;
    const w = checkStep(
      model,
      s.id,
      [badInput, (steps[producers[1] as number] as (typeof steps)[number]).output],
      producers.map((p) => t.leaves[p] as Uint8Array),
      CONTEXT,
      t.leaves[target] as Uint8Array,
    );
    expect(w).toMatchObject({
      ok: false,
      error: { message: /input 0 of pos 2 layer 1 swiglu does not match the leaf of pos 2 layer 1 w1/ },
    });
  });

  it("a flipped weight is pinpointed at the first step that reads it", () => {
    const honest = traced(model);
    const faulty = tinyModel();
    const wq = (faulty.layers[1] as IntModel["layers"][number]).wq;
    wq.q[3 * wq.cols + 5] = (wq.q[3 * wq.cols + 5] as number) + 1;
    const i = firstDivergence(honest.leaves, traced(faulty).leaves);
    expect(stepLabel(honest.ids[i] as StepId)).toBe("pos 0 layer 1 q");
    expect(modelRoot(faulty)).not.toBe(modelRoot(model));
  });

  it("a corrupted activation is pinpointed at the step that produced it, and the chunk check names the row", () => {
    const honest = traced(model);
    const faulty = traced(model, (t) => {
      t.fault = { pos: 1, layer: 0, op: OP.W1, index: 40, delta: 3 };
    });
    const i = firstDivergence(honest.leaves, faulty.leaves);
    expect(stepLabel(honest.ids[i] as StepId)).toBe("pos 1 layer 0 w1");
    // The fisherman's audit of the faulty worker's trace finds the same step.
    const audit = auditTrace(model, {
      root: bytesToHex(faulty.root()),
      modelRoot: modelRoot(model),
      tokens: TOKENS,
      promptTokens: TOKENS.length,
      sampling: CONTEXT.sampling,
      steps: faulty.ids,
      leaves: faulty.leaves,
    });
    expect(audit.ok && audit.value.valid).toBe(false);
    expect(audit.ok && audit.value.firstDivergence).toMatchObject({ index: i, step: "pos 1 layer 0 w1" });
    expect(
      auditTrace(model, {
        root: bytesToHex(honest.root()),
        modelRoot: modelRoot(model),
        tokens: TOKENS,
        promptTokens: TOKENS.length,
        sampling: CONTEXT.sampling,
        steps: honest.ids,
        leaves: honest.leaves,
      }),
    ).toMatchObject({ ok: true, value: { valid: true } });
    // The disputed matmul narrows to one chunk of rows: recompute each chunk from the (agreed) input.
    const steps = honest.steps;
    const w1 = steps.find((s) => stepLabel(s.id) === "pos 1 layer 0 w1") as (typeof steps)[number];
    const input = steps.find((s) => stepLabel(s.id) === "pos 1 layer 0 ffn_quant") as (typeof steps)[number];
    const claimed = decodeInt32(w1.output);
    claimed[40] = (claimed[40] as number) + 3;
    const claimedOutput = int32Bytes(claimed);
    const evidence = {
      input: input.output,
      inputLeaf: leafHash(input.id, input.output),
      claimedOutput,
      leaf: leafHash(w1.id, claimedOutput),
    };
    const rows = chunkRows(model.shape.dim);
    const failing: number[] = [];
    for (let r0 = 0; r0 < model.shape.hiddenDim; r0 += rows) {
      const v = checkMatmulChunk(model, w1.id, evidence, r0, Math.min(model.shape.hiddenDim, r0 + rows));
      if (!v.ok) failing.push(r0);
    }
    expect(failing).toEqual([Math.floor(40 / rows) * rows]);
    expect(bytesToHex(leafHash(w1.id, computeStep(model, w1.id, [input.output], CONTEXT)))).toBe(
      bytesToHex(honest.leaves[i] as Uint8Array),
    );
  });

  it("keeps the final disputed step within 2^14 constraints on stories15M's shape, and states its gas", () => {
    const shape = PRESETS["15m"]!;
    for (const n of [shape.dim, shape.hiddenDim]) {
      const cost = disputeCost(n, chunkRows(n), n === shape.dim ? shape.hiddenDim : shape.dim, 16);
      expect(cost.constraints).toBeLessThanOrEqual(2 ** 14);
      expect(cost.gas).toBeLessThan(2_000_000);
    }
  });
});

describe("verifiable engine: integer sampling", () => {
  it("is greedy at temperature 0 and reproducible per seed", () => {
    const logits = Int32Array.from({ length: 50 }, (_, i) => (i % 7) * 65536);
    expect(sampleInt(logits, 0, 1, createRng(1))).toBe(6);
    const draw = (seed: number) =>
      Array.from(
        { length: 20 },
        (
          (rng) => () =>
            sampleInt(logits, 1, 0.9, rng)
        )(createRng(seed)),
      );
    expect(draw(3)).toEqual(draw(3));
    expect(new Set(draw(3)).size).toBeGreaterThan(1);
    // Top-p 0.5 keeps only the strongest class (ids ≡ 6 mod 7 hold most of the mass).
    expect(draw(4).every((id) => id % 7 === 6 || id % 7 === 5)).toBe(true);
  });
});
