/**
 * Runs batches of work on worker threads (one per core by default). Each worker loads a TypeScript
 * module through tsx, receives shared inputs once (`workerData`), then handles `{ id, batch }` messages
 * with the module's `handle(batch)` and answers `{ id, results }`. Results come back in input order, so
 * a parallel run equals a sequential one. {@link WorkerPool} keeps its workers for batches that arrive
 * over time (a stream); {@link runInWorkers} runs a list of items through one.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { VerinferError } from "../errors.ts";
import { threadModule } from "./threadBundles.ts";

/**
 * The script every worker thread starts with: it imports `workerData.entry` (a URL), registering tsx
 * first when that is a TypeScript source rather than a bundle ({@link threadModule}).
 */
export const WORKER_BOOTSTRAP = new URL("./workerBootstrap.mjs", import.meta.url);

/** Number of threads to use by default. */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

/** A pool of workers running one task module. */
export class WorkerPool<T, R> {
  private readonly workers: Worker[];
  private readonly idle: Worker[] = [];
  private readonly waiting: ((w: Worker) => void)[] = [];
  private readonly pending = new Map<number, { resolve(r: R[]): void; reject(e: Error): void }>();
  private nextId = 0;
  private failure: Error | null = null;

  constructor(module: URL, workerData: unknown, threads: number = defaultThreads()) {
    const task = threadModule(module);
    // A bundled entry runs without tsx, so it cannot load a TypeScript task: both bundled, or neither.
    const main = new URL("./workerMain.ts", import.meta.url);
    const entry = task === module.href ? main.href : threadModule(main);
    this.workers = Array.from({ length: Math.max(1, threads) }, () => {
      const worker = new Worker(WORKER_BOOTSTRAP, { workerData: { entry, module: task, data: workerData } });
      worker.on("message", (message: { id: number; results?: R[]; error?: string }) => {
        const job = this.pending.get(message.id);
        this.pending.delete(message.id);
        this.release(worker);
        if (message.error !== undefined)
          job?.reject(new VerinferError("INPUT_INVALID", `worker failed: ${message.error}`));
        else job?.resolve(message.results as R[]);
      });
      worker.on("error", (error) => this.fail(error));
      this.idle.push(worker);
      return worker;
    });
  }

  /** Handles one batch on the next free worker; results in batch order. */
  async run(batch: readonly T[]): Promise<R[]> {
    if (this.failure) throw this.failure;
    const worker = this.idle.pop() ?? (await new Promise<Worker>((resolve) => this.waiting.push(resolve)));
    const id = this.nextId++;
    return new Promise<R[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, batch });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private release(worker: Worker): void {
    const next = this.waiting.shift();
    if (next) next(worker);
    else this.idle.push(worker);
  }

  private fail(error: Error): void {
    this.failure = error;
    for (const job of this.pending.values()) job.reject(error);
    this.pending.clear();
  }
}

/** Options of {@link runInWorkers}. */
export interface WorkerPoolOptions<T> {
  /** URL of the worker module (see workerMain.ts). */
  readonly module: URL;
  readonly workerData: unknown;
  readonly items: readonly T[];
  readonly batchSize: number;
  readonly threads?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** Processes `items` in batches on worker threads and returns the results in order. */
export async function runInWorkers<T, R>(options: WorkerPoolOptions<T>): Promise<R[]> {
  const batches: T[][] = [];
  for (let i = 0; i < options.items.length; i += options.batchSize)
    batches.push(options.items.slice(i, i + options.batchSize));
  const threads = Math.min(options.threads ?? defaultThreads(), Math.max(1, batches.length));
  const pool = new WorkerPool<T, R>(options.module, options.workerData, threads);
  let done = 0;
  try {
    const results = await Promise.all(
      batches.map(async (batch) => {
        const r = await pool.run(batch);
        done += batch.length;
        options.onProgress?.(done, options.items.length);
        return r;
      }),
    );
    return results.flat();
  } finally {
    await pool.close();
  }
}
