import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { generate } from "../../engine/engine.ts";
import { PRESETS } from "../../engine/llama2c/generateModel.ts";
import { writeGeneratedModel } from "../../engine/llama2c/modelFiles.ts";
import { createThreadedEngine } from "../../engine/threaded/threadedEngine.ts";
import { threadModule } from "../../parallel/threadBundles.ts";
import { runInWorkers, WORKER_BOOTSTRAP } from "../../parallel/workerPool.ts";
import { buildRoleBundle, useThreadTwins } from "./roleBundle.ts";

const ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));

describe("the CLI's bundle for role processes", () => {
  it("is named by its content, names its source map, and runs the CLI as bin/verinfer.mjs does", async () => {
    const bundle = (await buildRoleBundle()) as string;
    expect(bundle).not.toBeNull();
    expect(await buildRoleBundle()).toBe(bundle);
    const text = readFileSync(bundle, "utf8");
    expect(text.trimEnd().endsWith(`//# sourceMappingURL=${bundle.split("/").at(-1)}.map`)).toBe(true);
    expect(existsSync(`${bundle}.map`)).toBe(true);

    const help = (entry: string) =>
      execFileSync(process.execPath, [entry, "node", "fisherman", "--help"], { encoding: "utf8" });
    expect(help(bundle)).toBe(help(join(ROOT, "bin", "verinfer.mjs")));
  }, 60_000);

  it("keeps each module's own import.meta.url, so that paths relative to src/ files still resolve", async () => {
    const text = readFileSync((await buildRoleBundle()) as string, "utf8");
    // The plugin's name and the entry's call are the places the words may stay: the entry alone reads
    // the bundle's own URL.
    expect(
      text.replaceAll("own-import-meta-url", "").replace("useThreadTwins(import.meta.url)", ""),
    ).not.toContain("import.meta.url");
    for (const file of [
      "src/zk/circuit.ts",
      "src/chain/compile.ts",
      "src/node/services/gateway/dashboard.ts",
    ])
      expect(text).toContain(JSON.stringify(pathToFileURL(join(ROOT, file)).href));
  }, 60_000);

  it("bundles the threads' modules too: a thread started from a twin runs it without tsx", async () => {
    const bundle = (await buildRoleBundle()) as string;
    const dir = mkdtempSync(join(tmpdir(), "verinfer-role-threads-"));
    try {
      const model = writeGeneratedModel(join(dir, "tiny.bin"), PRESETS.tiny as never, 5).model;
      const spec = { engine: "ts-int" as const, model, label: "tiny.bin" };
      const request = { prompt: "once", params: { temperature: 0.8, maxTokens: 12 }, seed: 3, trace: true };
      const fromSource = await createThreadedEngine(spec, 1);
      const here = await generate(fromSource, request).finally(() => fromSource.close());

      // As the bundle's entry does: each source module the threads load now names its twin.
      useThreadTwins(pathToFileURL(bundle).href);
      for (const source of [
        "src/engine/threaded/engineWorker.ts",
        "src/parallel/workerMain.ts",
        "src/zk/proveTask.ts",
        "src/node/services/fisherman/reexecuteTask.ts",
      ]) {
        const twin = threadModule(pathToFileURL(join(ROOT, source)));
        expect(twin).toMatch(/\/role-[0-9a-f]{16}\.\w+\.mjs$/);
        expect(existsSync(fileURLToPath(twin))).toBe(true);
      }
      const fromTwin = await createThreadedEngine(spec, 1);
      const there = await generate(fromTwin, request).finally(() => fromTwin.close());
      expect({ ...there, timings: null }).toEqual({ ...here, timings: null });
      // A pool's task with no twin still runs, from its source through tsx (so does the pool's entry).
      const task = join(dir, "doubleTask.mts");
      writeFileSync(
        task,
        "export const setup = () => (batch: number[]): number[] => batch.map((x) => 2 * x);\n",
      );
      const doubled = await runInWorkers<number, number>({
        module: pathToFileURL(task),
        workerData: null,
        items: [1, 2, 3],
        batchSize: 2,
        threads: 1,
      });
      expect(doubled).toEqual([2, 4, 6]);

      // The bootstrap registers tsx for a TypeScript entry only: a bundled entry cannot import a .ts file.
      writeFileSync(join(dir, "typed.mts"), "export const typed: number = 1;\n");
      const probe = join(dir, "probe.mjs");
      writeFileSync(
        probe,
        [
          'import { parentPort } from "node:worker_threads";',
          `parentPort.postMessage(await import(${JSON.stringify(pathToFileURL(join(dir, "typed.mts")).href)}).then(() => "tsx", (e) => e.code));`,
        ].join("\n"),
      );
      const loaded = await new Promise((resolve, reject) => {
        const w = new Worker(WORKER_BOOTSTRAP, { workerData: { entry: pathToFileURL(probe).href } });
        w.once("message", (m) => void w.terminate().then(() => resolve(m)));
        w.once("error", reject);
      });
      expect(loaded).toBe("ERR_UNKNOWN_FILE_EXTENSION");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
