/**
 * Execution traces of the verifiable engine (docs/spec/verifiable-engine.md §5). Every operation's
 * output is committed by a leaf
 *
 *   leaf = H(pos u32 ‖ layer u16 ‖ op u16 ‖ part u16 ‖ H(output bytes))      (big-endian header)
 *
 * where outputs are int32 little-endian (Q16 vectors), `shift u8 ‖ int16 values` (quantized vectors) or
 * a u32 token (SAMPLE), H is keccak-256, and the classifier's output is cut into parts of 1,024 logits.
 * `traceRoot` is the ordered binary Merkle root of the leaves in execution order, padded with zero
 * leaves to a power of two (spec v2).
 */
import { keccak256 } from "../encoding/keccak.ts";

/** A 32-byte hash function (keccak-256; pluggable so the shell can use a native one). */
export type Hash32 = (data: Uint8Array) => Uint8Array;

/** Operations, in execution order within a layer. */
export const OP = {
  EMBED: 0,
  ATT_NORM: 1,
  ATT_QUANT: 2,
  Q: 3,
  K: 4,
  V: 5,
  Q_ROPE: 6,
  K_ROPE: 7,
  ATTN: 8,
  ATTN_QUANT: 9,
  WO: 10,
  RESID1: 11,
  FFN_NORM: 12,
  FFN_QUANT: 13,
  W1: 14,
  W3: 15,
  SWIGLU: 16,
  SWIGLU_QUANT: 17,
  W2: 18,
  RESID2: 19,
  FINAL_NORM: 20,
  FINAL_QUANT: 21,
  LOGITS: 22,
  /** The token chosen after the position: the next prompt token, or the one sampled from the logits. */
  SAMPLE: 23,
} as const;

/** An operation code. */
export type OpCode = (typeof OP)[keyof typeof OP];

/** Operation names by code. */
export const OP_NAMES: readonly string[] = Object.entries(OP)
  .sort((a, b) => a[1] - b[1])
  .map(([name]) => name.toLowerCase());

/** Logits per classifier part. */
export const LOGITS_PART_ROWS = 1024;

/** Where a step is: position, layer (nLayers for the final ops), operation, part. */
export interface StepId {
  readonly pos: number;
  readonly layer: number;
  readonly op: OpCode;
  readonly part: number;
}

/** Operations of one layer, in execution order (ATT_NORM … RESID2). */
const LAYER_OPS = OP.RESID2 - OP.ATT_NORM + 1;

/**
 * Leaves per position: the embedding, {@link LAYER_OPS} per layer, the final norm and quantization,
 * one per part of the logits, and the token chosen next.
 */
export function stepsPerPosition(shape: { readonly nLayers: number; readonly vocabSize: number }): number {
  return 1 + LAYER_OPS * shape.nLayers + 2 + Math.ceil(shape.vocabSize / LOGITS_PART_ROWS) + 1;
}

/**
 * The step committed by leaf `index` of an execution: leaves are in execution order, so the index
 * alone determines the step (a verifier derives it, never reads it from the party it checks).
 */
export function stepAt(
  shape: { readonly nLayers: number; readonly vocabSize: number },
  index: number,
): StepId {
  const per = stepsPerPosition(shape);
  const pos = Math.floor(index / per);
  const k = index - pos * per;
  if (k === 0) return { pos, layer: 0, op: OP.EMBED, part: 0 };
  if (k <= LAYER_OPS * shape.nLayers) {
    const layer = Math.floor((k - 1) / LAYER_OPS);
    return { pos, layer, op: (OP.ATT_NORM + ((k - 1) % LAYER_OPS)) as OpCode, part: 0 };
  }
  const rest = k - 1 - LAYER_OPS * shape.nLayers;
  if (rest === 0) return { pos, layer: shape.nLayers, op: OP.FINAL_NORM, part: 0 };
  if (rest === 1) return { pos, layer: shape.nLayers, op: OP.FINAL_QUANT, part: 0 };
  if (k === per - 1) return { pos, layer: shape.nLayers, op: OP.SAMPLE, part: 0 };
  return { pos, layer: shape.nLayers, op: OP.LOGITS, part: rest - 2 };
}

