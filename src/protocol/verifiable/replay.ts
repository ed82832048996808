/**
 * Replaying single steps of a verifiable execution (docs/spec/verifiable-engine.md §5–6). A step is
 * recomputed from the outputs of the steps that feed it (each checkable against its own leaf) and the
 * committed weights, with the very operation functions the engine ran; matmul steps can be split into
 * row chunks, so a disputed step shrinks to a few rows of one matrix.
 */
import { bytesToHex } from "../encoding/hex.ts";
import { fail, ok, type Verdict } from "../errors.ts";
import { invSqrtQ16, ropeTables } from "./fixedMath.ts";
import type { IntModel, QuantMatrix } from "./intModel.ts";
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
import { sampleInt, samplingRng } from "./intSampler.ts";
import { IntTransformer } from "./intTransformer.ts";
import {
  type Hash32,
  int32Bytes,
  LOGITS_PART_ROWS,
  leafHash,
  OP,
  quantBytes,
  type StepId,
  stepLabel,
  tokenBytes,
} from "./trace.ts";

/**
 * What a step check knows besides the trace, all bound by the receipt: the prompt's token ids (BOS first;
 * `promptHash`) and the sampling parameters (`paramsHash`).
 */
export interface ExecutionContext {
  readonly prompt: readonly number[];
  readonly sampling: { readonly temperature: number; readonly topP: number; readonly seed: number };
}

/** The shape facts {@link inputsOf} needs. */
export type StepShape = Pick<IntModel["shape"], "nLayers" | "vocabSize">;

/**
 * The steps whose outputs are a step's inputs, in the order {@link computeStep} reads them. The
 * embedding reads the token chosen after the previous position (its SAMPLE step; position 0 reads the
 * prompt's first token); SAMPLE reads the position's logits once the prompt is consumed.
 */
export function inputsOf(id: StepId, shape: StepShape, promptTokens: number): StepId[] {
  const { nLayers } = shape;
  const at = (layer: number, op: StepId["op"], pos = id.pos, part = 0): StepId => ({ pos, layer, op, part });
  const stream = (l: number) => (l === 0 ? at(0, OP.EMBED) : at(l - 1, OP.RESID2));
  const l = id.layer;
  switch (id.op) {
    case OP.EMBED:
      return id.pos === 0 ? [] : [at(nLayers, OP.SAMPLE, id.pos - 1)];
    case OP.SAMPLE: {
      if (id.pos + 1 < promptTokens) return [];
      const parts = Math.ceil(shape.vocabSize / LOGITS_PART_ROWS);
      return Array.from({ length: parts }, (_, p) => at(nLayers, OP.LOGITS, id.pos, p));
    }
    case OP.ATT_NORM:
      return [stream(l)];
    case OP.ATT_QUANT:
      return [at(l, OP.ATT_NORM)];
    case OP.Q:
    case OP.K:
    case OP.V:
      return [at(l, OP.ATT_QUANT)];
    case OP.Q_ROPE:
      return [at(l, OP.Q)];
    case OP.K_ROPE:
      return [at(l, OP.K)];
    case OP.ATTN: {
      const out = [at(l, OP.Q_ROPE)];
      for (let t = 0; t <= id.pos; t++) out.push(at(l, OP.K_ROPE, t), at(l, OP.V, t));
      return out;
    }
    case OP.ATTN_QUANT:
      return [at(l, OP.ATTN)];
    case OP.WO:
      return [at(l, OP.ATTN_QUANT)];
    case OP.RESID1:
      return [stream(l), at(l, OP.WO)];
    case OP.FFN_NORM:
      return [at(l, OP.RESID1)];
    case OP.FFN_QUANT:
      return [at(l, OP.FFN_NORM)];
    case OP.W1:
    case OP.W3:
      return [at(l, OP.FFN_QUANT)];
    case OP.SWIGLU:
      return [at(l, OP.W1), at(l, OP.W3)];
    case OP.SWIGLU_QUANT:
      return [at(l, OP.SWIGLU)];
    case OP.W2:
      return [at(l, OP.SWIGLU_QUANT)];
    case OP.RESID2:
      return [at(l, OP.RESID1), at(l, OP.W2)];
    case OP.FINAL_NORM:
      return [at(nLayers - 1, OP.RESID2)];
    case OP.FINAL_QUANT:
      return [at(nLayers, OP.FINAL_NORM)];
    case OP.LOGITS:
      return [at(nLayers, OP.FINAL_QUANT)];
  }
  return [];
}

