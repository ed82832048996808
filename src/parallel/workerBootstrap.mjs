// Worker threads start without the parent's loaders (Node 20 ignores --import in worker execArgv), so
// each worker registers tsx itself before loading the TypeScript entry.
import { register } from "tsx/esm/api";

register();
await import("./workerMain.ts");
