/**
 * The slice a ZK spot-check proves (docs/spec/spotcheck.md): SLICE_ROWS consecutive output rows of one
 * matmul step of the verifiable engine, chosen by the obligation's selector, and the Poseidon commitment
 * of every value those rows read or produce. circuits/matmulSlice.circom computes the same rows and the
 * same commitment; contracts/src/zk/SliceCommitment.sol recomputes the commitment on chain when anyone
 * challenges a proof's binding.
 */
import { poseidon16 } from "poseidon-lite/poseidon16";
import type { IntModel, QuantMatrix, TransformerShape } from "../verifiable/intModel.ts";
import { ACT_BITS, matmulRows } from "../verifiable/intOps.ts";
import { decodeQuant, matmulOf } from "../verifiable/replay.ts";
import { indexOfStep, OP, type OpCode } from "../verifiable/trace.ts";

/** The circuit's input length (stories15M's dim; shorter inputs are zero-padded) and rows per slice. */
export const SLICE_INPUTS = 288;
export const SLICE_ROWS = 3;
/** The largest input shift the circuit takes (matmul inputs are saturated at 2^24, so k ≤ 10). */
export const SLICE_MAX_SHIFT = 15;

/** The matmul operations a slice may come from, each with the step that quantizes its input. */
export const SLICE_OPS: readonly { readonly op: OpCode; readonly input: OpCode }[] = [
  { op: OP.Q, input: OP.ATT_QUANT },
  { op: OP.K, input: OP.ATT_QUANT },
  { op: OP.V, input: OP.ATT_QUANT },
  { op: OP.WO, input: OP.ATTN_QUANT },
  { op: OP.W1, input: OP.FFN_QUANT },
  { op: OP.W3, input: OP.FFN_QUANT },
];

/** Which rows a slice proves: rows [row0, row0 + SLICE_ROWS) of `op` in `layer` at position `pos`. */
export interface SliceId {
  readonly pos: number;
  readonly layer: number;
  readonly op: OpCode;
  /** The step whose output (int16 values and shift) is the matmul's input. */
  readonly input: OpCode;
  readonly row0: number;
}

/** The output rows of a slice operation. */
export function sliceOpRows(shape: TransformerShape, op: OpCode): number {
  const kvDim = (shape.dim * shape.nKvHeads) / shape.nHeads;
  if (op === OP.K || op === OP.V) return kvDim;
  if (op === OP.W1 || op === OP.W3) return shape.hiddenDim;
  return shape.dim;
}

/** Why a model's receipts cannot be spot-checked by this circuit, or null when they can. */
export function sliceUnsupported(shape: TransformerShape): string | null {
  if (shape.dim > SLICE_INPUTS)
    return `the model's dim ${shape.dim} exceeds the circuit's ${SLICE_INPUTS} inputs`;
  for (const { op } of SLICE_OPS)
    if (sliceOpRows(shape, op) < SLICE_ROWS) return `a matmul has fewer than ${SLICE_ROWS} rows`;
  return null;
}

/**
 * The slice a selector picks among every (position, layer, operation, block of rows) of a receipt with
 * `positions` positions: successive remainders of the selector as a uint256 (the bias is below 2^−200).
 * The last block of an operation whose rows are not a multiple of SLICE_ROWS overlaps the one before.
 */
export function sliceOf(shape: TransformerShape, positions: number, selector: bigint): SliceId {
  let s = selector;
  const take = (n: number): number => {
    const v = Number(s % BigInt(n));
    s /= BigInt(n);
    return v;
  };
  const pos = take(positions);
  const layer = take(shape.nLayers);
  const { op, input } = SLICE_OPS[take(SLICE_OPS.length)] as (typeof SLICE_OPS)[number];
  const rows = sliceOpRows(shape, op);
  const block = take(Math.ceil(rows / SLICE_ROWS));
  return { pos, layer, op, input, row0: Math.min(block * SLICE_ROWS, rows - SLICE_ROWS) };
}

/** Every value a slice reads or produces. */
export interface SliceValues {
  /** The input shift and int16 input (length ≤ SLICE_INPUTS). */
  readonly k: number;
  readonly a: Int16Array;
  /** SLICE_ROWS int8 weight rows (each as long as `a`), their Q24 scales and the rows' outputs. */
  readonly q: readonly Int8Array[];
  readonly scale: readonly number[];
  readonly y: readonly number[];
}