/** Decodes int32 output bytes. */
export function decodeInt32(bytes: Uint8Array): Int32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Int32Array.from({ length: bytes.length / 4 }, (_, i) => view.getInt32(4 * i, true));
}

/** Decodes quantized output bytes (shift, int16 values). */
export function decodeQuant(bytes: Uint8Array): { shift: number; values: Int16Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    shift: bytes[0] as number,
    values: Int16Array.from({ length: (bytes.length - 1) / 2 }, (_, i) => view.getInt16(1 + 2 * i, true)),
  };
}

/** The matrix and row range a matmul step uses, or null for other steps. */
export function matmulOf(model: IntModel, id: StepId): { w: QuantMatrix; r0: number; r1: number } | null {
  const layer = model.layers[id.layer];
  const full = (w: QuantMatrix) => ({ w, r0: 0, r1: w.rows });
  switch (id.op) {
    case OP.Q:
      return layer ? full(layer.wq) : null;
    case OP.K:
      return layer ? full(layer.wk) : null;
    case OP.V:
      return layer ? full(layer.wv) : null;
    case OP.WO:
      return layer ? full(layer.wo) : null;
    case OP.W1:
      return layer ? full(layer.w1) : null;
    case OP.W3:
      return layer ? full(layer.w3) : null;
    case OP.W2:
      return layer ? full(layer.w2) : null;
    case OP.LOGITS: {
      const r0 = id.part * LOGITS_PART_ROWS;
      return { w: model.wcls, r0, r1: Math.min(model.wcls.rows, r0 + LOGITS_PART_ROWS) };
    }
  }
  return null;
}

/** The token a SAMPLE step's output bytes name. */
export function decodeToken(bytes: Uint8Array): number {
  if (bytes.length !== 4) throw new RangeError(`a token is 4 bytes, got ${bytes.length}`);
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
}

/**
 * Recomputes a step's output bytes from its inputs' output bytes (in {@link inputsOf} order), the
 * model and the execution context (the prompt and the sampling parameters).
 */