/** The leaf index of a step: the inverse of {@link stepAt}. */
export function indexOfStep(
  shape: { readonly nLayers: number; readonly vocabSize: number },
  id: StepId,
): number {
  const base = id.pos * stepsPerPosition(shape);
  switch (id.op) {
    case OP.EMBED:
      return base;
    case OP.FINAL_NORM:
      return base + 1 + LAYER_OPS * shape.nLayers;
    case OP.FINAL_QUANT:
      return base + 2 + LAYER_OPS * shape.nLayers;
    case OP.LOGITS:
      return base + 3 + LAYER_OPS * shape.nLayers + id.part;
    case OP.SAMPLE:
      return base + stepsPerPosition(shape) - 1;
    default:
      return base + 1 + id.layer * LAYER_OPS + (id.op - OP.ATT_NORM);
  }
}

/** "pos 3 layer 1 wo" style label. */
export function stepLabel(id: StepId): string {
  return `pos ${id.pos} layer ${id.layer} ${OP_NAMES[id.op]}${id.op === OP.LOGITS ? ` part ${id.part}` : ""}`;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Little-endian bytes of an int32 vector (a view, no copy, on little-endian hosts). */
export function int32Bytes(v: Int32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const out = new Uint8Array(v.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) view.setInt32(4 * i, v[i] as number, true);
  return out;
}

/** Bytes of a SAMPLE step's output: the token id, u32 little-endian. */
export function tokenBytes(token: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, token, true);
  return out;
}

/** Bytes of a quantized vector: shift u8, then the int16 values little-endian. */
export function quantBytes(a16: Int16Array, shift: number): Uint8Array {
  const out = new Uint8Array(1 + 2 * a16.length);
  out[0] = shift;
  if (LITTLE_ENDIAN) out.set(new Uint8Array(a16.buffer, a16.byteOffset, a16.byteLength), 1);
  else {
    const view = new DataView(out.buffer);
    for (let i = 0; i < a16.length; i++) view.setInt16(1 + 2 * i, a16[i] as number, true);
  }
  return out;
}

/** The leaf committing to a step's output bytes. */
export function leafHash(id: StepId, output: Uint8Array, hash: Hash32 = keccak256): Uint8Array {
  const buf = new Uint8Array(42);
  const view = new DataView(buf.buffer);
  view.setUint32(0, id.pos);
  view.setUint16(4, id.layer);
  view.setUint16(6, id.op);
  view.setUint16(8, id.part);
  buf.set(hash(output), 10);
  return hash(buf);
}

/** The padded tree's depth over `n` leaves: ⌈log₂ n⌉ (0 for a single leaf). */
export function treeDepth(n: number): number {
  let depth = 0;
  while (2 ** depth < n) depth++;
  return depth;
}

const zeroCache = new WeakMap<Hash32, Uint8Array[]>();

/** Roots of all-zero subtrees: `z[0]` is the zero leaf (32 zero bytes), `z[h + 1] = H(z[h] ‖ z[h])`. */
export function zeroHashes(hash: Hash32 = keccak256, upTo = 64): readonly Uint8Array[] {
  let z = zeroCache.get(hash);
  if (!z) {
    z = [new Uint8Array(32)];
    zeroCache.set(hash, z);
  }
  const pair = new Uint8Array(64);
  while (z.length <= upTo) {
    const last = z[z.length - 1] as Uint8Array;
    pair.set(last, 0);
    pair.set(last, 32);
    z.push(hash(pair));
  }
  return z;
}

/**
 * All levels of the ordered binary Merkle tree over `leaves`, padded with zero leaves to a power of two
 * (parent = H(left ‖ right)): `levels[0]` are the leaves, `levels[depth]` the root. Padding is implicit
 * (a missing right node is the zero subtree of its height), so a proof is always `depth` siblings and
 * each index bit says left or right — what a contract verifies.
 */
export class TraceTree {
  readonly depth: number;
  private readonly levels: Uint8Array[][];