/** The matrix of a slice operation in a layer. */
export function sliceMatrix(model: IntModel, layer: number, op: OpCode): QuantMatrix {
  const m = SLICE_OPS.some((o) => o.op === op) ? matmulOf(model, { pos: 0, layer, op, part: 0 }) : null;
  if (!m) throw new RangeError(`operation ${op} of layer ${layer} is not a slice operation`);
  return m.w;
}

/** The values of rows [row0, row0 + SLICE_ROWS) of `w` on the input (a16, k), the outputs computed. */
export function sliceValues(w: QuantMatrix, a16: Int16Array, k: number, row0: number): SliceValues {
  if (a16.length !== w.cols)
    throw new RangeError(`input of ${a16.length} values for a ${w.cols}-column matrix`);
  const out = new Int32Array(SLICE_ROWS);
  matmulRows(out, a16, k, w, row0, row0 + SLICE_ROWS);
  const rows = Array.from({ length: SLICE_ROWS }, (_, r) => row0 + r);
  return {
    k,
    a: a16,
    q: rows.map((r) => w.q.subarray(r * w.cols, (r + 1) * w.cols)),
    scale: rows.map((r) => w.scale[r] as number),
    y: Array.from(out),
  };
}

/**
 * A slice of a trace: its values, taken from the trace's outputs (the matmul's quantized input) and the
 * model (the rows), the outputs computed; and the leaf indices of the input step and the matmul step.
 */
export function tracedSlice(
  model: IntModel,
  outputs: readonly Uint8Array[],
  id: SliceId,
): { values: SliceValues; inputIndex: number; outputIndex: number } {
  const inputIndex = indexOfStep(model.shape, { pos: id.pos, layer: id.layer, op: id.input, part: 0 });
  const outputIndex = indexOfStep(model.shape, { pos: id.pos, layer: id.layer, op: id.op, part: 0 });
  const input = decodeQuant(outputs[inputIndex] as Uint8Array);
  const w = sliceMatrix(model, id.layer, id.op);
  return { values: sliceValues(w, input.values, input.shift, id.row0), inputIndex, outputIndex };
}

/** Packs `values` (each already offset to [0, 2^bits)) `per` to a field element, little-endian. */
function pack(
  values: ArrayLike<number>,
  offset: number,
  bits: number,
  per: number,
  length: number,
): bigint[] {
  const out: bigint[] = [];
  for (let e = 0; e * per < length; e++) {
    let v = 0n;
    for (let i = per - 1; i >= 0; i--) {
      const j = e * per + i;
      const x = j < values.length ? (values[j] as number) : 0;
      v = (v << BigInt(bits)) | BigInt(j < length ? x + offset : 0);
    }
    out.push(v);
  }
  return out;
}

/**
 * The committed elements (spec §2): the header N + 2^16·R + 2^32·k; the input, zero-padded to N, as
 * 16-bit values a + 2^15, 15 per element; per row its int8 weights (zero-padded) as q + 2^7, 31 per
 * element, then scale + 2^22·(y + 2^24).
 */
export function sliceElements(v: SliceValues): bigint[] {
  const n = SLICE_INPUTS;
  const out = [
    BigInt(n) + (BigInt(SLICE_ROWS) << 16n) + (BigInt(v.k) << 32n),
    ...pack(v.a, 32768, 16, 15, n),
  ];
  for (let r = 0; r < SLICE_ROWS; r++) {
    out.push(...pack(v.q[r] as Int8Array, 128, 8, 31, n));
    out.push(BigInt(v.scale[r] as number) + (BigInt((v.y[r] as number) + 2 ** ACT_BITS) << 22n));
  }
  return out;
}

/** The slice commitment: h ← Poseidon(h, 15 elements) over blocks of elements, zero-padded, from h = 0. */
export function sliceCommitment(v: SliceValues): bigint {
  const elements = sliceElements(v);
  let h = 0n;
  for (let b = 0; b * 15 < elements.length; b++) {
    const block = Array.from({ length: 15 }, (_, i) => elements[15 * b + i] ?? 0n);
    h = poseidon16([h, ...block]);
  }
  return h;
}
