import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { threadNiceness } from "../../testing/threadNiceness.ts";
import { type Engine, generate } from "../engine.ts";
import { PRESETS } from "../llama2c/generateModel.ts";
import { createLocalEngine } from "../llama2c/localEngine.ts";
import { writeGeneratedModel } from "../llama2c/modelFiles.ts";
import { createThreadedEngine } from "./threadedEngine.ts";

let dir: string;
let model: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "verinfer-threaded-"));
  model = writeGeneratedModel(join(dir, "tiny.bin"), PRESETS.tiny as never, 5).model;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("threaded engine", () => {
  it("gives exactly what the engine gives in this thread, traces included (ts and ts-int)", async () => {
    for (const kind of ["ts", "ts-int"] as const) {
      const spec = { engine: kind, model, label: "tiny.bin" };
      const threaded = await createThreadedEngine(spec, 2);
      try {
        expect(threaded.info).toMatchObject({ name: kind, parallelism: 2, contextLength: 128 });
        const request = {
          prompt: "once",
          params: { temperature: 0.8, maxTokens: 40 },
          seed: 11,
          trace: kind === "ts-int",
        };
        const here = await generate(createLocalEngine(spec), request);
        const there = await generate(threaded, request);
        expect({ ...there, timings: null }).toEqual({ ...here, timings: null });
        // Both threads at once give the same too.
        const both = await Promise.all([generate(threaded, request), generate(threaded, request)]);
        expect(both.map((r) => r.tokenIds)).toEqual([here.tokenIds, here.tokenIds]);
      } finally {
        await threaded.close();
      }
    }
  });

  it.skipIf(!existsSync("/proc/self/task"))(
    "its threads lower their own priority (`nice`), and only theirs: this process's other threads keep theirs",
    async () => {
      const before = threadNiceness();
      const e = await createThreadedEngine({ engine: "ts-int", model, label: "tiny" }, 2, 7);
      try {
        const during = threadNiceness();
        expect(during.filter((n) => n === 7)).toHaveLength(2 + before.filter((n) => n === 7).length);
        expect(during.filter((n) => n !== 7).length).toBeGreaterThan(0);
        // Lowered, they still generate.
        expect((await generate(e, { prompt: "x", params: { maxTokens: 3 } })).tokenIds).toHaveLength(3);
      } finally {
        await e.close();
      }
    },
  );

  it("carries coded errors across the thread and keeps serving after them", async () => {
    await expect(
      createThreadedEngine({ engine: "ts", model: join(dir, "missing.bin"), label: "m" }, 1),
    ).rejects.toMatchObject({
      code: "FILE_NOT_FOUND",
    });
    const e = await createThreadedEngine({ engine: "ts", model, label: "tiny" }, 1);
    try {
      await expect(generate(e, { prompt: "x", params: { maxTokens: 1000 } })).rejects.toMatchObject({
        code: "GENERATION_INVALID",
      });
      await expect(generate(e, { prompt: "x", trace: true })).rejects.toMatchObject({
        code: "GENERATION_INVALID",
      });
      expect((await generate(e, { prompt: "x", params: { maxTokens: 3 } })).tokenIds).toHaveLength(3);
    } finally {
      await e.close();
    }
    await expect(generate(e, { prompt: "x" })).rejects.toMatchObject({ code: "ENGINE_FAILED" });
  });

  it("a caller that leaves mid-stream or while queued frees its place; the rest run in call order", async () => {
    const e: Engine = await createThreadedEngine({ engine: "ts", model, label: "tiny" }, 1);
    try {
      const left = e.stream({ prompt: "a", params: { maxTokens: 120 } });
      await left.next();
      const queuedAbort = new AbortController();
      const order: string[] = [];
      const queued = generate(e, { prompt: "b", signal: queuedAbort.signal, params: { maxTokens: 2 } }).catch(
        (error) => {
          order.push("cancelled");
          throw error;
        },
      );
      const after = generate(e, { prompt: "c", params: { maxTokens: 2 } }).then((r) => {
        order.push("after");
        return r;
      });
      queuedAbort.abort();
      await expect(queued).rejects.toMatchObject({ code: "GENERATION_CANCELLED" });
      await left.return(undefined as never);
      expect((await after).tokenIds).toHaveLength(2);
      expect(order).toEqual(["cancelled", "after"]);
      // A signal aborted mid-generation ends it with GENERATION_CANCELLED.
      const running = new AbortController();
      const it = e.stream({ prompt: "d", signal: running.signal, params: { maxTokens: 120 } });
      await it.next();
      running.abort();
      await expect(
        (async () => {
          for (let n = await it.next(); !n.done; n = await it.next());
        })(),
      ).rejects.toMatchObject({ code: "GENERATION_CANCELLED" });
      expect((await generate(e, { prompt: "e", params: { maxTokens: 2 } })).tokenIds).toHaveLength(2);
    } finally {
      await e.close();
    }
  });
});
