/**
 * Reading llama2.c models from disk: the checkpoint and its tokenizer (`--tokenizer FILE`, else
 * `<model>.tokenizer.bin`, else `tokenizer.bin` beside the model). Errors name the file.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { VerinferError } from "../../errors.ts";
import { type IntModel, quantizeModel, type TransformerShape } from "../../protocol/verifiable/intModel.ts";
import { byteTokenizerFile } from "./byteTokenizer.ts";
import { type Checkpoint, MAX_CHECKPOINT_BYTES, parseCheckpoint } from "./checkpoint.ts";
import { generateCheckpoint } from "./generateModel.ts";
import { parseTokenizer, type Tokenizer } from "./tokenizer.ts";

/** A model and its tokenizer. */
export interface Llama2cModel {
  readonly path: string;
  readonly tokenizerPath: string;
  readonly checkpoint: Checkpoint;
  readonly tokenizer: Tokenizer;
}

function readBytes(path: string, maxBytes: number, what: string): Uint8Array {
  if (!existsSync(path) || !statSync(path).isFile())
    throw new VerinferError("FILE_NOT_FOUND", `${what} not found: ${path}`, { file: path });
  const size = statSync(path).size;
  if (size > maxBytes)
    throw new VerinferError("FILE_TOO_LARGE", `${path} is ${size} bytes, over the ${maxBytes}-byte limit`, {
      file: path,
    });
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Where a model's own tokenizer lives: `<model>.tokenizer.bin` beside it. */
export function siblingTokenizerPath(modelPath: string): string {
  return join(dirname(modelPath), `${basename(modelPath).replace(/\.bin$/, "")}.tokenizer.bin`);
}

/** The tokenizer file for a model. */
export function tokenizerPathFor(modelPath: string, explicit?: string): string {
  if (explicit) return explicit;
  const sibling = siblingTokenizerPath(modelPath);
  return existsSync(sibling) ? sibling : join(dirname(modelPath), "tokenizer.bin");
}

/** Writes a seeded random checkpoint and its byte-level tokenizer beside it; returns both paths. */
export function writeGeneratedModel(
  out: string,
  config: TransformerShape,
  seed: number,
): { model: string; tokenizer: string } {
  const tokenizer = siblingTokenizerPath(out);
  writeFileSync(out, generateCheckpoint(config, seed));
  writeFileSync(tokenizer, byteTokenizerFile(config.vocabSize));
  return { model: out, tokenizer };
}

/** Loads a checkpoint only. */
export function loadCheckpoint(path: string): Checkpoint {
  const ck = parseCheckpoint(readBytes(path, MAX_CHECKPOINT_BYTES, "model"));
  if (!ck.ok) throw new VerinferError(ck.error.code, `${path}: ${ck.error.message}`, { file: path });
  return ck.value;
}

/** The verifiable integer model of a checkpoint; `source` names it in errors. */
export function quantizeCheckpoint(checkpoint: Checkpoint, source: string): IntModel {
  const quantized = quantizeModel(checkpoint.config, checkpoint.weights);
  if (!quantized.ok)
    throw new VerinferError(quantized.error.code, `${source}: ${quantized.error.message}`, { file: source });
  return quantized.value;
}

/** The verifiable integer model of a generated checkpoint of `config` (tests and benchmarks run on it). */
export function generatedIntModel(config: TransformerShape, seed: number): IntModel {
  const ck = parseCheckpoint(generateCheckpoint(config, seed));
  if (!ck.ok) throw new VerinferError(ck.error.code, `generated model (seed ${seed}): ${ck.error.message}`);
  return quantizeCheckpoint(ck.value, `generated model (seed ${seed})`);
}

/** Loads a checkpoint and its tokenizer. */
export function loadLlama2c(modelPath: string, tokenizer?: string): Llama2cModel {
  const checkpoint = loadCheckpoint(modelPath);
  const tokenizerPath = tokenizerPathFor(modelPath, tokenizer);
  const tk = parseTokenizer(
    readBytes(tokenizerPath, 64 * 1024 * 1024, "tokenizer (pass --tokenizer FILE)"),
    checkpoint.config.vocabSize,
  );
  if (!tk.ok)
    throw new VerinferError(tk.error.code, `${tokenizerPath}: ${tk.error.message}`, { file: tokenizerPath });
  return { path: modelPath, tokenizerPath, checkpoint, tokenizer: tk.value };
}
