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
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { threadId } from "node:worker_threads";
import type { Plugin } from "esbuild";
import { useThreadBundles } from "../../parallel/threadBundles.ts";

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** The bundle's entry: the only module whose `import.meta.url` is the bundle's own. */
const ENTRY = join(PACKAGE_ROOT, "src/cli/roleEntry.ts");
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
    build.onLoad({ filter: /\.ts$/ }, async ({ path }) =>
      path === ENTRY
        ? undefined
        : {
            contents: (await readFile(path, "utf8")).replace(
              IMPORT_META_URL,
              JSON.stringify(pathToFileURL(path).href),
            ),
            loader: "ts" as const,
          },
    );
  },
};

/**
 * The modules a role's worker threads load (threadBundles.ts), bundled beside the CLI: a worker's
 * engine thread, and the pool's entry with the tasks it runs (a worker's proving, a fisherman's
 * re-execution). A thread module not listed here
 * still works, through tsx in its thread (a pool whose task is not listed starts its threads from the
 * entry's source too).
 */
const THREAD_MODULES: Readonly<Record<string, string>> = {
  engineWorker: "src/engine/threaded/engineWorker.ts",
  workerMain: "src/parallel/workerMain.ts",
  proveTask: "src/zk/proveTask.ts",
  reexecuteTask: "src/node/services/fisherman/reexecuteTask.ts",
};

/** Registers the twins of {@link THREAD_MODULES} beside the CLI's bundle at `bundleUrl` (roleEntry.ts). */
export function useThreadTwins(bundleUrl: string): void {
  useThreadBundles(
    Object.fromEntries(
      Object.entries(THREAD_MODULES).map(([name, source]) => [
        pathToFileURL(join(PACKAGE_ROOT, source)).href,
        bundleUrl.replace(/\.mjs$/, `.${name}.mjs`),
      ]),
    ),
  );
}

/**
 * Builds the bundle (named by its content, so concurrent builders agree and a changed source makes a new
 * one) and returns its path, or null when the cache folder cannot be written (a read-only install):
 * roles then start through bin/verinfer.mjs as before. Each thread module of {@link THREAD_MODULES}
 * is bundled as `role-<hash>.<name>.mjs`; the CLI's bundle registers them before it runs.
 */
export async function buildRoleBundle(): Promise<string | null> {
  const { build } = await import("esbuild");
  const out = await build({
    entryPoints: [
      { in: ENTRY, out: "role" },
      ...Object.entries(THREAD_MODULES).map(([name, source]) => ({
        in: join(PACKAGE_ROOT, source),
        out: name,
      })),
    ],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "linked",
    outdir: CACHE_DIR,
    outExtension: { ".js": ".mjs" },
    write: false,
    logLevel: "silent",
    plugins: [ownUrls],
  });
  const hash = createHash("sha256");
  for (const f of out.outputFiles) if (f.path.endsWith(".mjs")) hash.update(f.contents);
  const stem = `role-${hash.digest("hex").slice(0, 16)}`;
  /** esbuild's output name → the cache's: `role.mjs` → `role-<hash>.mjs`, `x.mjs` → `role-<hash>.x.mjs`. */
  const named = (file: string) => (file.startsWith("role.") ? `${stem}${file.slice(4)}` : `${stem}.${file}`);
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    // The CLI's bundle last: once it is there, so is every file it names.
    const cli = out.outputFiles.filter((f) => basename(f.path) === "role.mjs");
    for (const f of [...out.outputFiles.filter((f) => !cli.includes(f)), ...cli]) {
      const file = basename(f.path);
      writeOnce(
        join(CACHE_DIR, named(file)),
        file.endsWith(".map")
          ? f.contents
          : Buffer.from(
              f.text.replace(
                /sourceMappingURL=(\S+)\s*$/,
                (_, map: string) => `sourceMappingURL=${named(map)}\n`,
              ),
            ),
      );
    }
    pruneUnused(stem);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EACCES" || (e as NodeJS.ErrnoException).code === "EROFS")
      return null;
    throw e;
  }
  return join(CACHE_DIR, `${stem}.mjs`);
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
