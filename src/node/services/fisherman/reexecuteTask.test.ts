import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PRESETS } from "../../../engine/llama2c/generateModel.ts";
import { loadLlama2c, quantizeCheckpoint, writeGeneratedModel } from "../../../engine/llama2c/modelFiles.ts";
import { WorkerPool } from "../../../parallel/workerPool.ts";
import type { Hex } from "../../../protocol/encoding/hex.ts";
import type { IntModel } from "../../../protocol/verifiable/intModel.ts";
import type { ExecutionContext } from "../../../protocol/verifiable/replay.ts";
import { verifiableGeneration } from "../../../protocol/verifiable/verifiableGeneration.ts";
import { threadNiceness } from "../../../testing/threadNiceness.ts";
import type { ReexecuteData, ReexecuteJob } from "./reexecuteTask.ts";

const TASK = new URL("./reexecuteTask.ts", import.meta.url);

let dir: string;
let model: IntModel;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "verinfer-reexecute-"));
  const path = writeGeneratedModel(join(dir, "tiny.bin"), PRESETS.tiny as never, 5).model;
  model = quantizeCheckpoint(loadLlama2c(path).checkpoint, path);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the fisherman's re-execution thread", () => {
  it("answers the trace root this thread's verifiable generation gives, for each job in order", async () => {
    const jobs: ReexecuteJob[] = [
      { context: { prompt: [1, 5, 9], sampling: { temperature: 0, topP: 1, seed: 0 } }, outputTokens: 6 },
      { context: { prompt: [1, 7], sampling: { temperature: 0.8, topP: 0.9, seed: 42 } }, outputTokens: 9 },
    ];
    const pool = new WorkerPool<ReexecuteJob, Hex>(TASK, { model, nice: 0 } satisfies ReexecuteData, 1);
    try {
      const here = jobs.map((j) => verifiableGeneration(model, j.context, j.outputTokens).fields.traceRoot);
      expect(await pool.run(jobs)).toEqual(here);
      // A different request re-executes to a different root: the thread is not answering a constant.
      expect(new Set(here).size).toBe(2);
      const context: ExecutionContext = { ...(jobs[0] as ReexecuteJob).context, prompt: [1, 5, 10] };
      expect(await pool.run([{ context, outputTokens: 6 }])).not.toEqual([here[0]]);
    } finally {
      await pool.close();
    }
  });

  it.skipIf(!existsSync("/proc/self/task"))(
    "lowers its own priority to `nice`, and only its own: this process's other threads keep theirs",
    async () => {
      const before = threadNiceness().filter((n) => n === 9).length;
      const pool = new WorkerPool<ReexecuteJob, Hex>(TASK, { model, nice: 9 } satisfies ReexecuteData, 1);
      try {
        const context: ExecutionContext = { prompt: [1], sampling: { temperature: 0, topP: 1, seed: 0 } };
        // Once it has answered, its setup (which lowers it) has run.
        expect(await pool.run([{ context, outputTokens: 2 }])).toHaveLength(1);
        const during = threadNiceness();
        expect(during.filter((n) => n === 9)).toHaveLength(before + 1);
        expect(during.filter((n) => n !== 9).length).toBeGreaterThan(0);
      } finally {
        await pool.close();
      }
    },
  );
});
