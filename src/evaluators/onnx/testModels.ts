/**
 * Small random BERT-shaped ONNX models for tests and benchmarks (no real weights exist here). They
 * take `input_ids`, `attention_mask`, `token_type_ids` and output `last_hidden_state` (bi-encoder) or
 * `logits` (cross-encoder, read from the [CLS] position as real BERT heads do), and come with a
 * TypeScript reference of the same computation.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRng } from "../../protocol/rng/prng.ts";
import { buildOnnxModel, ONNX_FLOAT, ONNX_INT64, type ValueSpec } from "./onnxProto.ts";

/** Weights of a toy encoder: h(t) = tanh((word[id] + type[tt]) · W) · mask. */
export interface ToyWeights {
  readonly vocab: number;
  readonly hidden: number;
  readonly word: Float32Array;
  readonly type: Float32Array;
  readonly w: Float32Array;
  readonly head: Float32Array;
}

/** Seeded random weights. */
export function toyWeights(vocab: number, hidden: number, seed: number): ToyWeights {
  const rng = createRng(seed);
  const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => scale * rng.normal());
  return {
    vocab,
    hidden,
    word: fill(vocab * hidden, 1),
    type: fill(2 * hidden, 0.5),
    w: fill(hidden * hidden, 0.5),
    head: fill(hidden, 1),
  };
}

/** Per-token hidden states of one sequence, computed in TypeScript in float32 steps like the graph. */
export function toyHidden(
  weights: ToyWeights,
  ids: readonly number[],
  typeIds: readonly number[],
): Float32Array[] {
  const { hidden } = weights;
  return ids.map((id, t) => {
    const x = new Float32Array(hidden);
    for (let h = 0; h < hidden; h++)
      x[h] =
        (weights.word[id * hidden + h] as number) +
        (weights.type[(typeIds[t] as number) * hidden + h] as number);
    const y = new Float32Array(hidden);
    for (let j = 0; j < hidden; j++) {
      let s = 0;
      for (let k = 0; k < hidden; k++) s += (x[k] as number) * (weights.w[k * hidden + j] as number);
      y[j] = Math.tanh(s);
    }
    return y;
  });
}

function encoderNodes(weights: ToyWeights) {
  const { vocab, hidden } = weights;
  return {
    initializers: [
      { name: "word", dims: [vocab, hidden], type: ONNX_FLOAT, data: weights.word },
      { name: "typ", dims: [2, hidden], type: ONNX_FLOAT, data: weights.type },
      { name: "W", dims: [hidden, hidden], type: ONNX_FLOAT, data: weights.w },
      { name: "axes", dims: [1], type: ONNX_INT64, data: BigInt64Array.from([-1n]) },
    ] as const,
    nodes: [
      { op: "Gather", inputs: ["word", "input_ids"], outputs: ["we"] },
      { op: "Gather", inputs: ["typ", "token_type_ids"], outputs: ["te"] },
      { op: "Add", inputs: ["we", "te"], outputs: ["x"] },
      { op: "MatMul", inputs: ["x", "W"], outputs: ["xw"] },
      { op: "Tanh", inputs: ["xw"], outputs: ["h"] },
      { op: "Cast", inputs: ["attention_mask"], outputs: ["maskf"], attributes: { to: { int: ONNX_FLOAT } } },
      { op: "Unsqueeze", inputs: ["maskf", "axes"], outputs: ["mask3"] },
      { op: "Mul", inputs: ["h", "mask3"], outputs: ["last_hidden_state"] },
    ],
    inputs: ["input_ids", "attention_mask", "token_type_ids"].map(
      (name): ValueSpec => ({ name, type: ONNX_INT64, shape: ["batch", "sequence"] }),
    ),
  };
}

/** ONNX bytes of the toy bi-encoder. */
export function toyBiEncoderOnnx(weights: ToyWeights): Uint8Array {
  const e = encoderNodes(weights);
  return buildOnnxModel({
    nodes: e.nodes,
    inputs: e.inputs,
    outputs: [{ name: "last_hidden_state", type: ONNX_FLOAT, shape: ["batch", "sequence", weights.hidden] }],
    initializers: e.initializers,
  });
}

/** ONNX bytes of the toy cross-encoder: logits = h([CLS]) · head. */
export function toyCrossEncoderOnnx(weights: ToyWeights): Uint8Array {
  const e = encoderNodes(weights);
  return buildOnnxModel({
    nodes: [
      ...e.nodes,
      {
        op: "Gather",
        inputs: ["last_hidden_state", "cls_index"],
        outputs: ["cls"],
        attributes: { axis: { int: 1 } },
      },
      { op: "MatMul", inputs: ["cls", "head"], outputs: ["logits"] },
    ],
    inputs: e.inputs,
    outputs: [{ name: "logits", type: ONNX_FLOAT, shape: ["batch", 1] }],
    initializers: [
      ...e.initializers,
      { name: "cls_index", dims: [], type: ONNX_INT64, data: BigInt64Array.from([0n]) },
      { name: "head", dims: [weights.hidden, 1], type: ONNX_FLOAT, data: weights.head },
    ],
  });
}

/** Writes a model folder (config.json, tokenizer.json copied from `tokenizerPath`, onnx/model.onnx). */
export function writeModelFolder(
  dir: string,
  onnx: Uint8Array,
  tokenizerPath: string,
  config: Record<string, unknown>,
): string {
  mkdirSync(join(dir, "onnx"), { recursive: true });
  writeFileSync(join(dir, "onnx", "model.onnx"), onnx);
  copyFileSync(tokenizerPath, join(dir, "tokenizer.json"));
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}
