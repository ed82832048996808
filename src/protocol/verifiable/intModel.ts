/**
 * The verifiable engine's model: int8 weight rows with a per-row integer scale (Q24) and Q16 norm
 * gains, quantized deterministically from a float32 llama2.c model (IEEE-exact float operations only:
 * abs, multiply, divide, round). The integer model, not the float one, is what a worker commits to and
 * what a verifier replays (docs/spec/verifiable-engine.md §2).
 */
import { fail, ok, type Verdict } from "../errors.ts";

/** Model shape (llama2.c's Config), shared by the float and integer engines. */
export interface TransformerShape {
  readonly dim: number;
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly vocabSize: number;
  readonly seqLen: number;
  /** The classifier is the token embedding table. */
  readonly sharedClassifier: boolean;
}

/** Float weights in llama2.c's layout (one flat array per kind, layers concatenated). */
export interface FloatWeights {
  readonly tokenEmbedding: Float32Array; // [vocab][dim]
  readonly rmsAtt: Float32Array; // [L][dim]
  readonly wq: Float32Array; // [L][dim][dim]
  readonly wk: Float32Array; // [L][kvDim][dim]
  readonly wv: Float32Array; // [L][kvDim][dim]
  readonly wo: Float32Array; // [L][dim][dim]
  readonly rmsFfn: Float32Array; // [L][dim]
  readonly w1: Float32Array; // [L][hidden][dim]
  readonly w2: Float32Array; // [L][dim][hidden]
  readonly w3: Float32Array; // [L][hidden][dim]
  readonly rmsFinal: Float32Array; // [dim]
  readonly wcls: Float32Array; // [vocab][dim] (the embedding table when shared)
}

/** A matrix of int8 rows with per-row scales: W[r][c] ≈ q[r·cols + c] · scale[r] / 2^24. */
export interface QuantMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly q: Int8Array;
  readonly scale: Int32Array;
}

/** One layer. Gains are Q16. */
export interface IntLayer {
  readonly rmsAtt: Int32Array;
  readonly wq: QuantMatrix;
  readonly wk: QuantMatrix;
  readonly wv: QuantMatrix;
  readonly wo: QuantMatrix;
  readonly rmsFfn: Int32Array;
  readonly w1: QuantMatrix;
  readonly w2: QuantMatrix;
  readonly w3: QuantMatrix;
}

/** The integer model. */
export interface IntModel {
  readonly shape: TransformerShape;
  readonly embedding: QuantMatrix;
  readonly layers: readonly IntLayer[];
  readonly rmsFinal: Int32Array;
  /** The classifier (the embedding matrix itself when shared). */
  readonly wcls: QuantMatrix;
}

/** Scales must stay below 2^22 so that accumulator × scale stays exact in a double (spec §3). */
export const MAX_ROW_SCALE = 2 ** 22;
/** Longest matmul input (keeps int8·int8 accumulators inside int32). */
export const MAX_MATMUL_INPUT = 32768;

class QuantizeError extends Error {}

function quantizeMatrix(
  w: Float32Array,
  offset: number,
  rows: number,
  cols: number,
  name: string,
): QuantMatrix {
  const q = new Int8Array(rows * cols);
  const scale = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = offset + r * cols;
    let max = 0;
    for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(w[base + c] as number));
    if (max === 0) continue;
    const s = Math.round((max / 127) * 2 ** 24);
    if (s >= MAX_ROW_SCALE)
      throw new QuantizeError(
        `${name} row ${r} has weights up to ${max}; the integer engine supports |w| < ${(MAX_ROW_SCALE * 127) / 2 ** 24}`,
      );
    scale[r] = s;
    for (let c = 0; c < cols; c++) {
      const v = ((w[base + c] as number) * 127) / max;
      // Round half away from zero, clamped to the int8 range used (±127).
      q[r * cols + c] = Math.max(-127, Math.min(127, Math.sign(v) * Math.floor(Math.abs(v) + 0.5)));
    }
  }
  return { rows, cols, q, scale };
}

/** Gains in Q16, saturated at ±(2^28 − 1) (spec §3: gain · normalized value stays below 2^53). */
function quantizeGains(g: Float32Array, offset: number, n: number): Int32Array {
  const m = 2 ** 28 - 1;
  return Int32Array.from({ length: n }, (_, i) =>
    Math.max(-m, Math.min(m, Math.round((g[offset + i] as number) * 65536))),
  );
}

/** Quantizes a float model. Fails when a dimension or a weight is outside the engine's ranges. */
export function quantizeModel(shape: TransformerShape, w: FloatWeights): Verdict<IntModel> {
  const { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize } = shape;
  if (dim > MAX_MATMUL_INPUT || hiddenDim > MAX_MATMUL_INPUT) {
    return fail(
      "MODEL_UNSUPPORTED",
      `the integer engine supports dim and hidden_dim up to ${MAX_MATMUL_INPUT}`,
    );
  }
  const kvDim = (dim * nKvHeads) / nHeads;
  try {
    const embedding = quantizeMatrix(w.tokenEmbedding, 0, vocabSize, dim, "token_embedding");
    const layers: IntLayer[] = [];
    for (let l = 0; l < nLayers; l++) {
      layers.push({
        rmsAtt: quantizeGains(w.rmsAtt, l * dim, dim),
        wq: quantizeMatrix(w.wq, l * dim * dim, dim, dim, `wq[${l}]`),
        wk: quantizeMatrix(w.wk, l * kvDim * dim, kvDim, dim, `wk[${l}]`),
        wv: quantizeMatrix(w.wv, l * kvDim * dim, kvDim, dim, `wv[${l}]`),
        wo: quantizeMatrix(w.wo, l * dim * dim, dim, dim, `wo[${l}]`),
        rmsFfn: quantizeGains(w.rmsFfn, l * dim, dim),
        w1: quantizeMatrix(w.w1, l * hiddenDim * dim, hiddenDim, dim, `w1[${l}]`),
        w2: quantizeMatrix(w.w2, l * dim * hiddenDim, dim, hiddenDim, `w2[${l}]`),
        w3: quantizeMatrix(w.w3, l * hiddenDim * dim, hiddenDim, dim, `w3[${l}]`),
      });
    }
    const wcls = shape.sharedClassifier ? embedding : quantizeMatrix(w.wcls, 0, vocabSize, dim, "wcls");
    return ok({ shape, embedding, layers, rmsFinal: quantizeGains(w.rmsFinal, 0, dim), wcls });
  } catch (e) {
    if (e instanceof QuantizeError) return fail("MODEL_UNSUPPORTED", e.message);
    throw e;
  }
}
