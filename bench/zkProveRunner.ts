/**
 * One proving measurement in a process of its own, so that its memory is its own: proves a random slice
 * of MatmulSlice(N, ROWS) twice (cold: the first proof of the process, curve set-up included; warm: the
 * second) and prints one JSON line. Usage: node --import tsx bench/zkProveRunner.ts N ROWS ZKEY SEED
 */
import { groth16 } from "snarkjs";
import { createRng } from "../src/protocol/rng/prng.ts";
import { ensureCompiled } from "../src/zk/circuit.ts";
import { circuitInput } from "../src/zk/witness.ts";

const [n, rows, zkey, seed] = [
  Number(process.argv[2]),
  Number(process.argv[3]),
  process.argv[4] as string,
  Number(process.argv[5]),
];
const circuit = await ensureCompiled({ n, rows });
const rng = createRng(seed);
const input = () =>
  circuitInput(
    {
      k: rng.int(11),
      a: Int16Array.from({ length: n }, () => rng.int(65535) - 32767),
      q: Array.from({ length: rows }, () => Int8Array.from({ length: n }, () => rng.int(255) - 127)),
      scale: Array.from({ length: rows }, () => rng.int(2 ** 22)),
      y: [],
    },
    { n, rows },
  );
const times: number[] = [];
for (let i = 0; i < 2; i++) {
  const t0 = performance.now();
  await groth16.fullProve(input(), circuit.wasm, zkey);
  times.push(performance.now() - t0);
}
process.stdout.write(
  `${JSON.stringify({ coldMs: times[0], warmMs: times[1], maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`,
);
process.exit(0);
