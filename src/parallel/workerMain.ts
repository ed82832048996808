/** Worker entry: loads the task module named in workerData and answers batches with its `handle`. */
import { parentPort, workerData } from "node:worker_threads";

const { module, data } = workerData as { module: string; data: unknown };
const task = (await import(module)) as { setup(data: unknown): (batch: unknown[]) => unknown[] };
const handle = task.setup(data);
parentPort?.on("message", (message: { id: number; batch: unknown[] }) => {
  try {
    parentPort?.postMessage({ id: message.id, results: handle(message.batch) });
  } catch (error) {
    parentPort?.postMessage({
      id: message.id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
});