export function computeStep(
  model: IntModel,
  id: StepId,
  inputs: readonly Uint8Array[],
  context: ExecutionContext,
): Uint8Array {
  const s = model.shape;
  const headSize = s.dim / s.nHeads;
  const input = (i: number) => decodeInt32(inputs[i] as Uint8Array);
  const layer = model.layers[id.layer];
  const mm = matmulOf(model, id);
  if (mm) {
    const { shift, values } = decodeQuant(inputs[0] as Uint8Array);
    const out = new Int32Array(mm.r1 - mm.r0);
    matmulRows(out, values, shift, mm.w, mm.r0, mm.r1);
    return int32Bytes(out);
  }
  switch (id.op) {
    case OP.EMBED: {
      const token = id.pos === 0 ? (context.prompt[0] as number) : decodeToken(inputs[0] as Uint8Array);
      if (!(Number.isInteger(token) && token >= 0 && token < s.vocabSize))
        throw new RangeError(`token ${token} is outside the vocabulary (${s.vocabSize})`);
      const x = new Int32Array(s.dim);
      embed(x, model.embedding, token);
      return int32Bytes(x);
    }
    case OP.SAMPLE: {
      if (id.pos + 1 < context.prompt.length) return tokenBytes(context.prompt[id.pos + 1] as number);
      const logits = new Int32Array(model.wcls.rows);
      let at = 0;
      for (const part of inputs) {
        const v = decodeInt32(part);
        logits.set(v, at);
        at += v.length;
      }
      if (at !== logits.length)
        throw new RangeError(`the logits are ${at} values, the model has ${logits.length}`);
      const { temperature, topP, seed } = context.sampling;
      return tokenBytes(sampleInt(logits, temperature, topP, samplingRng(seed, id.pos)));
    }
    case OP.ATT_NORM:
    case OP.FFN_NORM:
    case OP.FINAL_NORM: {
      const gains =
        id.op === OP.FINAL_NORM ? model.rmsFinal : id.op === OP.ATT_NORM ? layer?.rmsAtt : layer?.rmsFfn;
      const out = new Int32Array(s.dim);
      rmsnorm(out, input(0), gains as Int32Array, 0);
      return int32Bytes(out);
    }
    case OP.ATT_QUANT:
    case OP.ATTN_QUANT:
    case OP.FFN_QUANT:
    case OP.SWIGLU_QUANT:
    case OP.FINAL_QUANT: {
      const a = input(0);
      const out = new Int16Array(a.length);
      return quantBytes(out, quantizeActivation(a, out));
    }
    case OP.Q_ROPE:
    case OP.K_ROPE: {
      const v = input(0);
      const t = ropeTables(headSize, s.seqLen);
      rope(v, id.pos, headSize, t.cos, t.sin);
      return int32Bytes(v);
    }
    case OP.ATTN: {
      const q = input(0);
      const keys: Int32Array[] = [];
      const shifts: number[][] = [];
      const values: Int32Array[] = [];
      const kvHeads = s.nKvHeads;
      for (let t = 0; t <= id.pos; t++) {
        const k = input(1 + 2 * t);
        const k16 = new Int32Array(k.length);
        const sh: number[] = [];
        for (let h = 0; h < kvHeads; h++) {
          const part = new Int32Array(headSize);
          sh.push(quantize16(k, h * headSize, headSize, part));
          k16.set(part, h * headSize);
        }
        keys.push(k16);
        shifts.push(sh);
        values.push(input(2 + 2 * t));
      }
      const out = new Int32Array(s.dim);
      const q16 = new Int32Array(headSize);
      const kvMul = s.nHeads / kvHeads;
      for (let h = 0; h < s.nHeads; h++) {
        const kvHead = Math.floor(h / kvMul);
        const qShift = quantize16(q, h * headSize, headSize, q16);
        attentionHead(
          out,
          h * headSize,
          q16,
          qShift,
          keys.map((k) => k.subarray(kvHead * headSize, (kvHead + 1) * headSize)),
          shifts.map((x) => x[kvHead] as number),
          values,
          kvHead * headSize,
          headSize,
          invSqrtQ16(headSize),
        );
      }
      return int32Bytes(out);
    }
    case OP.RESID1:
    case OP.RESID2: {
      const x = input(0);
      residual(x, input(1));
      return int32Bytes(x);
    }
    case OP.SWIGLU: {
      const h1 = input(0);
      const out = new Int32Array(h1.length);
      swiglu(out, h1, input(1));
      return int32Bytes(out);
    }
  }
  throw new RangeError(`unknown operation ${id.op}`);
}

/**
 * Checks a step: the inputs must match their leaves, and the recomputed output the step's leaf.
 * Only the last is a verdict against the claim (TRACE_MISMATCH); evidence that does not fit — the
 * wrong number of inputs, an input that is not its leaf's preimage, a step or token outside the model —
 * is TRACE_MALFORMED and accuses nobody. What this cannot check, the caller binds: `id` is derived
 * from the leaf's index ({@link stepAt}), `context` comes from the receipt (prompt tokens, sampling
 * parameters), and `inputLeaves` and `leaf` are proven against the trace root.
 */
export function checkStep(
  model: IntModel,
  id: StepId,
  inputs: readonly Uint8Array[],
  inputLeaves: readonly Uint8Array[],
  context: ExecutionContext,
  leaf: Uint8Array,
  hash?: Hash32,
): Verdict<Uint8Array> {
  const outside = stepOutsideModel(model, id);
  if (outside) return fail("TRACE_MALFORMED", outside, { field: "step" });
  const badPrompt = context.prompt.findIndex(
    (t) => !(Number.isInteger(t) && t >= 0 && t < model.shape.vocabSize),
  );
  if (context.prompt.length === 0 || badPrompt >= 0)
    return fail("TRACE_MALFORMED", `the prompt must be tokens of the vocabulary (${model.shape.vocabSize})`, {
      field: "prompt",
    });
  const producers = inputsOf(id, model.shape, context.prompt.length);
  if (producers.length !== inputs.length || inputs.length !== inputLeaves.length) {
    return fail(
      "TRACE_MALFORMED",
      `${stepLabel(id)} takes ${producers.length} inputs, ${inputs.length} were given (${inputLeaves.length} leaves)`,
      { field: "inputs" },
    );
  }
  for (const [i, p] of producers.entries()) {
    if (bytesToHex(leafHash(p, inputs[i] as Uint8Array, hash)) !== bytesToHex(inputLeaves[i] as Uint8Array)) {
      return fail(
        "TRACE_MALFORMED",
        `input ${i} of ${stepLabel(id)} does not match the leaf of ${stepLabel(p)}`,
        { field: `inputs.${i}`, input: i },
      );
    }
  }
  let output: Uint8Array;
  try {
    output = computeStep(model, id, inputs, context);
  } catch (error) {
    return fail(
      "TRACE_MALFORMED",
      `the inputs of ${stepLabel(id)} do not fit the model: ${(error as Error).message}`,
      {
        field: "inputs",
      },
    );
  }
  return bytesToHex(leafHash(id, output, hash)) === bytesToHex(leaf)
    ? ok(output)
    : fail(
        "TRACE_MISMATCH",
        `replaying ${stepLabel(id)} does not give its leaf: the step's claimed output is wrong`,
        { step: stepLabel(id) },
      );
}

