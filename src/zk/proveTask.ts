/**
 * Worker-thread task: Groth16 proofs with snarkjs (witness generation and proving), so that proving —
 * about a second of CPU per slice — never blocks a server's event loop. Loaded by src/parallel's pool.
 *
 * snarkjs cannot start its own threads inside a worker thread: its `web-worker` dependency, loaded off
 * the main thread, turns the thread into a web worker (rewriting its globals) instead of exporting a
 * Worker class. So each prover thread puts a stand-in for `web-worker` in the module cache and installs
 * a single-threaded BN254 curve, the one snarkjs then reuses; parallelism comes from the pool's threads.
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";
import type { groth16 as Groth16 } from "snarkjs";

const require = createRequire(import.meta.url);
const webWorker = require.resolve("web-worker", { paths: [dirname(require.resolve("ffjavascript"))] });
require.cache[webWorker] = {
  id: webWorker,
  filename: webWorker,
  loaded: true,
  exports: class {
    constructor() {
      throw new Error("a prover thread proves on one thread");
    }
  },
} as unknown as NodeJS.Module;
const { groth16 } = require("snarkjs") as { groth16: typeof Groth16 };
const { buildBn128 } = require("ffjavascript") as { buildBn128(singleThread: boolean): Promise<unknown> };

export function setup(files: { readonly wasm: string; readonly zkey: string }) {
  const curve = (async () => {
    (globalThis as { curve_bn128?: unknown }).curve_bn128 ??= await buildBn128(true);
  })();
  return async (inputs: readonly Record<string, unknown>[]) => {
    await curve;
    const out = [];
    for (const input of inputs) out.push(await groth16.fullProve(input, files.wasm, files.zkey));
    return out;
  };
}
