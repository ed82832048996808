/**
 * A worker thread of a threaded engine: builds the local engine once, then runs one generation at a
 * time, posting each chunk as it is produced. The thread is busy while it generates and cannot read
 * messages, so cancellation is a shared flag that the engine polls before every forward pass.
 */
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { isVerinferError } from "../../errors.ts";
import type { GenerateRequest } from "../engine.ts";
import { createLocalEngine } from "../llama2c/localEngine.ts";
import type { EngineWorkerData, FromWorker, WorkerError } from "./threadedEngine.ts";

const { spec, cancel, nice } = workerData as EngineWorkerData;
// Linux keeps a niceness per thread, and pid 0 is the calling thread: only this generation thread
// yields, the server's thread and a prover's do not. Lowering one's own priority needs no privilege.
if (nice > 0) setPriority(0, nice);
const flag = new Int32Array(cancel);
const port = parentPort;
if (!port) throw new Error("engineWorker runs as a worker thread");
const post = (message: FromWorker) => port.postMessage(message);

function errorOf(error: unknown): WorkerError {
  if (isVerinferError(error)) return { code: error.code, message: error.message, details: error.details };
  const e = error instanceof Error ? error : new Error(String(error));
  return { code: null, message: e.message, details: {}, stack: e.stack };
}

try {
  const engine = createLocalEngine(spec, { interrupted: () => Atomics.load(flag, 0) !== 0 });
  post({ type: "ready", info: engine.info });
  port.on("message", async (request: GenerateRequest) => {
    try {
      const it = engine.stream(request);
      for (let next = await it.next(); ; next = await it.next()) {
        if (next.done) {
          post({ type: "done", result: next.value });
          break;
        }
        post({ type: "chunk", chunk: next.value });
      }
    } catch (error) {
      post({ type: "error", error: errorOf(error) });
    }
  });
} catch (error) {
  post({ type: "error", error: errorOf(error) });
}
