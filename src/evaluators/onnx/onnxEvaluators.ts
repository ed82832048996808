/**
 * ONNX bi-encoder and cross-encoder evaluators on onnxruntime-node. A model folder holds
 * `config.json`, `tokenizer.json` and `onnx/model.onnx` (or `model.onnx`), as exported by Hugging Face
 * Optimum / sentence-transformers. Bi-encoders: attention-masked mean pooling of `last_hidden_state`
 * (or a ready `sentence_embedding`), L2 normalization, score = 10 × max(0, cosine). Cross-encoders:
 * `logits` of (reference, output) pairs; one logit → sigmoid (or identity when the config says so),
 * NLI heads → P(entailment); score = 10 × probability.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import * as ort from "onnxruntime-node";
import { readJsonFile } from "../../data/files.ts";
import { VerinferError } from "../../errors.ts";
import type { PoqScoringParams } from "../../protocol/params/params.ts";
import {
  type EvaluationInput,
  type EvaluationScore,
  type Evaluator,
  referencesOf,
} from "../../protocol/poq/evaluator.ts";
import { assertEvaluationInput, assertScore } from "../timedEvaluator.ts";
import { type Encoding, loadWordPieceTokenizer, type WordPieceTokenizer } from "./wordPiece.ts";

/** The files of an exported model. */
export interface OnnxModelFolder {
  readonly dir: string;
  readonly config: Record<string, unknown>;
  readonly tokenizerPath: string;
  readonly modelPath: string;
}

/** Finds and checks the files of a model folder, naming whatever is missing. */
export function locateOnnxModel(dir: string): OnnxModelFolder {
  if (!existsSync(dir))
    throw new VerinferError("EVALUATOR_MODEL_INVALID", `model folder not found: ${dir}`, { dir });
  const modelPath = [join(dir, "onnx", "model.onnx"), join(dir, "model.onnx")].find(existsSync);
  const tokenizerPath = join(dir, "tokenizer.json");
  const configPath = join(dir, "config.json");
  const missing = [
    ...(modelPath ? [] : ["onnx/model.onnx"]),
    ...(existsSync(tokenizerPath) ? [] : ["tokenizer.json"]),
    ...(existsSync(configPath) ? [] : ["config.json"]),
  ];
  if (missing.length > 0) {
    throw new VerinferError("EVALUATOR_MODEL_INVALID", `model folder ${dir} lacks ${missing.join(", ")}`, {
      dir,
      missing,
    });
  }
  const config = readJsonFile(configPath);
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new VerinferError("EVALUATOR_MODEL_INVALID", `${configPath} must be a JSON object`, {
      file: configPath,
    });
  }
  return { dir, config: config as Record<string, unknown>, tokenizerPath, modelPath: modelPath as string };
}

