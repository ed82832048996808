/**
 * Test helpers for the shared datasets. A test that needs a file that is absent is skipped, and its
 * name says which file was missing; CI always has the data, so nothing is skipped there.
 */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "vitest";
import { defaultDataDir } from "../data/dataDir.ts";

/** The shared data directory, or null. */
export const DATA_DIR = defaultDataDir();

/** Absolute path of a shared data file, or null when it is absent. */
export function sharedFile(relativePath: string): string | null {
  if (DATA_DIR === null) return null;
  const path = join(DATA_DIR, relativePath);
  return existsSync(path) ? path : null;
}

/** Like `it`, but skipped (with the missing file in its name) unless all files exist. */
export function itWithData(
  name: string,
  files: readonly string[],
  fn: (...paths: string[]) => unknown,
  timeout?: number,
) {
  const paths = files.map(sharedFile);
  const missing = files.filter((_, i) => paths[i] === null);
  const label =
    missing.length > 0 ? `${name} [skipped: missing shared data file ${missing.join(", ")}]` : name;
  it.skipIf(missing.length > 0)(label, () => fn(...(paths as string[])), timeout);
}

/** Writes a file into a fresh temporary directory and returns its path. */
export function tempFile(name: string, content: string | Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), "verinfer-test-"));
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}
