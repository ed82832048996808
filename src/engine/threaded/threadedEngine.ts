/**
 * The TypeScript engines off the main thread. A generation is seconds of synchronous arithmetic; run
 * in the server's thread it stalls every other request (health checks, streams, queue limits). Here
 * each of `threads` worker threads keeps its own copy of the model loaded and runs one generation at a
 * time; chunks arrive as messages as soon as they are produced; callers beyond `threads` wait in call
 * order. Cancelling (the request's signal, or leaving the stream early) raises a shared flag that the
 * worker polls before each forward pass, so it stops within one token. A worker that dies is replaced.
 */
import { Worker } from "node:worker_threads";
import { VerinferError } from "../../errors.ts";
import { threadModule } from "../../parallel/threadBundles.ts";
import { WORKER_BOOTSTRAP } from "../../parallel/workerPool.ts";
import type { ErrorCode } from "../../protocol/errors.ts";
import type { Engine, EngineInfo, GenerateRequest, GenerationChunk, GenerationResult } from "../engine.ts";
import { FifoPool } from "../fifoPool.ts";
import type { LocalEngineSpec } from "../llama2c/localEngine.ts";

/** What a worker starts with. */
export interface EngineWorkerData {
  readonly entry: string;
  readonly spec: LocalEngineSpec;
  /** One Int32: non-zero asks the running generation to stop. */
  readonly cancel: SharedArrayBuffer;
  /** The niceness the thread lowers itself to before loading (0: none). */
  readonly nice: number;
}

/** An error crossing from a worker: coded errors keep their code; others (bugs) keep their stack. */
export interface WorkerError {
  readonly code: ErrorCode | null;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly stack?: string | undefined;
}

/** Messages from a worker. */
export type FromWorker =
  | { readonly type: "ready"; readonly info: EngineInfo }
  | { readonly type: "chunk"; readonly chunk: GenerationChunk }
  | { readonly type: "done"; readonly result: GenerationResult }
  | { readonly type: "error"; readonly error: WorkerError };

const ENTRY = new URL("./engineWorker.ts", import.meta.url);

function thrown(error: WorkerError): Error {
  if (error.code) return new VerinferError(error.code, error.message, { ...error.details });
  const e = new Error(error.message);
  if (error.stack) e.stack = error.stack;
  return e;
}

/** One worker thread and the generation it runs. */
class EngineThread {
  readonly worker: Worker;
  readonly cancel = new Int32Array(new SharedArrayBuffer(4));
  /** Receives the running generation's messages; null when idle. */
  inbox: ((message: FromWorker) => void) | null = null;
  readonly ready: Promise<EngineInfo>;

  constructor(spec: LocalEngineSpec, nice: number, onExit: (thread: EngineThread, error: Error) => void) {
    const data: EngineWorkerData = {
      entry: threadModule(ENTRY),
      spec,
      cancel: this.cancel.buffer as SharedArrayBuffer,
      nice,
    };
    this.worker = new Worker(WORKER_BOOTSTRAP, { workerData: data });
    this.ready = new Promise((resolve, reject) => {
      this.inbox = (m) => {
        this.inbox = null;
        if (m.type === "ready") resolve(m.info);
        else reject(m.type === "error" ? thrown(m.error) : new Error(`unexpected ${m.type} before ready`));
      };
    });
    this.worker.on("message", (m: FromWorker) => this.inbox?.(m));
    const died = (error: Error) => {
      // Out of service first, so that the generation it fails does not hand it back.
      onExit(this, error);
      const inbox = this.inbox;
      this.inbox = null;
      inbox?.({
        type: "error",
        error: {
          code: "ENGINE_FAILED",
          message: `the engine's worker thread failed: ${error.message}`,
          details: {},
        },
      });
    };
    this.worker.on("error", died);
    this.worker.on("exit", (code) => died(new Error(`exited with code ${code}`)));
  }
}

/**
 * Starts `threads` workers, each loading the model, and returns the engine once all are ready; each
 * lowers its CPU priority to `nice` first (Linux: that thread alone; elsewhere the whole process).
 */
export async function createThreadedEngine(
  spec: LocalEngineSpec,
  threads: number,
  nice = 0,
): Promise<Engine> {
  let closing = false;
  const threadsAlive = new Set<EngineThread>();
  let pool: FifoPool<EngineThread> | null = null;
  const onExit = (thread: EngineThread, error: Error) => {
    // Before the pool exists, a failed start is reported by createThreadedEngine itself.
    if (closing || pool === null || !threadsAlive.delete(thread)) return;
    // Replace a thread that died (out of memory, a native fault): the model loaded before, so it loads again.
    const replacement = start();
    replacement.ready.then(
      () => pool?.release(replacement),
      () => {
        threadsAlive.delete(replacement);
        if (threadsAlive.size === 0)
          pool?.close(
            new VerinferError("ENGINE_FAILED", `every engine worker thread failed: ${error.message}`),
          );
      },
    );
  };
  const start = () => {
    const thread = new EngineThread(spec, nice, onExit);
    threadsAlive.add(thread);
    // Loading keeps the process alive; an idle thread does not.
    thread.ready.then(
      () => thread.worker.unref(),
      () => {},
    );
    return thread;
  };
  const all = Array.from({ length: threads }, start);
  let info: EngineInfo;
  try {
    info = (await Promise.all(all.map((t) => t.ready)))[0] as EngineInfo;
  } catch (error) {
    closing = true;
    await Promise.all(all.map((t) => t.worker.terminate()));
    throw error;
  }
  const ready = new FifoPool(all);
  pool = ready;

  return {
    info: { ...info, parallelism: threads },
    async *stream(request: GenerateRequest): AsyncGenerator<GenerationChunk, GenerationResult, void> {
      const { signal, ...plain } = request;
      const thread = await ready.acquire(signal);
      // Busy threads keep the process alive; idle ones do not.
      thread.worker.ref();
      Atomics.store(thread.cancel, 0, 0);
      const messages: FromWorker[] = [];
      let wake: (() => void) | null = null;
      let settled = false;
      const finish = () => {
        thread.inbox = null;
        thread.worker.unref();
        if (threadsAlive.has(thread)) ready.release(thread);
      };
      thread.inbox = (m) => {
        if (m.type === "done" || m.type === "error") settled = true;
        messages.push(m);
        wake?.();
      };
      const stop = () => Atomics.store(thread.cancel, 0, 1);
      signal?.addEventListener("abort", stop, { once: true });
      thread.worker.postMessage(plain);
      try {
        for (;;) {
          while (messages.length === 0) await new Promise<void>((r) => (wake = r));
          const m = messages.shift() as FromWorker;
          if (m.type === "chunk") yield m.chunk;
          else if (m.type === "done") return m.result;
          else if (m.type === "error") throw thrown(m.error);
        }
      } finally {
        signal?.removeEventListener("abort", stop);
        if (settled) finish();
        else {
          // The caller left mid-generation: stop the worker, and take the thread back once it says so.
          stop();
          thread.inbox = (m) => {
            if (m.type === "done" || m.type === "error") finish();
          };
        }
      }
    },
    async close() {
      closing = true;
      ready.close(new VerinferError("ENGINE_FAILED", "the engine is closed"));
      await Promise.all([...threadsAlive].map((t) => t.worker.terminate()));
      threadsAlive.clear();
    },
  };
}