  constructor(
    leaves: readonly Uint8Array[],
    readonly hash: Hash32 = keccak256,
  ) {
    this.depth = treeDepth(leaves.length);
    const zeros = zeroHashes(hash, this.depth);
    this.levels = [[...leaves]];
    const pair = new Uint8Array(64);
    for (let h = 0; h < this.depth; h++) {
      const below = this.levels[h] as Uint8Array[];
      const above: Uint8Array[] = new Array(Math.ceil(below.length / 2));
      for (let i = 0; i < above.length; i++) {
        pair.set(below[2 * i] as Uint8Array, 0);
        pair.set(below[2 * i + 1] ?? (zeros[h] as Uint8Array), 32);
        above[i] = hash(pair);
      }
      this.levels.push(above);
    }
  }

  /** Leaves in the tree (without padding). */
  get size(): number {
    return (this.levels[0] as Uint8Array[]).length;
  }

  /** The root (32 zero bytes for an empty tree). */
  get root(): Uint8Array {
    return this.size === 0
      ? new Uint8Array(32)
      : ((this.levels[this.depth] as Uint8Array[])[0] as Uint8Array);
  }

  /** The node at `height` (0 = leaves) and `index` within that level; padding reads as zero subtrees. */
  node(height: number, index: number): Uint8Array {
    return (
      (this.levels[height] as Uint8Array[])[index] ?? (zeroHashes(this.hash, height)[height] as Uint8Array)
    );
  }

  /** Sibling path of leaf `index`, leaf to root (`depth` hashes). */
  proof(index: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let h = 0, i = index; h < this.depth; h++, i >>= 1) out.push(this.node(h, i ^ 1));
    return out;
  }

  /**
   * The siblings that prove leaves [first, first + count) together, leaf level first: per level, the
   * range's left neighbour when it starts on a right child, then its right neighbour when it ends on a
   * left child (the order TraceStepVerifier.verifyRange reads them). About 2·depth hashes for any count.
   */
  rangeProof(first: number, count: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let h = 0, lo = first, hi = first + count - 1; h < this.depth; h++, lo >>= 1, hi >>= 1) {
      if (lo & 1) out.push(this.node(h, lo - 1));
      if ((hi & 1) === 0) out.push(this.node(h, hi + 1));
    }
    return out;
  }
}

/** Root of the padded ordered Merkle tree over `leaves` (see {@link TraceTree}). */
export function merkleRoot(leaves: readonly Uint8Array[], hash: Hash32 = keccak256): Uint8Array {
  return new TraceTree(leaves, hash).root;
}

/** Sibling path of leaf `index` in the padded tree over `leaves`. */
export function merkleProof(
  leaves: readonly Uint8Array[],
  index: number,
  hash: Hash32 = keccak256,
): Uint8Array[] {
  return new TraceTree(leaves, hash).proof(index);
}

/** Checks a sibling path from `leaf` at `index` to `root`; the path's length is the tree's depth. */
export function verifyMerkleProof(
  root: Uint8Array,
  leaf: Uint8Array,
  index: number,
  proof: readonly Uint8Array[],
  hash: Hash32 = keccak256,
): boolean {
  if (!Number.isInteger(index) || index < 0 || index >= 2 ** proof.length) return false;
  let node = leaf;
  const pair = new Uint8Array(64);
  for (let h = 0, i = index; h < proof.length; h++, i >>= 1) {
    const sibling = proof[h] as Uint8Array;
    if (sibling.length !== 32) return false;
    pair.set(i % 2 === 0 ? node : sibling, 0);
    pair.set(i % 2 === 0 ? sibling : node, 32);
    node = hash(pair);
  }
  return equalBytes(node, root);
}

/** Whether two byte strings are equal. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Records leaves as the engine runs. */
export class TraceRecorder {
  readonly leaves: Uint8Array[] = [];
  readonly ids: StepId[] = [];
  constructor(readonly hash: Hash32 = keccak256) {}

  record(id: StepId, output: Uint8Array): void {
    this.ids.push(id);
    this.leaves.push(leafHash(id, output, this.hash));
  }

  root(): Uint8Array {
    return merkleRoot(this.leaves, this.hash);
  }
}

/** Index of the first differing leaf of two traces, or −1 when they agree (on their common length). */
export function firstDivergence(a: readonly Uint8Array[], b: readonly Uint8Array[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as Uint8Array;
    const y = b[i] as Uint8Array;
    for (let k = 0; k < 32; k++) if (x[k] !== y[k]) return i;
  }
  return a.length === b.length ? -1 : n;
}