/** Why a step id names no step of the model's execution, or null when it does. */
export function stepOutsideModel(model: IntModel, id: StepId): string | null {
  const { nLayers, seqLen } = model.shape;
  const final =
    id.op === OP.FINAL_NORM || id.op === OP.FINAL_QUANT || id.op === OP.LOGITS || id.op === OP.SAMPLE;
  const parts = Math.ceil(model.wcls.rows / LOGITS_PART_ROWS);
  if (!(Number.isInteger(id.pos) && id.pos >= 0 && id.pos < seqLen))
    return `position ${id.pos} is outside the context (${seqLen})`;
  if (!(Number.isInteger(id.op) && id.op >= OP.EMBED && id.op <= OP.SAMPLE))
    return `unknown operation ${id.op}`;
  const layer = id.op === OP.EMBED ? 0 : final ? nLayers : null;
  if (
    layer !== null ? id.layer !== layer : !(Number.isInteger(id.layer) && id.layer >= 0 && id.layer < nLayers)
  )
    return `layer ${id.layer} is not a layer of operation ${id.op} in a ${nLayers}-layer model`;
  if (id.op === OP.LOGITS ? !(Number.isInteger(id.part) && id.part >= 0 && id.part < parts) : id.part !== 0)
    return `part ${id.part} is not a part of this step`;
  return null;
}

/** What a chunk check receives: the step's input and claimed output, each with the leaf it must hash to. */
export interface ChunkEvidence {
  readonly input: Uint8Array;
  readonly inputLeaf: Uint8Array;
  readonly claimedOutput: Uint8Array;
  readonly leaf: Uint8Array;
}

/**
 * The smallest dispute: rows [r0, r1) of a matmul step recomputed from its input and compared with
 * those rows of the claimed output. The input must hash to its producer's leaf and the claimed output
 * to the step's leaf (the caller proves both leaves against the trace root); evidence that does not,
 * a chunk outside the step or vectors of the wrong size are TRACE_MALFORMED and accuse nobody. Only a
 * differing row is TRACE_MISMATCH.
 */
