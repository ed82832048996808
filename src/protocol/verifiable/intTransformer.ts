/**
 * The verifiable integer forward pass (docs/spec/verifiable-engine.md §4): llama2.c's architecture in
 * the integer operations of intOps.ts, emitting every operation's output as a trace step. The same
 * operation functions serve replay.ts, so a replayed step is computed by the code that produced it.
 */
import { invSqrtQ16, ropeTables } from "./fixedMath.ts";
import type { IntModel } from "./intModel.ts";
import {
  attentionHead,
  embed,
  matmulRows,
  quantize16,
  quantizeActivation,
  residual,
  rmsnorm,
  rope,
  swiglu,
} from "./intOps.ts";
import {
  type Hash32,
  int32Bytes,
  LOGITS_PART_ROWS,
  OP,
  type OpCode,
  quantBytes,
  type StepId,
  TraceRecorder,
  tokenBytes,
} from "./trace.ts";

/** A deliberately wrong activation, for tests that show the trace pinpoints it. */
export interface Fault {
  readonly pos: number;
  readonly layer: number;
  readonly op: OpCode;
  readonly index: number;
  readonly delta: number;
}

/** Observes every step's output bytes (used to build replay witnesses). */
export type StepTap = (id: StepId, output: Uint8Array) => void;

/** Per-model shape constants. */
function dims(m: IntModel) {
  const s = m.shape;
  const headSize = s.dim / s.nHeads;
  return { ...s, headSize, kvDim: (s.dim * s.nKvHeads) / s.nHeads, kvMul: s.nHeads / s.nKvHeads };
}

/** Integer transformer with a KV cache and an optional trace. */
export class IntTransformer {
  readonly model: IntModel;
  private readonly d: ReturnType<typeof dims>;
  private readonly rope: { cos: Int32Array; sin: Int32Array };
  private readonly attScale: number;
  private keys16: Int32Array[][] = [];
  private keyShifts: number[][][] = [];
  private values: Int32Array[][] = [];
  private recorder: TraceRecorder | null = null;
  private readonly hash: Hash32 | undefined;
  fault: Fault | null = null;
  tap: StepTap | null = null;

  constructor(model: IntModel, hash?: Hash32) {
    this.model = model;
    this.d = dims(model);
    this.rope = ropeTables(this.d.headSize, this.d.seqLen);
    this.attScale = invSqrtQ16(this.d.headSize);
    this.hash = hash;
    this.reset();
  }

  /** Clears the KV cache (a new sequence) and starts a trace when asked. */
  reset(trace = false): void {
    const L = this.d.nLayers;
    this.keys16 = Array.from({ length: L }, () => []);
    this.keyShifts = Array.from({ length: L }, () => []);
    this.values = Array.from({ length: L }, () => []);
    this.recorder = trace ? new TraceRecorder(this.hash) : null;
  }

  /** The trace so far (null when not recording). */
  get trace(): TraceRecorder | null {
    return this.recorder;
  }

  private emit(id: StepId, output: Int32Array | Int16Array, shift?: number): void {
    const f = this.fault;
    if (f && f.pos === id.pos && f.layer === id.layer && f.op === id.op && f.index < output.length) {
      output[f.index] = (output[f.index] as number) + f.delta;
    }
    if (!this.recorder && !this.tap) return;
    const bytes =
      shift === undefined ? int32Bytes(output as Int32Array) : quantBytes(output as Int16Array, shift);
    this.recorder?.record(id, bytes);
    this.tap?.(id, bytes.slice());
  }

