import { fail, ok, type Verdict } from "../errors.ts";
import { concatBytes, parseHex } from "./hex.ts";

const UINT = /^uint(\d{0,3})$/;
const INT = /^int(\d{0,3})$/;
const BYTES_N = /^bytes(\d{1,2})$/;

/** True for the atomic (single 32-byte word) Solidity types: uintN, intN, address, bool, bytesN. */
export function isAtomicType(type: string): boolean {
  return UINT.test(type) || INT.test(type) || BYTES_N.test(type) || type === "address" || type === "bool";
}

/** Integer widths must be multiples of 8 in 8..256; bytesN sizes in 1..32. */
function integerBits(match: RegExpExecArray): number | null {
  const bits = match[1] === "" ? 256 : Number(match[1]);
  return bits >= 8 && bits <= 256 && bits % 8 === 0 ? bits : null;
}

/** Converts number / bigint / decimal or 0x string to bigint, rejecting fractions and garbage. */
export function toBigInt(value: unknown): bigint | null {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") return Number.isSafeInteger(value) ? BigInt(value) : null;
  if (typeof value === "string" && /^-?(0x[0-9a-fA-F]+|\d+)$/.test(value)) {
    return value.startsWith("-") ? -BigInt(value.slice(1)) : BigInt(value);
  }
  return null;
}

function wordFromBigInt(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = BigInt.asUintN(256, value);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** ABI-encodes one atomic value into its 32-byte word (left-padded numbers, right-padded bytesN). */
export function encodeAtomicWord(type: string, value: unknown): Verdict<Uint8Array> {
  const bad = (why: string) => fail<Uint8Array>("EIP712_VALUE_INVALID", `${type}: ${why}`, { type });
  let m = UINT.exec(type);
  if (m) {
    const bits = integerBits(m);
    if (bits === null) return fail("EIP712_TYPE_INVALID", `unsupported integer type ${type}`, { type });
    const v = toBigInt(value);
    if (v === null) return bad("not an integer");
    if (v < 0n || v >= 1n << BigInt(bits)) return bad(`out of range for ${bits} bits`);
    return ok(wordFromBigInt(v));
  }
  m = INT.exec(type);
  if (m) {
    const bits = integerBits(m);
    if (bits === null) return fail("EIP712_TYPE_INVALID", `unsupported integer type ${type}`, { type });
    const v = toBigInt(value);
    if (v === null) return bad("not an integer");
    const half = 1n << BigInt(bits - 1);
    if (v < -half || v >= half) return bad(`out of range for ${bits} bits`);
    return ok(wordFromBigInt(v));
  }
  if (type === "address") {
    if (typeof value !== "string") return bad("not a hex string");
    const bytes = parseHex(value, 20);
    if (!bytes.ok) return bad("not a 20-byte hex address");
    return ok(concatBytes(new Uint8Array(12), bytes.value));
  }
  if (type === "bool") {
    if (typeof value !== "boolean") return bad("not a boolean");
    return ok(wordFromBigInt(value ? 1n : 0n));
  }
  m = BYTES_N.exec(type);
  if (m) {
    const size = Number(m[1]);
    if (size < 1 || size > 32) return fail("EIP712_TYPE_INVALID", `unsupported type ${type}`, { type });
    if (typeof value !== "string") return bad("not a hex string");
    const bytes = parseHex(value, size);
    if (!bytes.ok) return bad(`not a ${size}-byte hex string`);
    const out = new Uint8Array(32);
    out.set(bytes.value);
    return ok(out);
  }
  return fail("EIP712_TYPE_INVALID", `not an atomic type: ${type}`, { type });
}

/** `abi.encode(...)` for atomic types only: the concatenation of their 32-byte words. */
export function abiEncodeAtomic(types: readonly string[], values: readonly unknown[]): Verdict<Uint8Array> {
  if (types.length !== values.length) {
    return fail("EIP712_VALUE_INVALID", `expected ${types.length} values, got ${values.length}`);
  }
  const words: Uint8Array[] = [];
  for (let i = 0; i < types.length; i++) {
    const word = encodeAtomicWord(types[i] as string, values[i]);
    if (!word.ok) return word;
    words.push(word.value);
  }
  return ok(concatBytes(...words));
}