export function checkMatmulChunk(
  model: IntModel,
  id: StepId,
  evidence: ChunkEvidence,
  r0: number,
  r1: number,
  hash?: Hash32,
): Verdict<null> {
  const { input, claimedOutput } = evidence;
  const outside = stepOutsideModel(model, id);
  if (outside) return fail("TRACE_MALFORMED", outside, { field: "step" });
  const mm = matmulOf(model, id);
  if (!mm) return fail("TRACE_MALFORMED", `${stepLabel(id)} is not a matmul step`, { field: "step" });
  const rows = mm.r1 - mm.r0;
  if (!(Number.isInteger(r0) && Number.isInteger(r1) && r0 >= 0 && r0 < r1 && r1 <= rows))
    return fail("TRACE_MALFORMED", `rows [${r0}, ${r1}) are not a chunk of ${stepLabel(id)}'s ${rows} rows`, {
      field: "rows",
    });
  if (input.length !== 1 + 2 * mm.w.cols)
    return fail(
      "TRACE_MALFORMED",
      `the input is ${input.length} bytes; ${stepLabel(id)} reads ${1 + 2 * mm.w.cols}`,
      {
        field: "input",
      },
    );
  if (claimedOutput.length !== 4 * rows)
    return fail(
      "TRACE_MALFORMED",
      `the claimed output is ${claimedOutput.length} bytes; ${stepLabel(id)} writes ${4 * rows}`,
      { field: "claimedOutput" },
    );
  // A matmul reads one quantized vector of its own position (the prompt length does not matter here).
  const producer = inputsOf(id, model.shape, 0)[0] as StepId;
  if (bytesToHex(leafHash(producer, input, hash)) !== bytesToHex(evidence.inputLeaf))
    return fail("TRACE_MALFORMED", `the input does not match the leaf of ${stepLabel(producer)}`, {
      field: "input",
    });
  if (bytesToHex(leafHash(id, claimedOutput, hash)) !== bytesToHex(evidence.leaf))
    return fail("TRACE_MALFORMED", `the claimed output does not match the leaf of ${stepLabel(id)}`, {
      field: "claimedOutput",
    });
  const { shift, values } = decodeQuant(input);
  const out = new Int32Array(r1 - r0);
  matmulRows(out, values, shift, mm.w, mm.r0 + r0, mm.r0 + r1);
  const claimed = decodeInt32(claimedOutput);
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== claimed[r0 + i]) {
      return fail(
        "TRACE_MISMATCH",
        `${stepLabel(id)} row ${r0 + i}: claimed ${claimed[r0 + i]}, recomputed ${out[i]}`,
        { row: r0 + i },
      );
    }
  }
  return ok(null);
}

/**
 * Rows per dispute chunk for a matmul with `n` inputs (spec §6): at most 12,000 multiply-accumulates and
 * at most 16,000 circuit constraints (n + 40 per row), so one chunk fits a 2^14-constraint circuit for
 * any n ≤ 16,344.
 */
export function chunkRows(n: number): number {
  return Math.max(1, Math.min(Math.floor(12_000 / n), Math.floor(16_000 / (n + 40))));
}

/**
 * Cost of checking the final disputed step: a chunk of `rows` rows of a matmul with `n` inputs whose
 * claimed output has `outLen` values, given a weight Merkle depth. Constraints count the arithmetic of
 * a circuit (one per multiply-accumulate, 40 per requantized output for the range checks); gas assumes
 * a plain Solidity checker: 16 gas per calldata byte, keccak for the input/output vectors and each
 * weight row's Merkle path, and 60 gas per multiply-accumulate. Estimates, stated in the spec.
 */
export function disputeCost(n: number, rows: number, outLen: number, merkleDepth: number) {
  const macs = rows * n;
  const constraints = macs + 40 * rows;
  const calldata = 1 + 2 * n + 4 * outLen + rows * (n + 4) + rows * merkleDepth * 32;
  const keccakWords =
    Math.ceil((2 * n + 1) / 32) + Math.ceil((4 * outLen) / 32) + rows * Math.ceil((n + 10) / 32);
  const gas =
    21_000 +
    16 * calldata +
    30 * (2 + rows * (1 + merkleDepth)) +
    6 * keccakWords +
    60 * macs +
    200 * rows * merkleDepth;
  return { macs, constraints, calldataBytes: calldata, gas };
}

/**
 * Re-executes a request the way the engine does: the prompt, then `positions − prompt` tokens sampled
 * with the context's parameters (a generator per position), and returns every step's output bytes, in
 * order, with the tokens fed. The trace of an honest worker is exactly this. (Tests pass a transformer
 * with a `fault` set to make a dishonest one.)
 */
export function replayExecution(
  model: IntModel,
  context: ExecutionContext,
  positions: number,
  t: IntTransformer = new IntTransformer(model),
): { steps: { id: StepId; output: Uint8Array }[]; tokens: number[] } {
  const steps: { id: StepId; output: Uint8Array }[] = [];
  t.tap = (id, output) => steps.push({ id, output });
  const tokens: number[] = [];
  let token = context.prompt[0] as number;
  const { temperature, topP, seed } = context.sampling;
  for (let pos = 0; pos < positions; pos++) {
    tokens.push(token);
    const logits = t.forward(token, pos);
    token =
      pos + 1 < context.prompt.length
        ? (context.prompt[pos + 1] as number)
        : sampleInt(logits, temperature, topP, samplingRng(seed, pos));
    t.chose(pos, token);
  }
  return { steps, tokens };
}
