/**
 * Worker-thread task: Groth16 proofs with snarkjs (witness generation and proving), so that proving —
 * about a second of CPU per slice — never blocks a server's event loop. Loaded by src/parallel's pool.
 *
 * snarkjs cannot start its own threads inside a worker thread (its `web-worker` dependency exports the
 * worker side there, not a Worker class), so each prover thread installs a single-threaded BN254 curve
 * first, the one snarkjs then reuses; parallelism comes from the pool's threads instead.
 */
import { createRequire } from "node:module";
import type { groth16 as Groth16 } from "snarkjs";

const require = createRequire(import.meta.url);
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
