/**
 * Worker entry: loads the task module named in workerData and answers batches with its `handle`
 * (synchronous, or asynchronous for tasks such as proving that await a library).
 */
import { parentPort, workerData } from "node:worker_threads";

const { module, data } = workerData as { module: string; data: unknown };
const task = (await import(module)) as {
  setup(data: unknown): (batch: unknown[]) => unknown[] | Promise<unknown[]>;
};
const handle = task.setup(data);
parentPort?.on("message", async (message: { id: number; batch: unknown[] }) => {
  try {
    parentPort?.postMessage({ id: message.id, results: await handle(message.batch) });
  } catch (error) {
    parentPort?.postMessage({
      id: message.id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
});
