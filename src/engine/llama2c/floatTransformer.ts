/**
 * The float32 forward pass of llama2.c's run.c, in TypeScript: RMSNorm (eps 1e-5), Q/K/V projections,
 * RoPE on adjacent pairs, grouped-query attention over a KV cache, SwiGLU feed-forward, residuals, final
 * norm and classifier. Weights and activations are float32 as in run.c; dot products accumulate in
 * float64 (JavaScript's native precision) and round once when stored, which keeps results within
 * float32 rounding of run.c's and is what makes the loops fast in V8.
 */
import type { FloatWeights, TransformerShape } from "../../protocol/verifiable/intModel.ts";
import type { Checkpoint } from "./checkpoint.ts";
import { shapeOf } from "./checkpoint.ts";
import { createSimdMatvec, type SimdMatvec } from "./simdMatvec.ts";

/** y[i] = Σ_j W[i][j] x[j] for the d×n matrix at `offset` in `w`. */
export function matmul(
  out: Float32Array,
  x: Float32Array,
  w: Float32Array,
  offset: number,
  n: number,
  d: number,
): void {
  for (let i = 0; i < d; i++) {
    const row = offset + i * n;
    let v0 = 0;
    let v1 = 0;
    let v2 = 0;
    let v3 = 0;
    let j = 0;
    // Four independent accumulators let V8 overlap the multiply-adds; summed in a fixed order.
    for (; j + 3 < n; j += 4) {
      v0 += (w[row + j] as number) * (x[j] as number);
      v1 += (w[row + j + 1] as number) * (x[j + 1] as number);
      v2 += (w[row + j + 2] as number) * (x[j + 2] as number);
      v3 += (w[row + j + 3] as number) * (x[j + 3] as number);
    }
    for (; j < n; j++) v0 += (w[row + j] as number) * (x[j] as number);
    out[i] = v0 + v1 + (v2 + v3);
  }
}

/** RMSNorm: o = x / sqrt(mean(x²) + 1e-5) · weight. */
export function rmsnorm(
  out: Float32Array,
  x: Float32Array,
  weight: Float32Array,
  offset: number,
  size: number,
): void {
  let ss = 0;
  for (let j = 0; j < size; j++) ss += (x[j] as number) * (x[j] as number);
  const scale = 1 / Math.sqrt(ss / size + 1e-5);
  for (let j = 0; j < size; j++) out[j] = (weight[offset + j] as number) * (scale * (x[j] as number));
}

/** Softmax in place over the first `size` entries. */
export function softmax(x: Float32Array, size: number): void {
  let max = x[0] as number;
  for (let i = 1; i < size; i++) if ((x[i] as number) > max) max = x[i] as number;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const e = Math.exp((x[i] as number) - max);
    x[i] = e;
    sum += e;
  }
  for (let i = 0; i < size; i++) x[i] = (x[i] as number) / sum;
}

/** A model ready to run, with its KV cache. */
export class FloatTransformer {
  readonly config: TransformerShape;
  private readonly w: FloatWeights;
  private readonly x: Float32Array;
  private readonly xb: Float32Array;
  private readonly xb2: Float32Array;
  private readonly hb: Float32Array;
  private readonly hb2: Float32Array;
  private readonly q: Float32Array;
  private readonly att: Float32Array;
  private readonly logits: Float32Array;
  private readonly keyCache: Float32Array;
  private readonly valueCache: Float32Array;
  private readonly ropeCos: Float32Array;
  private readonly ropeSin: Float32Array;
  private readonly simd: SimdMatvec | null;
  /** Which matmul kernel runs: WebAssembly SIMD when available (and not disabled), else plain TypeScript. */
  readonly kernel: "wasm-simd" | "typescript";

  constructor(checkpoint: Checkpoint, options: { simd?: boolean } = {}) {
    const c = checkpoint.config;
    const { kvDim, headSize } = shapeOf(c);
    this.config = c;
    // With SIMD, weights and buffers live in one WebAssembly memory the kernel reads in place.
    const sizes = {
      x: c.dim,
      xb: c.dim,
      xb2: c.dim,
      hb: c.hiddenDim,
      hb2: c.hiddenDim,
      q: c.dim,
      logits: c.vocabSize,
      keyCache: c.nLayers * c.seqLen * kvDim,
      valueCache: c.nLayers * c.seqLen * kvDim,
    };
    const weights = checkpoint.weights;
    const shared = weights.wcls === weights.tokenEmbedding;
    const tensors = Object.entries(weights).filter(([name]) => !(shared && name === "wcls"));
    const floats = [...Object.values(sizes), ...tensors.map(([, t]) => t.length)].reduce(
      (a, n) => a + Math.ceil(n / 4) * 4,
      0,
    );
    this.simd = options.simd === false ? null : createSimdMatvec(floats * 4);
    this.kernel = this.simd ? "wasm-simd" : "typescript";
    let at = 0;
    const alloc = (n: number): Float32Array => {
      if (!this.simd) return new Float32Array(n);
      const view = new Float32Array(this.simd.memory.buffer, at * 4, n);
      at += Math.ceil(n / 4) * 4;
      return view;
    };
    const placed: Record<string, Float32Array> = {};
    for (const [name, t] of tensors) {
      if (this.simd) {
        placed[name] = alloc(t.length);
        placed[name].set(t);
      } else placed[name] = t;
    }
    if (shared) placed.wcls = placed.tokenEmbedding as Float32Array;
    this.w = placed as unknown as FloatWeights;
    this.x = alloc(sizes.x);
    this.xb = alloc(sizes.xb);
    this.xb2 = alloc(sizes.xb2);
    this.hb = alloc(sizes.hb);
    this.hb2 = alloc(sizes.hb2);
    this.q = alloc(sizes.q);
    this.att = new Float32Array(c.nHeads * c.seqLen);
    this.logits = alloc(sizes.logits);
    this.keyCache = alloc(sizes.keyCache);
    this.valueCache = alloc(sizes.valueCache);
    // run.c computes cos/sin per call in float32; tabulating the same float32 values is equivalent.
    this.ropeCos = new Float32Array(c.seqLen * (headSize / 2));
    this.ropeSin = new Float32Array(c.seqLen * (headSize / 2));
    for (let pos = 0; pos < c.seqLen; pos++) {
      for (let p = 0; p < headSize / 2; p++) {
        const freq = 1 / Math.fround(10000 ** ((2 * p) / headSize));
        const angle = Math.fround(pos * Math.fround(freq));
        this.ropeCos[pos * (headSize / 2) + p] = Math.cos(angle);
        this.ropeSin[pos * (headSize / 2) + p] = Math.sin(angle);
      }
    }
  }

