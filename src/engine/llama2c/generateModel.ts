/**
 * Seeded random llama2.c models for running the network without downloaded weights (`verinfer model
 * init`). Weights are N(0, 0.02²) from the project PRNG, norm gains 1; the shapes follow llama2.c's
 * TinyStories presets. The output of such a model is not language.
 */
import { createRng } from "../../protocol/rng/prng.ts";
import type { FloatWeights, TransformerShape } from "../../protocol/verifiable/intModel.ts";
import { shapeOf, writeCheckpoint } from "./checkpoint.ts";

/** Named shapes. `15m` is stories15M's (dim 288, 6 layers, 6 heads, vocab 32000). */
export const PRESETS: Readonly<Record<string, TransformerShape>> = {
  tiny: {
    dim: 64,
    hiddenDim: 172,
    nLayers: 2,
    nHeads: 4,
    nKvHeads: 2,
    vocabSize: 512,
    seqLen: 128,
    sharedClassifier: true,
  },
  small: {
    dim: 128,
    hiddenDim: 344,
    nLayers: 4,
    nHeads: 8,
    nKvHeads: 4,
    vocabSize: 4096,
    seqLen: 256,
    sharedClassifier: true,
  },
  "15m": {
    dim: 288,
    hiddenDim: 768,
    nLayers: 6,
    nHeads: 6,
    nKvHeads: 6,
    vocabSize: 32000,
    seqLen: 256,
    sharedClassifier: true,
  },
};

/** Random weights for a shape. */
export function randomWeights(config: TransformerShape, seed: number): FloatWeights {
  const rng = createRng(seed);
  const { kvDim } = shapeOf(config);
  const { dim, hiddenDim: h, nLayers: L, vocabSize: v } = config;
  const normal = (n: number) => Float32Array.from({ length: n }, () => 0.02 * rng.normal());
  const ones = (n: number) => new Float32Array(n).fill(1);
  const tokenEmbedding = normal(v * dim);
  return {
    tokenEmbedding,
    rmsAtt: ones(L * dim),
    wq: normal(L * dim * dim),
    wk: normal(L * kvDim * dim),
    wv: normal(L * kvDim * dim),
    wo: normal(L * dim * dim),
    rmsFfn: ones(L * dim),
    w1: normal(L * h * dim),
    w2: normal(L * dim * h),
    w3: normal(L * h * dim),
    rmsFinal: ones(dim),
    wcls: config.sharedClassifier ? tokenEmbedding : normal(v * dim),
  };
}

/** A checkpoint file for a preset and seed. */
export function generateCheckpoint(config: TransformerShape, seed: number): Uint8Array {
  return writeCheckpoint(config, randomWeights(config, seed));
}
