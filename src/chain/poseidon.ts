/**
 * Poseidon with 16 inputs (t = 17) on chain: its 1,292 round constants and 17×17 MDS matrix — the
 * parameters of circomlib's Poseidon(16) and poseidon-lite's poseidon16 — do not fit one contract, so
 * they live in three data contracts (a STOP byte, then 32-byte big-endian words) whose code hashes
 * contracts/src/zk/PoseidonT17.sol pins.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { bytesToHex, type Hex } from "../protocol/encoding/hex.ts";
import { keccak256 } from "../protocol/encoding/keccak.ts";

const require = createRequire(import.meta.url);

/** poseidon-lite's parameters for t = 17 (its package exports only the hash functions). */
function parameters(): { C: bigint[]; M: bigint[][] } {
  const dir = dirname(require.resolve("poseidon-lite"));
  const raw = require(join(dir, "constants", "16.js")).default as { C: string[]; M: string[][] };
  const big = (b64: string) => BigInt(`0x${Buffer.from(b64, "base64").toString("hex") || "0"}`);
  return { C: raw.C.map(big), M: raw.M.map((row) => row.map(big)) };
}

function blob(words: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(1 + 32 * words.length);
  words.forEach((w, i) => {
    out.set(Buffer.from(w.toString(16).padStart(64, "0"), "hex"), 1 + 32 * i);
  });
  return out;
}

/** Runtime code of the three constant contracts: round constants in two halves, then the matrix. */
export function poseidonConstantCode(): readonly [Uint8Array, Uint8Array, Uint8Array] {
  const { C, M } = parameters();
  return [blob(C.slice(0, 646)), blob(C.slice(646)), blob(M.flat())];
}

export function poseidonConstantCodeHashes(): readonly [Hex, Hex, Hex] {
  const [a, b, c] = poseidonConstantCode();
  return [bytesToHex(keccak256(a)), bytesToHex(keccak256(b)), bytesToHex(keccak256(c))];
}
