/**
 * Standard base64 (RFC 4648 §4), strict about the alphabet and padding; whitespace is skipped because
 * PEM bodies and XML-DSig values wrap lines.
 */
import { fail, ok, type Verdict } from "../errors.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Decodes base64, ignoring ASCII whitespace. */
export function decodeBase64(text: string): Verdict<Uint8Array> {
  const clean = text.replace(/[\t\n\r ]+/g, "");
  if (clean.length % 4 !== 0)
    return fail("INPUT_INVALID", `base64 length ${clean.length} is not a multiple of 4`);
  const pad = clean.endsWith("==") ? 2 : clean.endsWith("=") ? 1 : 0;
  const out = new Uint8Array((clean.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < clean.length; i += 4) {
    let v = 0;
    for (let j = 0; j < 4; j++) {
      const c = clean.charCodeAt(i + j);
      const isPad = c === 61 && i + 4 === clean.length && j >= 4 - pad;
      const d = isPad ? 0 : c < 128 ? (DECODE[c] as number) : -1;
      if (d < 0) return fail("INPUT_INVALID", `invalid base64 character at position ${i + j}`);
      v = (v << 6) | d;
    }
    for (let j = 0; j < 3; j++) if (o + j < out.length) out[o + j] = (v >> (16 - 8 * j)) & 0xff;
    o += 3;
  }
  return ok(out);
}

/** Encodes bytes as base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] as number;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    const v = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    out += ALPHABET[(v >> 18) & 63] as string;
    out += ALPHABET[(v >> 12) & 63] as string;
    out += b === undefined ? "=" : (ALPHABET[(v >> 6) & 63] as string);
    out += c === undefined ? "=" : (ALPHABET[v & 63] as string);
  }
  return out;
}
