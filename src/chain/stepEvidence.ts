/**
 * Evidence for the on-chain one-step check (TraceStepVerifier.sol): the protocol's evidence for a leaf
 * (dispute/traceStep.ts: the context and each input's output with its trace path) plus what the contract
 * cannot hold — the model's shape and the weight rows or gains the step reads, each proven against the
 * model root, and, for top-p sampling, the nucleus boundary and the drawn token (cheaper to check than to
 * sort on chain).
 */
import { encodeAbiParameters, type Hex, parseAbiParameters } from "viem";
import type { TraceStepEvidence } from "../protocol/dispute/traceStep.ts";
import { bytesToHex, hexToBytes } from "../protocol/encoding/hex.ts";
import type { IntModel, QuantMatrix } from "../protocol/verifiable/intModel.ts";
import { nucleus, sampleInt, samplingRng, samplingWeights } from "../protocol/verifiable/intSampler.ts";
import { modelLeafIndex, modelLeaves, shapeFields, TENSOR } from "../protocol/verifiable/modelCommitment.ts";
import { decodeInt32, decodeToken, matmulOf } from "../protocol/verifiable/replay.ts";
import { samplingUnits } from "../protocol/verifiable/requestCommitments.ts";
import { LOGITS_PART_ROWS, OP, type StepId, stepAt, TraceTree } from "../protocol/verifiable/trace.ts";

/** The ABI of TraceStepVerifier.Evidence. */
export const STEP_EVIDENCE_ABI = parseAbiParameters(
  "(uint32[8] shape, bytes32[] shapeProof, uint32[] prompt, uint32 temperatureMilli, uint32 topP16, uint32 seed, bytes[] inputs, bytes32[][] inputProofs, bytes weights, bytes32[] weightsProof, bytes hints)",
);

const trees = new WeakMap<IntModel, TraceTree>();

/** The model commitment's tree (built once per model). */
export function modelTreeOf(model: IntModel): TraceTree {
  let tree = trees.get(model);
  if (!tree) {
    tree = new TraceTree(modelLeaves(model));
    trees.set(model, tree);
  }
  return tree;
}

/** The tensor id of each matmul operation's matrix. */
export const MATMUL_TENSOR: Partial<Record<number, number>> = {
  [OP.Q]: TENSOR.WQ,
  [OP.K]: TENSOR.WK,
  [OP.V]: TENSOR.WV,
  [OP.WO]: TENSOR.WO,
  [OP.W1]: TENSOR.W1,
  [OP.W3]: TENSOR.W3,
  [OP.W2]: TENSOR.W2,
};

/** Rows [r0, r1) as the commitment's leaves hold them: scale int32 little-endian, then the int8 row. */
export function packRows(m: QuantMatrix, r0: number, r1: number): Uint8Array {
  const size = 4 + m.cols;
  const out = new Uint8Array((r1 - r0) * size);
  const view = new DataView(out.buffer);
  for (let r = r0; r < r1; r++) {
    view.setInt32((r - r0) * size, m.scale[r] as number, true);
    out.set(new Uint8Array(m.q.buffer, m.q.byteOffset + r * m.cols, m.cols), (r - r0) * size + 4);
  }
  return out;
}

function packGains(g: Int32Array): Uint8Array {
  const out = new Uint8Array(4 * g.length);
  const view = new DataView(out.buffer);
  g.forEach((v, i) => {
    view.setInt32(4 * i, v, true);
  });
  return out;
}