async function openSession(folder: OnnxModelFolder): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(folder.modelPath, { graphOptimizationLevel: "all" });
  } catch (error) {
    throw new VerinferError(
      "EVALUATOR_MODEL_INVALID",
      `cannot load ${folder.modelPath}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
      { file: folder.modelPath },
    );
  }
}

/** Pads a batch of encodings into int64 feeds with the names the session declares. */
function feeds(
  session: ort.InferenceSession,
  batch: readonly Encoding[],
  padId: number,
): Record<string, ort.Tensor> {
  const length = Math.max(...batch.map((e) => e.ids.length));
  const size = batch.length * length;
  const ids = new BigInt64Array(size).fill(BigInt(padId));
  const mask = new BigInt64Array(size);
  const types = new BigInt64Array(size);
  batch.forEach((e, b) => {
    e.ids.forEach((id, t) => {
      ids[b * length + t] = BigInt(id);
      mask[b * length + t] = 1n;
      types[b * length + t] = BigInt(e.typeIds[t] as number);
    });
  });
  const dims = [batch.length, length];
  const all: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor("int64", ids, dims),
    attention_mask: new ort.Tensor("int64", mask, dims),
    token_type_ids: new ort.Tensor("int64", types, dims),
  };
  const out: Record<string, ort.Tensor> = {};
  for (const name of session.inputNames) {
    const tensor = all[name];
    if (!tensor) {
      throw new VerinferError(
        "EVALUATOR_MODEL_INVALID",
        `model input "${name}" is not one of input_ids, attention_mask, token_type_ids`,
        {
          input: name,
        },
      );
    }
    out[name] = tensor;
  }
  if (!out.input_ids) throw new VerinferError("EVALUATOR_MODEL_INVALID", "model has no input_ids input", {});
  return out;
}

function requireOutput(session: ort.InferenceSession, candidates: readonly string[], what: string): string {
  const found = candidates.find((c) => session.outputNames.includes(c));
  if (!found) {
    throw new VerinferError(
      "EVALUATOR_MODEL_INVALID",
      `${what} model must output one of ${candidates.join(", ")}; it outputs ${session.outputNames.join(", ")}`,
      { outputs: session.outputNames },
    );
  }
  return found;
}

/** Options of model-backed ONNX evaluators. */
export interface OnnxOptions {
  readonly batchSize?: number;
}

function modelName(folder: OnnxModelFolder): string {
  const name = folder.config._name_or_path;
  return typeof name === "string" && name.length > 0 ? name : folder.dir;
}

/** Sentence embeddings of texts (unit vectors), batched by similar length. */
async function embed(
  session: ort.InferenceSession,
  tokenizer: WordPieceTokenizer,
  output: string,
  texts: readonly string[],
  batchSize: number,
): Promise<Float32Array[]> {
  const order = texts
    .map((_, i) => i)
    .sort((a, b) => (texts[a] as string).length - (texts[b] as string).length);
  const result: Float32Array[] = new Array(texts.length);
  for (let lo = 0; lo < order.length; lo += batchSize) {
    const idx = order.slice(lo, lo + batchSize);
    const encodings = idx.map((i) => tokenizer.encode(texts[i] as string));
    const run = await session.run(feeds(session, encodings, tokenizer.padId));
    const tensor = run[output] as ort.Tensor;
    const data = tensor.data as Float32Array;
    const dims = tensor.dims;
    idx.forEach((textIndex, b) => {
      let vector: Float32Array;
      if (dims.length === 2) {
        const hidden = dims[1] as number;
        vector = data.slice(b * hidden, (b + 1) * hidden);
      } else {
        const seq = dims[1] as number;
        const hidden = dims[2] as number;
        vector = new Float32Array(hidden);
        const tokens = (encodings[b] as Encoding).ids.length;
        for (let t = 0; t < tokens; t++) {
          for (let h = 0; h < hidden; h++)
            vector[h] = (vector[h] as number) + (data[(b * seq + t) * hidden + h] as number);
        }
        for (let h = 0; h < hidden; h++) vector[h] = (vector[h] as number) / tokens;
      }
      let norm = 0;
      for (const v of vector) norm += v * v;
      norm = Math.sqrt(norm) || 1;
      for (let h = 0; h < vector.length; h++) vector[h] = (vector[h] as number) / norm;
      result[textIndex] = vector;
    });
  }
  return result;
}

function batchEvaluator(
  info: Evaluator["info"],
  params: Pick<PoqScoringParams, "maxTextChars">,
  scoreValid: (inputs: readonly EvaluationInput[]) => Promise<number[]>,
  release: () => Promise<void>,
): Evaluator {
  const scoreBatch = async (inputs: readonly EvaluationInput[]): Promise<EvaluationScore[]> => {
    for (const input of inputs) assertEvaluationInput(input, { info }, params);
    const start = performance.now();
    const raw = await scoreValid(inputs);
    const costMs = (performance.now() - start) / Math.max(inputs.length, 1);
    return raw.map((r) => ({ score: assertScore(info.name, r), costMs }));
  };
  return {
    info,
    scoreBatch,
    score: async (input) => (await scoreBatch([input]))[0] as EvaluationScore,
    close: release,
  };
}

/** A loaded model folder: files, tokenizer and inference session. */
async function openModel(dir: string, options: OnnxOptions) {
  const folder = locateOnnxModel(dir);
  const tokenizer = loadWordPieceTokenizer(folder.tokenizerPath);
  const session = await openSession(folder);
  return { folder, tokenizer, session, batchSize: options.batchSize ?? 32 };
}

/** A bi-encoder evaluator: cosine of output and reference embeddings. */
export async function createBiEncoderEvaluator(
  dir: string,
  params: Pick<PoqScoringParams, "maxTextChars">,
  options: OnnxOptions = {},
): Promise<Evaluator> {
  const { folder, tokenizer, session, batchSize } = await openModel(dir, options);
  const output = requireOutput(
    session,
    ["sentence_embedding", "last_hidden_state", "token_embeddings"],
    "bi-encoder",
  );
  return batchEvaluator(
    {
      name: "bi-encoder",
      kind: "bi-encoder",
      needsReference: true,
      needsPeers: false,
      description: `ONNX bi-encoder ${modelName(folder)}: 10 x max(0, cosine) of mean-pooled, L2-normalized embeddings`,
    },
    params,
    async (inputs) => {
      const texts = [...new Set(inputs.flatMap((i) => [i.output, ...referencesOf(i)]))];
      const vectors = await embed(session, tokenizer, output, texts, batchSize);
      const byText = new Map(texts.map((t, i) => [t, vectors[i] as Float32Array]));
      return inputs.map((input) => {
        const out = byText.get(input.output) as Float32Array;
        let best = 0;
        for (const reference of referencesOf(input)) {
          const ref = byText.get(reference) as Float32Array;
          let dot = 0;
          for (let h = 0; h < out.length; h++) dot += (out[h] as number) * (ref[h] as number);
          best = Math.max(best, dot);
        }
        return 10 * Math.min(1, best);
      });
    },
    () => session.release(),
  );
}

/** How cross-encoder logits become a probability, read from config.json. */
export function crossEncoderHead(
  config: Record<string, unknown>,
): { kind: "sigmoid" | "identity" } | { kind: "entailment"; index: number } {
  const labels = config.id2label;
  if (labels && typeof labels === "object") {
    const entries = Object.entries(labels as Record<string, unknown>);
    const entailment = entries.find(
      ([, label]) => typeof label === "string" && label.toLowerCase().startsWith("entail"),
    );
    if (entries.length > 1 && entailment) return { kind: "entailment", index: Number(entailment[0]) };
  }
  const activation = config.sbert_ce_default_activation_function;
  if (typeof activation === "string" && activation.toLowerCase().includes("identity"))
    return { kind: "identity" };
  return { kind: "sigmoid" };
}

/** A cross-encoder evaluator on (reference, output) pairs. */
export async function createCrossEncoderEvaluator(
  dir: string,
  params: Pick<PoqScoringParams, "maxTextChars">,
  options: OnnxOptions = {},
): Promise<Evaluator> {
  const { folder, tokenizer, session, batchSize } = await openModel(dir, options);
  const output = requireOutput(session, ["logits"], "cross-encoder");
  const head = crossEncoderHead(folder.config);
  const probability = (logits: Float32Array, row: number, width: number): number => {
    if (head.kind === "entailment") {
      let max = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < width; k++) max = Math.max(max, logits[row * width + k] as number);
      let sum = 0;
      for (let k = 0; k < width; k++) sum += Math.exp((logits[row * width + k] as number) - max);
      return Math.exp((logits[row * width + head.index] as number) - max) / sum;
    }
    const z = logits[row * width] as number;
    return head.kind === "identity" ? Math.max(0, Math.min(1, z)) : 1 / (1 + Math.exp(-z));
  };
  return batchEvaluator(
    {
      name: "cross-encoder",
      kind: "cross-encoder",
      needsReference: true,
      needsPeers: false,
      description: `ONNX cross-encoder ${modelName(folder)} on (reference, output): 10 x ${head.kind === "entailment" ? "P(entailment)" : head.kind}(logit)`,
    },
    params,
    async (inputs) => {
      const pairs = inputs.flatMap((input, i) =>
        referencesOf(input).map((r) => ({ i, encoding: tokenizer.encode(r, input.output) })),
      );
      const best = new Array(inputs.length).fill(0);
      for (let lo = 0; lo < pairs.length; lo += batchSize) {
        const batch = pairs.slice(lo, lo + batchSize);
        const run = await session.run(
          feeds(
            session,
            batch.map((p) => p.encoding),
            tokenizer.padId,
          ),
        );
        const tensor = run[output] as ort.Tensor;
        const width = (tensor.dims[1] as number | undefined) ?? 1;
        batch.forEach((p, b) => {
          best[p.i] = Math.max(best[p.i], probability(tensor.data as Float32Array, b, width));
        });
      }
      return best.map((p) => 10 * p);
    },
    () => session.release(),
  );
}
