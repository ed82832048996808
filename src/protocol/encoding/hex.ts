import { fail, ok, unwrap, type Verdict } from "../errors.ts";

/** A 0x-prefixed lowercase or mixed-case hex string. */
export type Hex = `0x${string}`;

const HEX_BODY = /^[0-9a-fA-F]*$/;

/** Parses a 0x-prefixed hex string of even length into bytes. */
export function parseHex(value: string, expectedBytes?: number): Verdict<Uint8Array> {
  if (typeof value !== "string" || !value.startsWith("0x")) {
    return fail("HEX_INVALID", "hex string must start with 0x", { value: preview(value) });
  }
  const body = value.slice(2);
  if (body.length % 2 !== 0 || !HEX_BODY.test(body)) {
    return fail("HEX_INVALID", "hex string must have an even number of hex digits", {
      value: preview(value),
    });
  }
  if (expectedBytes !== undefined && body.length !== expectedBytes * 2) {
    return fail("HEX_INVALID", `expected ${expectedBytes} bytes, got ${body.length / 2}`, {
      value: preview(value),
    });
  }
  const out = new Uint8Array(body.length / 2);
  writeHex(value, out, 0);
  return ok(out);
}

const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  NIBBLE[65 + i] = 10 + i;
  NIBBLE[97 + i] = 10 + i;
}

/**
 * Decodes the digits of a 0x hex string into `out` at `offset` (hot paths: receipt encoding). Throws
 * RangeError on a non-hex digit or when the bytes do not fit.
 */
export function writeHex(value: string, out: Uint8Array, offset: number): void {
  const n = (value.length - 2) >> 1;
  if (offset + n > out.length) throw new RangeError("hex value does not fit");
  for (let i = 0, j = 2; i < n; i++, j += 2) {
    const hi = NIBBLE[value.charCodeAt(j)] ?? -1;
    const lo = NIBBLE[value.charCodeAt(j + 1)] ?? -1;
    if (hi < 0 || lo < 0) throw new RangeError(`invalid hex digit in ${preview(value)}`);
    out[offset + i] = (hi << 4) | lo;
  }
}

/** Like {@link parseHex} but throws on malformed input. */
export function hexToBytes(value: string, expectedBytes?: number): Uint8Array {
  return unwrap(parseHex(value, expectedBytes));
}

const HEX_TABLE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Encodes bytes as a lowercase 0x-prefixed hex string. */
export function bytesToHex(bytes: Uint8Array): Hex {
  let s = "0x";
  for (const b of bytes) s += HEX_TABLE[b];
  return s as Hex;
}

/** True when `value` is a 0x-prefixed hex string of exactly `bytes` bytes. */
export function isHexOfLength(value: unknown, bytes: number): value is Hex {
  return (
    typeof value === "string" &&
    value.length === 2 + bytes * 2 &&
    value.startsWith("0x") &&
    HEX_BODY.test(value.slice(2))
  );
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** UTF-8 encodes a string. */
export function utf8Bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Lexicographic comparison of two byte arrays (as unsigned big-endian numbers when equal length). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function preview(value: unknown): string {
  const s = String(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