/** The weights a step reads, with their range proof in the model tree (none for most steps). */
function weightsOf(model: IntModel, id: StepId, inputs: readonly Uint8Array[], prompt: readonly number[]) {
  const s = model.shape;
  const tree = modelTreeOf(model);
  const rows = (m: QuantMatrix, tensor: number, layer: number, r0: number, r1: number) => ({
    weights: packRows(m, r0, r1),
    proof: tree.rangeProof(modelLeafIndex(s, tensor, layer, r0), r1 - r0),
  });
  const gains = (g: Int32Array, tensor: number, layer: number) => ({
    weights: packGains(g),
    proof: tree.rangeProof(modelLeafIndex(s, tensor, layer, 0), 1),
  });
  const layer = model.layers[id.layer];
  switch (id.op) {
    case OP.EMBED: {
      const token = id.pos === 0 ? (prompt[0] as number) : decodeToken(inputs[0] as Uint8Array);
      return rows(model.embedding, TENSOR.EMBEDDING, 0, token, token + 1);
    }
    case OP.ATT_NORM:
      return gains((layer as NonNullable<typeof layer>).rmsAtt, TENSOR.RMS_ATT, id.layer);
    case OP.FFN_NORM:
      return gains((layer as NonNullable<typeof layer>).rmsFfn, TENSOR.RMS_FFN, id.layer);
    case OP.FINAL_NORM:
      return gains(model.rmsFinal, TENSOR.RMS_FINAL, 0);
    case OP.LOGITS: {
      const mm = matmulOf(model, id) as NonNullable<ReturnType<typeof matmulOf>>;
      const tensor = s.sharedClassifier ? TENSOR.EMBEDDING : TENSOR.WCLS;
      return rows(mm.w, tensor, 0, mm.r0, mm.r1);
    }
  }
  const tensor = MATMUL_TENSOR[id.op];
  const mm = matmulOf(model, id);
  if (tensor !== undefined && mm) return rows(mm.w, tensor, id.layer, mm.r0, mm.r1);
  return { weights: new Uint8Array(0), proof: [] as Uint8Array[] };
}

/**
 * The hints of a top-p SAMPLE step: the last token the nucleus keeps and the token drawn (the contract
 * checks both in one pass instead of sorting); none when the step does not sample with top-p.
 */
function sampleHints(
  model: IntModel,
  id: StepId,
  inputs: readonly Uint8Array[],
  evidence: TraceStepEvidence,
) {
  const { sampling, prompt } = evidence.context;
  const { temperatureMilli, topP16 } = samplingUnits(sampling);
  if (id.op !== OP.SAMPLE || id.pos + 1 < prompt.length) return [];
  if (temperatureMilli === 0 || topP16 >= 65536) return [];
  const logits = new Int32Array(model.shape.vocabSize);
  inputs.forEach((part, p) => {
    logits.set(decodeInt32(part), p * LOGITS_PART_ROWS);
  });
  const { weights, total } = samplingWeights(logits, temperatureMilli);
  const { order } = nucleus(weights, total, topP16);
  const token = sampleInt(logits, sampling.temperature, sampling.topP, samplingRng(sampling.seed, id.pos));
  return [order[order.length - 1] as number, token];
}

/** Token ids as 4-byte big-endian words (the contract's packed `hints`). */
export function tokenIds(tokens: readonly number[]): Hex {
  const out = new Uint8Array(4 * tokens.length);
  const view = new DataView(out.buffer);
  tokens.forEach((t, i) => {
    view.setUint32(4 * i, t);
  });
  return bytesToHex(out);
}

/** ABI-encoded evidence for `TraceStepVerifier.correctLeaf` at leaf `index`. */
export function encodeStepEvidence(model: IntModel, index: number, evidence: TraceStepEvidence): Hex {
  const s = model.shape;
  const id = stepAt(s, index);
  const inputs = evidence.inputs.map((i) => hexToBytes(i.output));
  const { weights, proof } = weightsOf(model, id, inputs, evidence.context.prompt);
  const units = samplingUnits(evidence.context.sampling);
  return encodeAbiParameters(STEP_EVIDENCE_ABI, [
    {
      shape: shapeFields(s),
      shapeProof: modelTreeOf(model).proof(0).map(bytesToHex),
      prompt: [...evidence.context.prompt],
      temperatureMilli: units.temperatureMilli,
      topP16: units.topP16,
      seed: units.seed,
      inputs: evidence.inputs.map((i) => i.output),
      inputProofs: evidence.inputs.map((i) => [...i.proof]),
      weights: bytesToHex(weights),
      weightsProof: proof.map(bytesToHex),
      hints: tokenIds(sampleHints(model, id, inputs, evidence)),
    },
  ]);
}
