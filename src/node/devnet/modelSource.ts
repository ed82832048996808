/**
 * `devnet up --model` takes a llama2.c checkpoint or a GGUF model, as a path or URL. A URL is downloaded once into the
 * devnet's folder with its tokenizer: `<name>.tokenizer.bin` beside it, else the folder's
 * `tokenizer.bin` (llama2.c's layout: stories15M.bin next to tokenizer.bin).
 */
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { siblingTokenizerPath } from "../../engine/llama2c/modelFiles.ts";
import { isGguf } from "../../engine/llamaCpp/llamaCppEngine.ts";
import { VerinferError } from "../../errors.ts";

const isUrl = (s: string) => /^https?:\/\//i.test(s);

async function download(url: string, to: string): Promise<boolean> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(600_000) });
  } catch (e) {
    throw new VerinferError("MODEL_DOWNLOAD_FAILED", `cannot fetch ${url}: ${(e as Error).message}`, { url });
  }
  if (response.status === 404) return false;
  if (!response.ok || !response.body)
    throw new VerinferError("MODEL_DOWNLOAD_FAILED", `${url} answered HTTP ${response.status}`, { url });
  await pipeline(Readable.fromWeb(response.body as never), createWriteStream(to));
  return true;
}

/** The local checkpoint for `model`: the path itself, or the URL's file downloaded into `dir`. */
export async function localModel(model: string, dir: string): Promise<string> {
  if (!isUrl(model)) return model;
  await mkdir(dir, { recursive: true });
  const name = basename(new URL(model).pathname) || "model.bin";
  const local = join(dir, name);
  if (!(await download(model, local)))
    throw new VerinferError("MODEL_DOWNLOAD_FAILED", `${model} answered HTTP 404`, { url: model });
  if (isGguf(local)) return local; // a GGUF file carries its own vocabulary
  const sibling = new URL(basename(siblingTokenizerPath(name)), model).href;
  if (
    !(await download(sibling, siblingTokenizerPath(local))) &&
    !(await download(new URL("tokenizer.bin", model).href, join(dir, "tokenizer.bin")))
  )
    throw new VerinferError(
      "MODEL_DOWNLOAD_FAILED",
      `no tokenizer beside ${model} (tried ${sibling} and tokenizer.bin)`,
      { url: model },
    );
  return local;
}
