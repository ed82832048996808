/**
 * The CLI bundled into one ES module for the role processes a devnet spawns. Through tsx's loader each
 * of a role's hundreds of modules is resolved and transformed on a second thread: a role spent about
 * 2.6 s of CPU before it could start, 1.6 s from the bundle (`verinfer node fisherman --help`). On the
 * chaos soak's busy cores that was 12–28 s per restart, during which a worker proved no obligation and
 * a fisherman opened no window. The bundle is what tsx would run (the same esbuild transform), built
 * once per process that spawns roles; packages stay outside it, loaded by node as before.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { threadId } from "node:worker_threads";
import type { Plugin } from "esbuild";

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** Inside node_modules, so that node resolves the packages the bundle imports as it does for src/. */
const CACHE_DIR = join(PACKAGE_ROOT, "node_modules", ".cache", "verinfer");
/**
 * Bundles of other sources not built for this long are removed when one is built (each edit of src/
 * makes a new one, 4.5 MB with its map); a process spawns roles from its bundle minutes after building it.
 */
const KEEP_UNUSED_MS = 24 * 3600 * 1000;

/** `import.meta.url` in code, not where it is quoted (as in this pattern's own source). */
const IMPORT_META_URL = /(?<!["'`\w.])import\.meta\.url(?!["'`\w])/g;

/**
 * Each module keeps its own `import.meta.url`: src/ finds its files (contracts, circuits, the web
 * page, worker-thread entries) relative to its own module, which a bundle would otherwise move.
 */
const ownUrls: Plugin = {
  name: "own-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async ({ path }) => ({
      contents: (await readFile(path, "utf8")).replace(
        IMPORT_META_URL,
        JSON.stringify(pathToFileURL(path).href),
      ),
      loader: "ts",
    }));
  },
};

/**
 * Builds the bundle (named by its content, so concurrent builders agree and a changed source makes a new
 * one) and returns its path, or null when the cache folder cannot be written (a read-only install):
 * roles then start through bin/verinfer.mjs as before.
 */
export async function buildRoleBundle(): Promise<string | null> {
  const { build } = await import("esbuild");
  const out = await build({
    stdin: {
      contents: `import { main } from "./src/cli/main.ts";\nprocess.exitCode = await main(process.argv.slice(2));\n`,
      resolveDir: PACKAGE_ROOT,
      sourcefile: "verinfer-role.ts",
      loader: "ts",
    },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "linked",
    outfile: join(CACHE_DIR, "role.mjs"),
    write: false,
    logLevel: "silent",
    plugins: [ownUrls],
  });
  const js = out.outputFiles.find((f) => f.path.endsWith(".mjs"));
  const map = out.outputFiles.find((f) => f.path.endsWith(".map"));
  if (!js || !map) throw new Error("esbuild wrote no bundle");
  const name = `role-${createHash("sha256").update(js.contents).digest("hex").slice(0, 16)}.mjs`;
  const file = join(CACHE_DIR, name);
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    writeOnce(`${file}.map`, map.contents);
    writeOnce(
      file,
      Buffer.from(js.text.replace(/sourceMappingURL=role\.mjs\.map\s*$/, `sourceMappingURL=${name}.map\n`)),
    );
    pruneUnused(name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EACCES" || (e as NodeJS.ErrnoException).code === "EROFS")
      return null;
    throw e;
  }
  return file;
}

/** Writes a file whole (a rename replaces at once) unless it is there; marks it used either way. */
function writeOnce(file: string, contents: Uint8Array): void {
  try {
    const now = new Date();
    utimesSync(file, now, now);
    return;
  } catch {}
  const tmp = `${file}.${process.pid}-${threadId}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, file);
}

function pruneUnused(current: string): void {
  for (const f of readdirSync(CACHE_DIR)) {
    if (!f.startsWith("role-") || f.startsWith(current)) continue;
    const path = join(CACHE_DIR, f);
    try {
      if (Date.now() - statSync(path).mtimeMs > KEEP_UNUSED_MS) rmSync(path, { force: true });
    } catch {
      // Gone meanwhile: another process renamed its temporary file or pruned this one.
    }
  }
}
