/**
 * Converts llama2.c checkpoints to GGUF v3 (llama architecture, F32 tensors) so llama.cpp runs the same
 * model: metadata of the `llama` architecture, the tokenizer as an SPM (`llama`) vocabulary, and the
 * tensors under llama.cpp's names. llama2.c stores Q and K in Meta's original layout — RoPE on
 * adjacent pairs, which is llama.cpp's "normal" rope for this architecture — so no permutation is
 * needed (HF checkpoints need one; these do not).
 */
import { type Checkpoint, shapeOf } from "../llama2c/checkpoint.ts";
import type { Tokenizer } from "../llama2c/tokenizer.ts";

const ALIGNMENT = 32;
const TYPE = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9 } as const;
/** llama.cpp token types. */
const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, BYTE: 6 } as const;

type Value =
  | { type: "u32"; value: number }
  | { type: "f32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "strings"; value: readonly Uint8Array[] }
  | { type: "f32s"; value: ArrayLike<number> }
  | { type: "i32s"; value: ArrayLike<number> };

/** A growable little-endian byte writer. */
class Writer {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private ensure(n: number) {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u32(v: number) {
    this.ensure(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number) {
    this.ensure(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  u64(v: number) {
    this.ensure(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  f32(v: number) {
    this.ensure(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  bytes(b: Uint8Array) {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  string(s: string | Uint8Array) {
    const b = typeof s === "string" ? new TextEncoder().encode(s) : s;
    this.u64(b.length);
    this.bytes(b);
  }
  pad(to: number) {
    const n = (to - (this.length % to)) % to;
    this.ensure(n);
    this.length += n;
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

function writeValue(w: Writer, v: Value) {
  switch (v.type) {
    case "u32":
      w.u32(TYPE.UINT32);
      w.u32(v.value);
      return;
    case "f32":
      w.u32(TYPE.FLOAT32);
      w.f32(v.value);
      return;
    case "bool":
      w.u32(TYPE.BOOL);
      w.bytes(Uint8Array.of(v.value ? 1 : 0));
      return;
    case "string":
      w.u32(TYPE.STRING);
      w.string(v.value);
      return;
    case "strings":
      w.u32(TYPE.ARRAY);
      w.u32(TYPE.STRING);
      w.u64(v.value.length);
      for (const s of v.value) w.string(s);
      return;
    case "f32s":
      w.u32(TYPE.ARRAY);
      w.u32(TYPE.FLOAT32);
      w.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) w.f32(v.value[i] as number);
      return;
    case "i32s":
      w.u32(TYPE.ARRAY);
      w.u32(TYPE.INT32);
      w.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) w.i32(v.value[i] as number);
      return;
  }
}

/** The GGUF vocabulary of a llama2.c tokenizer: pieces, scores and types. */
function vocabulary(t: Tokenizer) {
  const tokens: Uint8Array[] = [];
  const types: number[] = [];
  t.pieces.forEach((piece, i) => {
    const bytes = Uint8Array.from(piece, (c) => c.charCodeAt(0));
    if (i === 0) {
      tokens.push(new TextEncoder().encode("<unk>"));
      types.push(TOKEN_TYPE.UNKNOWN);
    } else if (i === 1 || i === 2) {
      tokens.push(new TextEncoder().encode(i === 1 ? "<s>" : "</s>"));
      types.push(TOKEN_TYPE.CONTROL);
    } else if (/^<0x[0-9A-Fa-f]{2}>$/.test(piece)) {
      tokens.push(bytes);
      types.push(TOKEN_TYPE.BYTE);
    } else {
      // SentencePiece marks word starts with U+2581 where llama2.c stores a space.
      tokens.push(new TextEncoder().encode(new TextDecoder().decode(bytes).replaceAll(" ", "\u2581")));
      types.push(TOKEN_TYPE.NORMAL);
    }
  });
  return { tokens, types };
}

/** A llama2.c model as a GGUF file; a Jinja chat template, when given, is stored for chat requests. */
export function toGguf(
  checkpoint: Checkpoint,
  tokenizer: Tokenizer,
  name: string,
  options: { readonly chatTemplate?: string | undefined } = {},
): Uint8Array {
  const c = checkpoint.config;
  const w = checkpoint.weights;
  const { headSize, kvDim } = shapeOf(c);
  const vocab = vocabulary(tokenizer);
  const metadata: [string, Value][] = [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: name }],
    ["general.alignment", { type: "u32", value: ALIGNMENT }],
    ["llama.context_length", { type: "u32", value: c.seqLen }],
    ["llama.embedding_length", { type: "u32", value: c.dim }],
    ["llama.block_count", { type: "u32", value: c.nLayers }],
    ["llama.feed_forward_length", { type: "u32", value: c.hiddenDim }],
    ["llama.rope.dimension_count", { type: "u32", value: headSize }],
    ["llama.attention.head_count", { type: "u32", value: c.nHeads }],
    ["llama.attention.head_count_kv", { type: "u32", value: c.nKvHeads }],
    ["llama.attention.layer_norm_rms_epsilon", { type: "f32", value: 1e-5 }],
    ["llama.rope.freq_base", { type: "f32", value: 10000 }],
    ["llama.vocab_size", { type: "u32", value: c.vocabSize }],
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "strings", value: vocab.tokens }],
    ["tokenizer.ggml.scores", { type: "f32s", value: tokenizer.scores }],
    ["tokenizer.ggml.token_type", { type: "i32s", value: vocab.types }],
    ["tokenizer.ggml.unknown_token_id", { type: "u32", value: 0 }],
    ["tokenizer.ggml.bos_token_id", { type: "u32", value: 1 }],
    ["tokenizer.ggml.eos_token_id", { type: "u32", value: 2 }],
    ["tokenizer.ggml.add_bos_token", { type: "bool", value: true }],
  ];
  if (options.chatTemplate !== undefined)
    metadata.push(["tokenizer.chat_template", { type: "string", value: options.chatTemplate }]);
  // [name, data, dims (llama.cpp order: innermost first)]
  const tensors: [string, Float32Array, number[]][] = [
    ["token_embd.weight", w.tokenEmbedding, [c.dim, c.vocabSize]],
  ];
  const L = (t: Float32Array, l: number, n: number) => t.subarray(l * n, (l + 1) * n);
  for (let l = 0; l < c.nLayers; l++) {
    tensors.push(
      [`blk.${l}.attn_norm.weight`, L(w.rmsAtt, l, c.dim), [c.dim]],
      [`blk.${l}.attn_q.weight`, L(w.wq, l, c.dim * c.dim), [c.dim, c.dim]],
      [`blk.${l}.attn_k.weight`, L(w.wk, l, kvDim * c.dim), [c.dim, kvDim]],
      [`blk.${l}.attn_v.weight`, L(w.wv, l, kvDim * c.dim), [c.dim, kvDim]],
      [`blk.${l}.attn_output.weight`, L(w.wo, l, c.dim * c.dim), [c.dim, c.dim]],
      [`blk.${l}.ffn_norm.weight`, L(w.rmsFfn, l, c.dim), [c.dim]],
      [`blk.${l}.ffn_gate.weight`, L(w.w1, l, c.hiddenDim * c.dim), [c.dim, c.hiddenDim]],
      [`blk.${l}.ffn_down.weight`, L(w.w2, l, c.dim * c.hiddenDim), [c.hiddenDim, c.dim]],
      [`blk.${l}.ffn_up.weight`, L(w.w3, l, c.hiddenDim * c.dim), [c.dim, c.hiddenDim]],
    );
  }
  tensors.push(["output_norm.weight", w.rmsFinal, [c.dim]]);
  // The classifier is written even when shared, so every llama.cpp version finds it.
  tensors.push(["output.weight", w.wcls, [c.dim, c.vocabSize]]);

  const out = new Writer();
  out.bytes(new TextEncoder().encode("GGUF"));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(metadata.length);
  for (const [key, value] of metadata) {
    out.string(key);
    writeValue(out, value);
  }
  let offset = 0;
  for (const [name, data, dims] of tensors) {
    out.string(name);
    out.u32(dims.length);
    for (const d of dims) out.u64(d);
    out.u32(0); // GGML_TYPE_F32
    out.u64(offset);
    offset += Math.ceil((data.length * 4) / ALIGNMENT) * ALIGNMENT;
  }
  out.pad(ALIGNMENT);
  for (const [, data] of tensors) {
    out.bytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    out.pad(ALIGNMENT);
  }
  return out.result();
}
