// Worker threads start without the parent's loaders (Node 20 ignores --import in worker execArgv), so
// a worker whose entry (workerData.entry, a URL) is TypeScript registers tsx itself before loading it.
// A bundled entry (threadBundles.ts) needs no loader: plain node loads it, without tsx's second thread.
import { workerData } from "node:worker_threads";

if (/\.[cm]?ts$/.test(new URL(workerData.entry).pathname)) {
  const { register } = await import("tsx/esm/api");
  register();
}
await import(workerData.entry);
