/**
 * The commitment to an integer model (docs/spec/verifiable-engine.md §2): an ordered Merkle tree whose
 * leaves are the shape and every weight row — so a dispute that needs a few rows of one matrix proves
 * them with Merkle paths instead of shipping the model.
 *
 *   shape leaf  = H("verinfer-int-model-v1" ‖ 8 × u32 shape fields)
 *   row leaf    = H(tensor u16 ‖ layer u16 ‖ row u32 ‖ scale i32 ‖ int8 row)      (matrices)
 *   gains leaf  = H(tensor u16 ‖ layer u16 ‖ 0 u32 ‖ int32 gains)                  (norm gains)
 *
 * Leaves are ordered: shape, embedding rows, per layer (att gains, wq, wk, wv, wo rows, ffn gains, w1,
 * w2, w3 rows), final gains, and classifier rows when not shared.
 */
import { bytesToHex, type Hex } from "../encoding/hex.ts";
import { keccak256 } from "../encoding/keccak.ts";
import type { IntModel, QuantMatrix, TransformerShape } from "./intModel.ts";
import { type Hash32, merkleRoot } from "./trace.ts";

/** Tensor ids in commitment leaves. */
export const TENSOR = {
  EMBEDDING: 1,
  RMS_ATT: 2,
  WQ: 3,
  WK: 4,
  WV: 5,
  WO: 6,
  RMS_FFN: 7,
  W1: 8,
  W2: 9,
  W3: 10,
  RMS_FINAL: 11,
  WCLS: 12,
} as const;

function header(tensor: number, layer: number, row: number, extra: number): Uint8Array {
  const buf = new Uint8Array(8 + extra);
  const v = new DataView(buf.buffer);
  v.setUint16(0, tensor);
  v.setUint16(2, layer);
  v.setUint32(4, row);
  return buf;
}

/** The leaf of one matrix row. */
export function rowLeaf(
  m: QuantMatrix,
  tensor: number,
  layer: number,
  row: number,
  hash: Hash32 = keccak256,
): Uint8Array {
  const buf = header(tensor, layer, row, 4 + m.cols);
  new DataView(buf.buffer).setInt32(8, m.scale[row] as number, true);
  buf.set(new Uint8Array(m.q.buffer, m.q.byteOffset + row * m.cols, m.cols), 12);
  return hash(buf);
}

function gainsLeaf(g: Int32Array, tensor: number, layer: number, hash: Hash32): Uint8Array {
  const buf = header(tensor, layer, 0, 4 * g.length);
  const v = new DataView(buf.buffer);
  for (const [i, x] of g.entries()) v.setInt32(8 + 4 * i, x, true);
  return hash(buf);
}

/**
 * The index of a tensor row's (or gains') leaf in the commitment: the order of {@link modelLeaves},
 * computed from the shape alone (what the on-chain verifier does; tested equal).
 */
export function modelLeafIndex(s: TransformerShape, tensor: number, layer: number, row: number): number {
  const kvDim = (s.dim / s.nHeads) * s.nKvHeads;
  const perLayer = 2 + 3 * s.dim + 2 * kvDim + 2 * s.hiddenDim;
  const end = 1 + s.vocabSize + s.nLayers * perLayer;
  if (tensor === TENSOR.EMBEDDING) return 1 + row;
  if (tensor === TENSOR.RMS_FINAL) return end;
  if (tensor === TENSOR.WCLS) return end + 1 + row;
  // Within a layer: att gains, wq, wk, wv, wo, ffn gains, w1, w2, w3.
  const sizes: [number, number][] = [
    [TENSOR.RMS_ATT, 1],
    [TENSOR.WQ, s.dim],
    [TENSOR.WK, kvDim],
    [TENSOR.WV, kvDim],
    [TENSOR.WO, s.dim],
    [TENSOR.RMS_FFN, 1],
    [TENSOR.W1, s.hiddenDim],
    [TENSOR.W2, s.dim],
    [TENSOR.W3, s.hiddenDim],
  ];
  let at = 1 + s.vocabSize + layer * perLayer;
  for (const [t, size] of sizes) {
    if (t === tensor) return at + row;
    at += size;
  }
  throw new RangeError(`unknown tensor ${tensor}`);
}

/** The shape leaf's eight u32 fields (the on-chain verifier takes them in this order too). */
export type ShapeFields = [number, number, number, number, number, number, number, number];

/** The shape leaf's eight u32 fields, in order. */
export function shapeFields(s: TransformerShape): ShapeFields {
  return [
    s.dim,
    s.hiddenDim,
    s.nLayers,
    s.nHeads,
    s.nKvHeads,
    s.vocabSize,
    s.seqLen,
    s.sharedClassifier ? 1 : 0,
  ];
}

/** All leaves of the commitment, in order. */
export function modelLeaves(model: IntModel, hash: Hash32 = keccak256): Uint8Array[] {
  const s = model.shape;
  const shape = new Uint8Array(21 + 32);
  shape.set(new TextEncoder().encode("verinfer-int-model-v1"), 0);
  const sv = new DataView(shape.buffer);
  shapeFields(s).forEach((x, i) => {
    sv.setUint32(21 + 4 * i, x);
  });
  const leaves = [hash(shape)];
  const rows = (m: QuantMatrix, tensor: number, layer: number) => {
    for (let r = 0; r < m.rows; r++) leaves.push(rowLeaf(m, tensor, layer, r, hash));
  };
  rows(model.embedding, TENSOR.EMBEDDING, 0);
  model.layers.forEach((l, i) => {
    leaves.push(gainsLeaf(l.rmsAtt, TENSOR.RMS_ATT, i, hash));
    rows(l.wq, TENSOR.WQ, i);
    rows(l.wk, TENSOR.WK, i);
    rows(l.wv, TENSOR.WV, i);
    rows(l.wo, TENSOR.WO, i);
    leaves.push(gainsLeaf(l.rmsFfn, TENSOR.RMS_FFN, i, hash));
    rows(l.w1, TENSOR.W1, i);
    rows(l.w2, TENSOR.W2, i);
    rows(l.w3, TENSOR.W3, i);
  });
  leaves.push(gainsLeaf(model.rmsFinal, TENSOR.RMS_FINAL, 0, hash));
  if (!s.sharedClassifier) rows(model.wcls, TENSOR.WCLS, 0);
  return leaves;
}

/** The model root. */
export function modelRoot(model: IntModel, hash: Hash32 = keccak256): Hex {
  return bytesToHex(merkleRoot(modelLeaves(model, hash), hash));
}
