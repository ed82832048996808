// Worker threads start without the parent's loaders (Node 20 ignores --import in worker execArgv), so
// each worker registers tsx itself before loading its TypeScript entry (workerData.entry, a file URL).
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.entry);
