/**
 * Seeds and seed derivation. A seed is 32 bytes (0x hex). `deriveSeed(master, ...labels)` hashes a
 * domain tag, the master seed and length-prefixed, type-tagged labels with keccak-256, so that
 * `deriveSeed(m, "sweep", 3)` and `deriveSeed(m, "sweep3")` differ and any trial can be replayed alone.
 */
import { bytesToHex, concatBytes, type Hex, hexToBytes, isHexOfLength, utf8Bytes } from "../encoding/hex.ts";
import { keccak256 } from "../encoding/keccak.ts";

/** A 32-byte seed as 0x hex. */
export type Seed = Hex;

/** Anything that names a seed: a 32-byte hex seed, a non-negative integer, or a string label. */
export type SeedInput = Seed | number | bigint | string;

/** A label in a seed derivation path. */
export type SeedLabel = string | number | bigint;

const DOMAIN = utf8Bytes("verinfer/seed/v1");

function u32be(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

function encodeLabel(label: SeedLabel): Uint8Array {
  if (typeof label === "number") {
    if (!Number.isSafeInteger(label)) throw new RangeError(`seed label must be a safe integer, got ${label}`);
  }
  const tag = typeof label === "string" ? 0x73 /* s */ : 0x6e; /* n */
  const body = utf8Bytes(typeof label === "string" ? label : BigInt(label).toString(10));
  return concatBytes(new Uint8Array([tag]), u32be(body.length), body);
}

/** Normalizes any seed input to a 32-byte seed; integers and strings are hashed with the domain tag. */
export function seedFrom(input: SeedInput): Seed {
  if (typeof input === "string" && isHexOfLength(input, 32)) return input.toLowerCase() as Seed;
  if (typeof input === "number" && (!Number.isSafeInteger(input) || input < 0)) {
    throw new RangeError(`seed must be a non-negative safe integer, got ${input}`);
  }
  if (typeof input === "bigint" && input < 0n) throw new RangeError("seed must be non-negative");
  return bytesToHex(keccak256(concatBytes(DOMAIN, encodeLabel(input))));
}

/** Derives a child seed from a master seed and a path of labels. */
export function deriveSeed(master: SeedInput, ...labels: SeedLabel[]): Seed {
  const parts = [DOMAIN, hexToBytes(seedFrom(master), 32), ...labels.map(encodeLabel)];
  return bytesToHex(keccak256(concatBytes(...parts)));
}