  /** out = W·x for the d×n matrix at `offset` in `w`: the SIMD kernel when shapes allow, else TypeScript. */
  private mm(
    out: Float32Array,
    x: Float32Array,
    w: Float32Array,
    offset: number,
    n: number,
    d: number,
  ): void {
    if (this.simd && n % 4 === 0 && d % 4 === 0) {
      this.simd.matvec(w.byteOffset + offset * 4, x.byteOffset, out.byteOffset, n, d);
    } else matmul(out, x, w, offset, n, d);
  }

  /** Logits after feeding `token` at `pos` (positions must be fed in order from 0). */
  forward(token: number, pos: number): Float32Array {
    const c = this.config;
    const w = this.w;
    const { dim, hiddenDim, nHeads, seqLen } = c;
    const { kvDim, kvMul, headSize } = shapeOf(c);
    const { x, xb, xb2, hb, hb2, q, att } = this;
    x.set(w.tokenEmbedding.subarray(token * dim, (token + 1) * dim));
    const half = headSize / 2;
    for (let l = 0; l < c.nLayers; l++) {
      rmsnorm(xb, x, w.rmsAtt, l * dim, dim);
      const cacheRow = (l * seqLen + pos) * kvDim;
      const k = this.keyCache.subarray(cacheRow, cacheRow + kvDim);
      const v = this.valueCache.subarray(cacheRow, cacheRow + kvDim);
      this.mm(q, xb, w.wq, l * dim * dim, dim, dim);
      this.mm(k, xb, w.wk, l * kvDim * dim, dim, kvDim);
      this.mm(v, xb, w.wv, l * kvDim * dim, dim, kvDim);
      // RoPE: rotate adjacent pairs; q over dim, k over kvDim.
      for (let i = 0; i < dim; i += 2) {
        const t = pos * half + ((i % headSize) >> 1);
        const fcr = this.ropeCos[t] as number;
        const fci = this.ropeSin[t] as number;
        const rotate = (vec: Float32Array) => {
          const v0 = vec[i] as number;
          const v1 = vec[i + 1] as number;
          vec[i] = v0 * fcr - v1 * fci;
          vec[i + 1] = v0 * fci + v1 * fcr;
        };
        rotate(q);
        if (i < kvDim) rotate(k);
      }
      // Multi-head attention over positions 0..pos.
      const scale = 1 / Math.sqrt(headSize);
      for (let h = 0; h < nHeads; h++) {
        const qOff = h * headSize;
        const kvOff = Math.floor(h / kvMul) * headSize;
        const a = att.subarray(h * seqLen, h * seqLen + pos + 1);
        for (let t = 0; t <= pos; t++) {
          const kRow = (l * seqLen + t) * kvDim + kvOff;
          let score = 0;
          for (let i = 0; i < headSize; i++)
            score += (q[qOff + i] as number) * (this.keyCache[kRow + i] as number);
          a[t] = score * scale;
        }
        softmax(a, pos + 1);
        for (let i = 0; i < headSize; i++) xb[qOff + i] = 0;
        for (let t = 0; t <= pos; t++) {
          const vRow = (l * seqLen + t) * kvDim + kvOff;
          const p = a[t] as number;
          for (let i = 0; i < headSize; i++)
            xb[qOff + i] = (xb[qOff + i] as number) + p * (this.valueCache[vRow + i] as number);
        }
      }
      this.mm(xb2, xb, w.wo, l * dim * dim, dim, dim);
      for (let i = 0; i < dim; i++) x[i] = (x[i] as number) + (xb2[i] as number);
      // SwiGLU feed-forward.
      rmsnorm(xb, x, w.rmsFfn, l * dim, dim);
      this.mm(hb, xb, w.w1, l * hiddenDim * dim, dim, hiddenDim);
      this.mm(hb2, xb, w.w3, l * hiddenDim * dim, dim, hiddenDim);
      for (let i = 0; i < hiddenDim; i++) {
        const g = hb[i] as number;
        hb[i] = (g / (1 + Math.exp(-g))) * (hb2[i] as number);
      }
      this.mm(xb, hb, w.w2, l * dim * hiddenDim, hiddenDim, dim);
      for (let i = 0; i < dim; i++) x[i] = (x[i] as number) + (xb[i] as number);
    }
    rmsnorm(x, x, w.rmsFinal, 0, dim);
    this.mm(this.logits, x, w.wcls, 0, dim, c.vocabSize);
    return this.logits;
  }
}
