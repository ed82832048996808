/**
 * Locating the shared data directory: `--data-dir`, else `VERINFER_DATA_DIR`, else `../shared/data`
 * (relative to the working directory, then to the package) when it exists.
 */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { VerinferError } from "../errors.ts";

const PACKAGE_ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/** The default data directory if one exists, else null. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | null {
  if (env.VERINFER_DATA_DIR) return resolve(cwd, env.VERINFER_DATA_DIR);
  for (const candidate of [resolve(cwd, "../shared/data"), resolve(PACKAGE_ROOT, "../shared/data")]) {
    if (isDirectory(candidate)) return candidate;
  }
  return null;
}

/** Resolves the data directory, throwing a clear error when there is none. */
export function resolveDataDir(
  flag?: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): string {
  const dir = flag !== undefined ? resolve(cwd, flag) : defaultDataDir(env, cwd);
  if (dir === null) {
    throw new VerinferError(
      "DATA_DIR_NOT_FOUND",
      "no data directory: pass --data-dir DIR or set VERINFER_DATA_DIR (see docs/datasets.md)",
    );
  }
  if (!isDirectory(dir)) {
    throw new VerinferError("DATA_DIR_NOT_FOUND", `data directory does not exist: ${dir}`, { dir });
  }
  return dir;
}

/** Path of a dataset file inside the data directory; throws FILE_NOT_FOUND naming it when absent. */
export function dataFile(dataDir: string, relativePath: string): string {
  const path = join(dataDir, relativePath);
  if (!existsSync(path)) {
    throw new VerinferError("FILE_NOT_FOUND", `dataset file missing: ${path} (see docs/datasets.md)`, {
      file: path,
    });
  }
  return path;
}
