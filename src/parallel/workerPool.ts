/**
 * Runs batches of work on worker threads (one per core by default). Each worker loads a TypeScript
 * module through tsx, receives shared inputs once (`workerData`), then handles `{ id, batch }` messages
 * with the module's `handle(batch)` and answers `{ id, results }`. Results come back in input order, so
 * a parallel run equals a sequential one.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { VerinferError } from "../errors.ts";

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

/** The script every worker thread starts with: it registers tsx, then imports `workerData.entry`. */
export const WORKER_BOOTSTRAP = new URL("./workerBootstrap.mjs", import.meta.url);

/** Number of threads to use by default. */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

/** Processes `items` in batches on worker threads and returns the results in order. */
export async function runInWorkers<T, R>(options: WorkerPoolOptions<T>): Promise<R[]> {
  const batches: T[][] = [];
  for (let i = 0; i < options.items.length; i += options.batchSize)
    batches.push(options.items.slice(i, i + options.batchSize));
  const results: R[][] = new Array(batches.length);
  const threads = Math.min(options.threads ?? defaultThreads(), Math.max(1, batches.length));
  let next = 0;
  let done = 0;
  const workers = Array.from(
    { length: threads },
    () =>
      new Worker(WORKER_BOOTSTRAP, {
        workerData: {
          entry: new URL("./workerMain.ts", import.meta.url).href,
          module: options.module.href,
          data: options.workerData,
        },
      }),
  );
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const send = () => {
              if (next >= batches.length) {
                resolve();
                return;
              }
              const id = next++;
              worker.postMessage({ id, batch: batches[id] });
            };
            worker.on("message", (message: { id: number; results?: R[]; error?: string }) => {
              if (message.error !== undefined) {
                reject(new VerinferError("INPUT_INVALID", `worker failed: ${message.error}`));
                return;
              }
              results[message.id] = message.results as R[];
              done += (batches[message.id] as T[]).length;
              options.onProgress?.(done, options.items.length);
              send();
            });
            worker.on("error", reject);
            worker.once("online", send);
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results.flat();
}
