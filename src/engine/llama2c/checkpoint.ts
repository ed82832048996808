/**
 * llama2.c checkpoints (../shared/data/llama2c/README.md): the legacy v0 layout (7 int32 header, then
 * float32 tensors in run.c's order) and the v1 float32 export (magic "ak42", 256-byte header). Parsing
 * checks every size against the file, so a truncated or padded file is named as such; writing the v0
 * layout serves `verinfer model init`.
 */
import { fail, ok, type Verdict } from "../../protocol/errors.ts";
import type { FloatWeights, TransformerShape } from "../../protocol/verifiable/intModel.ts";

/** A loaded checkpoint. */
export interface Checkpoint {
  readonly config: TransformerShape;
  readonly weights: FloatWeights;
  readonly format: "llama2c-v0" | "llama2c-v1";
}

const MAGIC = 0x616b3432; // "ak42"
/** Largest checkpoint accepted (a 110M-parameter model in float32 is 440 MB). */
export const MAX_CHECKPOINT_BYTES = 2 ** 31 - 1;

/** Derived sizes. */
export function shapeOf(c: TransformerShape) {
  const headSize = c.dim / c.nHeads;
  const kvDim = (c.dim * c.nKvHeads) / c.nHeads;
  return { headSize, kvDim, kvMul: c.nHeads / c.nKvHeads };
}

/** Tensor sizes in file order (floats). */
function tensorSizes(c: TransformerShape) {
  const { headSize, kvDim } = shapeOf(c);
  const L = c.nLayers;
  return {
    tokenEmbedding: c.vocabSize * c.dim,
    rmsAtt: L * c.dim,
    wq: L * c.dim * c.dim,
    wk: L * kvDim * c.dim,
    wv: L * kvDim * c.dim,
    wo: L * c.dim * c.dim,
    rmsFfn: L * c.dim,
    w1: L * c.hiddenDim * c.dim,
    w2: L * c.dim * c.hiddenDim,
    w3: L * c.hiddenDim * c.dim,
    rmsFinal: c.dim,
    freqCis: c.seqLen * headSize, // legacy real+imag tables, skipped
    wcls: c.sharedClassifier ? 0 : c.vocabSize * c.dim,
  };
}

/** Number of parameters (excluding the skipped RoPE tables). */
export function parameterCount(c: TransformerShape): number {
  const { freqCis: _skip, ...rest } = tensorSizes(c);
  return Object.values(rest).reduce((a, b) => a + b, 0);
}

/** Checks a configuration, reporting every problem. */
export function validateConfig(c: TransformerShape): Verdict<TransformerShape> {
  const problems: string[] = [];
  const positive = (v: number, name: string, max: number) => {
    if (!(Number.isInteger(v) && v > 0 && v <= max))
      problems.push(`${name} must be an integer in 1..${max}, got ${v}`);
  };
  positive(c.dim, "dim", 65536);
  positive(c.hiddenDim, "hidden_dim", 262144);
  positive(c.nLayers, "n_layers", 1024);
  positive(c.nHeads, "n_heads", 1024);
  positive(c.nKvHeads, "n_kv_heads", 1024);
  positive(c.vocabSize, "vocab_size", 1_000_000);
  positive(c.seqLen, "seq_len", 1_000_000);
  if (problems.length === 0) {
    if (c.dim % c.nHeads) problems.push(`dim ${c.dim} is not a multiple of n_heads ${c.nHeads}`);
    if (c.nHeads % c.nKvHeads)
      problems.push(`n_heads ${c.nHeads} is not a multiple of n_kv_heads ${c.nKvHeads}`);
    if ((c.dim / c.nHeads) % 2) problems.push("the head size must be even (RoPE rotates pairs)");
  }
  return problems.length
    ? fail("MODEL_MALFORMED", `invalid model shape: ${problems.join("; ")}`, { problems })
    : ok(c);
}

