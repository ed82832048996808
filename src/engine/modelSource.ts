/**
 * Models by path or URL. An http(s) URL is downloaded once into the cache
 * (`<cache>/models/<hash of the URL's folder>/<file name>`, written to a temporary file and renamed, so
 * an interrupted download never leaves a file that looks complete) and the local copy is used from
 * then on. A llama2.c model's tokenizer comes from `--tokenizer` (path or URL) or is looked for beside
 * the model's URL the way it is beside a local file: `<name>.tokenizer.bin`, then `tokenizer.bin`.
 */
import { createHash } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { VerinferError } from "../errors.ts";
import {
  Deadline,
  interrupted,
  openUpstream,
  RetryableError,
  type UpstreamSettings,
  withRetries,
} from "./upstream.ts";

/** Download settings. */
export interface DownloadOptions extends UpstreamSettings {
  readonly cacheDir: string;
  /** Called as bytes arrive (`total` null when the server sends no length). */
  readonly onProgress?: ((url: string, received: number, total: number | null) => void) | undefined;
}

/** Whether `source` is an http(s) URL rather than a path. */
export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

function parseUrl(source: string): URL {
  try {
    return new URL(source);
  } catch {
    throw new VerinferError("CONFIG_INVALID", `"${source}" is not a valid URL`, { url: source });
  }
}

/** Where a URL's file is cached. */
export function cachedPathOf(url: string, cacheDir: string): string {
  const u = parseUrl(url);
  const name = decodeURIComponent(u.pathname.split("/").at(-1) ?? "");
  if (!name || name === "." || name === ".." || /[/\\]/.test(name))
    throw new VerinferError("CONFIG_INVALID", `${url} does not name a file`, { url });
  const folder = `${u.origin}${u.pathname.slice(0, u.pathname.length - name.length)}`;
  const key = createHash("sha256").update(folder).digest("hex").slice(0, 16);
  return join(cacheDir, "models", key, name);
}

/** Downloads `url` into the cache unless it is there; returns the local path. */
export async function download(url: string, options: DownloadOptions): Promise<string> {
  const target = cachedPathOf(url, options.cacheDir);
  if (existsSync(target)) return target;
  mkdirSync(join(target, ".."), { recursive: true });
  const partial = `${target}.part-${process.pid}`;
  await withRetries(options, async () => {
    const deadline = new Deadline(options.timeoutMs);
    try {
      const response = await openUpstream(options, url, undefined, deadline);
      const length = Number(response.headers.get("content-length"));
      const total = Number.isFinite(length) && length > 0 ? length : null;
      let received = 0;
      const counted = async function* (body: AsyncIterable<Uint8Array>) {
        for await (const chunk of body) {
          deadline.reset();
          received += chunk.length;
          options.onProgress?.(url, received, total);
          yield chunk;
        }
      };
      try {
        await pipeline(
          response.body as unknown as AsyncIterable<Uint8Array>,
          counted,
          createWriteStream(partial),
        );
      } catch (error) {
        rmSync(partial, { force: true });
        // A file-system error (full disk, no permission) is the cache's fault, not the server's.
        if ((error as { syscall?: string }).syscall !== undefined)
          throw new VerinferError(
            "CONFIG_INVALID",
            `cannot write into the cache (VERINFER_CACHE_DIR): ${(error as Error).message}`,
            { file: partial },
          );
        throw new RetryableError(interrupted(url, deadline, "mid-download"), null);
      }
      if (total !== null && received !== total) {
        rmSync(partial, { force: true });
        throw new RetryableError(
          new VerinferError(
            "UPSTREAM_REPLY_INVALID",
            `${url} ended the download after ${received} of ${total} bytes`,
            { url, received, total },
          ),
          null,
        );
      }
    } finally {
      deadline.clear();
    }
  });
  renameSync(partial, target);
  return target;
}

/** A local path that must be a regular file: FILE_NOT_FOUND says when it is absent or a directory. */
function existingFile(path: string, what: string): string {
  if (!existsSync(path))
    throw new VerinferError("FILE_NOT_FOUND", `${what} not found: ${path}`, { file: path });
  if (!statSync(path).isFile())
    throw new VerinferError("FILE_NOT_FOUND", `${what} ${path} is a directory, not a file`, { file: path });
  return path;
}

/** A model source resolved to local files. */
export interface LocalModel {
  readonly model: string;
  /** The tokenizer given or found beside a downloaded model; undefined: look beside the local model. */
  readonly tokenizer: string | undefined;
}

/**
 * Resolves a model (and, for llama2.c models, its tokenizer) to local files, downloading URLs. With
 * `findTokenizer`, a URL model's tokenizer is looked for beside it when none is given.
 */
export async function localModel(
  model: string,
  tokenizer: string | undefined,
  findTokenizer: boolean,
  options: DownloadOptions,
): Promise<LocalModel> {
  const local = isUrl(model) ? await download(model, options) : existingFile(model, "model");
  if (tokenizer !== undefined)
    return {
      model: local,
      tokenizer: isUrl(tokenizer) ? await download(tokenizer, options) : existingFile(tokenizer, "tokenizer"),
    };
  if (!findTokenizer || !isUrl(model)) return { model: local, tokenizer: undefined };
  const base = parseUrl(model);
  const name = base.pathname.split("/").at(-1) as string;
  const candidates = [`${name.replace(/\.bin$/, "")}.tokenizer.bin`, "tokenizer.bin"].map((n) =>
    new URL(n, base).toString(),
  );
  for (const candidate of candidates) {
    try {
      return { model: local, tokenizer: await download(candidate, options) };
    } catch (error) {
      if (!(error instanceof VerinferError && error.details?.status === 404)) throw error;
    }
  }
  throw new VerinferError(
    "FILE_NOT_FOUND",
    `no tokenizer beside ${model} (tried ${candidates.join(", ")}); pass --tokenizer PATH_OR_URL`,
    { url: model },
  );
}