  /** Logits (Q16) after feeding `token` at `pos`; positions are fed in order from 0. */
  forward(token: number, pos: number): Int32Array {
    const m = this.model;
    const { dim, hiddenDim, nLayers, nHeads, headSize, kvDim, kvMul } = this.d;
    const step = (layer: number, op: OpCode, part = 0): StepId => ({ pos, layer, op, part });
    const x = new Int32Array(dim);
    embed(x, m.embedding, token);
    this.emit(step(0, OP.EMBED), x);
    const xb = new Int32Array(dim);
    const x8 = new Int16Array(dim);
    const h8 = new Int16Array(hiddenDim);
    for (let l = 0; l < nLayers; l++) {
      const layer = m.layers[l] as IntModel["layers"][number];
      rmsnorm(xb, x, layer.rmsAtt, 0);
      this.emit(step(l, OP.ATT_NORM), xb);
      const kx = quantizeActivation(xb, x8);
      this.emit(step(l, OP.ATT_QUANT), x8, kx);
      const q = new Int32Array(dim);
      const k = new Int32Array(kvDim);
      const v = new Int32Array(kvDim);
      matmulRows(q, x8, kx, layer.wq, 0, dim);
      this.emit(step(l, OP.Q), q);
      matmulRows(k, x8, kx, layer.wk, 0, kvDim);
      this.emit(step(l, OP.K), k);
      matmulRows(v, x8, kx, layer.wv, 0, kvDim);
      this.emit(step(l, OP.V), v);
      rope(q, pos, headSize, this.rope.cos, this.rope.sin);
      this.emit(step(l, OP.Q_ROPE), q);
      rope(k, pos, headSize, this.rope.cos, this.rope.sin);
      this.emit(step(l, OP.K_ROPE), k);
      // The KV cache keeps keys quantized per kv head (the attention op's definition) and values in Q16.
      const k16 = new Int32Array(kvDim);
      const shifts: number[] = [];
      for (let h = 0; h < kvDim / headSize; h++) {
        const part = new Int32Array(headSize);
        shifts.push(quantize16(k, h * headSize, headSize, part));
        k16.set(part, h * headSize);
      }
      (this.keys16[l] as Int32Array[])[pos] = k16;
      (this.keyShifts[l] as number[][])[pos] = shifts;
      (this.values[l] as Int32Array[])[pos] = v;
      const att = new Int32Array(dim);
      this.attend(att, q, l, pos, nHeads, headSize, kvMul);
      this.emit(step(l, OP.ATTN), att);
      const ka = quantizeActivation(att, x8);
      this.emit(step(l, OP.ATTN_QUANT), x8, ka);
      const o = new Int32Array(dim);
      matmulRows(o, x8, ka, layer.wo, 0, dim);
      this.emit(step(l, OP.WO), o);
      residual(x, o);
      this.emit(step(l, OP.RESID1), x);
      rmsnorm(xb, x, layer.rmsFfn, 0);
      this.emit(step(l, OP.FFN_NORM), xb);
      const kf = quantizeActivation(xb, x8);
      this.emit(step(l, OP.FFN_QUANT), x8, kf);
      const h1 = new Int32Array(hiddenDim);
      const h3 = new Int32Array(hiddenDim);
      matmulRows(h1, x8, kf, layer.w1, 0, hiddenDim);
      this.emit(step(l, OP.W1), h1);
      matmulRows(h3, x8, kf, layer.w3, 0, hiddenDim);
      this.emit(step(l, OP.W3), h3);
      const hb = new Int32Array(hiddenDim);
      swiglu(hb, h1, h3);
      this.emit(step(l, OP.SWIGLU), hb);
      const kh = quantizeActivation(hb, h8);
      this.emit(step(l, OP.SWIGLU_QUANT), h8, kh);
      const o2 = new Int32Array(dim);
      matmulRows(o2, h8, kh, layer.w2, 0, dim);
      this.emit(step(l, OP.W2), o2);
      residual(x, o2);
      this.emit(step(l, OP.RESID2), x);
    }
    rmsnorm(xb, x, m.rmsFinal, 0);
    this.emit(step(nLayers, OP.FINAL_NORM), xb);
    const kz = quantizeActivation(xb, x8);
    this.emit(step(nLayers, OP.FINAL_QUANT), x8, kz);
    const logits = new Int32Array(m.wcls.rows);
    for (let p = 0; p * LOGITS_PART_ROWS < logits.length; p++) {
      const r0 = p * LOGITS_PART_ROWS;
      const r1 = Math.min(logits.length, r0 + LOGITS_PART_ROWS);
      const part = logits.subarray(r0, r1);
      matmulRows(part, x8, kz, m.wcls, r0, r1);
      this.emit(step(nLayers, OP.LOGITS, p), part);
    }
    return logits;
  }

  /** Records the SAMPLE step of `pos`: the token chosen after it (next prompt token or sampled). */
  chose(pos: number, token: number): void {
    if (!this.recorder && !this.tap) return;
    const bytes = tokenBytes(token);
    const id = { pos, layer: this.d.nLayers, op: OP.SAMPLE, part: 0 } as StepId;
    this.recorder?.record(id, bytes);
    this.tap?.(id, bytes.slice());
  }

  private attend(
    out: Int32Array,
    q: Int32Array,
    l: number,
    pos: number,
    nHeads: number,
    headSize: number,
    kvMul: number,
  ): void {
    const keys = this.keys16[l] as Int32Array[];
    const shifts = this.keyShifts[l] as number[][];
    const values = (this.values[l] as Int32Array[]).slice(0, pos + 1);
    const q16 = new Int32Array(headSize);
    for (let h = 0; h < nHeads; h++) {
      const kvHead = Math.floor(h / kvMul);
      const qShift = quantize16(q, h * headSize, headSize, q16);
      const headKeys = keys
        .slice(0, pos + 1)
        .map((k) => k.subarray(kvHead * headSize, (kvHead + 1) * headSize));
      const headShifts = shifts.slice(0, pos + 1).map((s) => s[kvHead] as number);
      attentionHead(
        out,
        h * headSize,
        q16,
        qShift,
        headKeys,
        headShifts,
        values,
        kvHead * headSize,
        headSize,
        this.attScale,
      );
    }
  }
}