/** Parses a checkpoint file's bytes. */
export function parseCheckpoint(bytes: Uint8Array): Verdict<Checkpoint> {
  if (bytes.length < 28)
    return fail(
      "MODEL_MALFORMED",
      `a llama2.c checkpoint needs a 28-byte header, the file has ${bytes.length} bytes`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset: number;
  let header: number[];
  let shared: boolean;
  let format: Checkpoint["format"];
  if (view.getUint32(0, true) === MAGIC) {
    const version = view.getInt32(4, true);
    if (version !== 1) {
      return fail(
        "MODEL_UNSUPPORTED",
        `llama2.c export version ${version} is not supported (only float32 v1 and legacy v0; int8 v2 must be converted)`,
      );
    }
    if (bytes.length < 256)
      return fail("MODEL_MALFORMED", "a llama2.c v1 checkpoint needs a 256-byte header");
    header = Array.from({ length: 7 }, (_, i) => view.getInt32(8 + 4 * i, true));
    shared = bytes[36] === 1;
    offset = 256;
    format = "llama2c-v1";
  } else {
    header = Array.from({ length: 7 }, (_, i) => view.getInt32(4 * i, true));
    shared = (header[5] as number) > 0;
    offset = 28;
    format = "llama2c-v0";
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = header as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const config = validateConfig({
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize: Math.abs(vocab),
    seqLen,
    sharedClassifier: shared,
  });
  if (!config.ok) return config;
  const sizes = tensorSizes(config.value);
  const floats = Object.values(sizes).reduce((a, b) => a + b, 0);
  // v1 files carry no RoPE tables.
  const expected = offset + 4 * (format === "llama2c-v1" ? floats - sizes.freqCis : floats);
  if (bytes.length !== expected) {
    return fail(
      "MODEL_MALFORMED",
      `a ${format} checkpoint of this shape has ${expected} bytes, the file has ${bytes.length} (${bytes.length < expected ? "truncated" : "trailing bytes"})`,
      { expected, actual: bytes.length },
    );
  }
  // Float32Array needs 4-byte alignment; file buffers may not be aligned, so copy once if needed.
  const aligned = (bytes.byteOffset + offset) % 4 === 0 ? bytes : Uint8Array.from(bytes);
  const all = new Float32Array(aligned.buffer, aligned.byteOffset + offset, (aligned.length - offset) / 4);
  let at = 0;
  const take = (n: number) => {
    const t = all.subarray(at, at + n);
    at += n;
    return t;
  };
  const tokenEmbedding = take(sizes.tokenEmbedding);
  const weights = {
    tokenEmbedding,
    rmsAtt: take(sizes.rmsAtt),
    wq: take(sizes.wq),
    wk: take(sizes.wk),
    wv: take(sizes.wv),
    wo: take(sizes.wo),
    rmsFfn: take(sizes.rmsFfn),
    w1: take(sizes.w1),
    w2: take(sizes.w2),
    w3: take(sizes.w3),
    rmsFinal: take(sizes.rmsFinal),
  };
  if (format === "llama2c-v0") take(sizes.freqCis);
  const wcls = shared ? tokenEmbedding : take(sizes.wcls);
  for (const [name, t] of Object.entries({ ...weights, wcls })) {
    for (let i = 0; i < t.length; i++) {
      if (!Number.isFinite(t[i] as number))
        return fail("MODEL_MALFORMED", `tensor ${name} holds a non-finite value at ${i}`);
    }
  }
  return ok({ config: config.value, weights: { ...weights, wcls }, format });
}

/** Writes a legacy v0 checkpoint (zeroed RoPE tables, which run.c ignores). */
export function writeCheckpoint(config: TransformerShape, w: FloatWeights): Uint8Array {
  const sizes = tensorSizes(config);
  const floats = Object.values(sizes).reduce((a, b) => a + b, 0);
  const out = new Uint8Array(28 + 4 * floats);
  const view = new DataView(out.buffer);
  const header = [
    config.dim,
    config.hiddenDim,
    config.nLayers,
    config.nHeads,
    config.nKvHeads,
    config.sharedClassifier ? config.vocabSize : -config.vocabSize,
    config.seqLen,
  ];
  header.forEach((v, i) => {
    view.setInt32(4 * i, v, true);
  });
  const all = new Float32Array(out.buffer, 28, floats);
  let at = 0;
  for (const t of [
    w.tokenEmbedding,
    w.rmsAtt,
    w.wq,
    w.wk,
    w.wv,
    w.wo,
    w.rmsFfn,
    w.w1,
    w.w2,
    w.w3,
    w.rmsFinal,
  ]) {
    all.set(t, at);
    at += t.length;
  }
  at += sizes.freqCis;
  if (!config.sharedClassifier) all.set(w.wcls, at);
  return out;
}
