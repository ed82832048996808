/**
 * ASN.1 DER: a strict, bounds-checked reader (certificates, OCSP responses, TcbInfo extensions) and a
 * small writer (dev-TEE certificates and test fixtures). Only definite lengths and low tag numbers, as
 * DER requires for everything we read; anything else is malformed.
 *
 * The reader throws {@link DerError} so that nested parsers stay readable; every public parser built on
 * it catches that and returns a verdict, so malformed input never escapes as an exception.
 */

import { utcParts } from "./time.ts";

/** Raised by the reader on malformed input. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DerError";
  }
}

/** Universal tags used in this project. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  SEQUENCE: 0x30,
  SET: 0x31,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
} as const;

/** One TLV inside a buffer. `tag` is the full identifier byte (class, constructed bit, number). */
export interface DerNode {
  readonly bytes: Uint8Array;
  readonly tag: number;
  /** Offset of the identifier byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly contentStart: number;
  /** Offset just past the content. */
  readonly end: number;
}

const MAX_DEPTH = 32;

/** Reads the TLV at `offset`, which must end at or before `limit`. */
export function readNode(bytes: Uint8Array, offset = 0, limit = bytes.length): DerNode {
  if (offset + 2 > limit) throw new DerError(`truncated TLV at offset ${offset}`);
  const tag = bytes[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`high tag numbers are not supported (offset ${offset})`);
  let pos = offset + 1;
  const first = bytes[pos++] as number;
  let length: number;
  if (first < 0x80) length = first;
  else {
    const count = first & 0x7f;
    if (count === 0) throw new DerError(`indefinite length is not DER (offset ${offset})`);
    if (count > 4) throw new DerError(`length of ${count} bytes is too large (offset ${offset})`);
    if (pos + count > limit) throw new DerError(`truncated length at offset ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[pos++] as number);
    if (length < 0x80 || (count > 1 && (bytes[pos - count] as number) === 0)) {
      throw new DerError(`non-minimal length encoding at offset ${offset}`);
    }
  }
  const end = pos + length;
  if (end > limit) throw new DerError(`content runs past its container at offset ${offset}`);
  return { bytes, tag, start: offset, contentStart: pos, end };
}

/** Parses a whole buffer as exactly one TLV (no trailing bytes). */
export function readRoot(bytes: Uint8Array): DerNode {
  const node = readNode(bytes, 0, bytes.length);
  if (node.end !== bytes.length)
    throw new DerError(`${bytes.length - node.end} trailing bytes after the DER value`);
  return node;
}

/** The content bytes of a node. */
export function content(node: DerNode): Uint8Array {
  return node.bytes.subarray(node.contentStart, node.end);
}

/** The whole TLV encoding of a node. */
export function encoded(node: DerNode): Uint8Array {
  return node.bytes.subarray(node.start, node.end);
}

/** The children of a constructed node, in order. */
export function children(node: DerNode, depth = 0): DerNode[] {
  if ((node.tag & 0x20) === 0) throw new DerError(`tag 0x${node.tag.toString(16)} is not constructed`);
  if (depth > MAX_DEPTH) throw new DerError("nesting too deep");
  const out: DerNode[] = [];
  let pos = node.contentStart;
  while (pos < node.end) {
    const child = readNode(node.bytes, pos, node.end);
    out.push(child);
    pos = child.end;
  }
  return out;
}

/** Checks a node's tag, naming what was expected. */
export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node) throw new DerError(`missing ${what}`);
  if (node.tag !== tag) {
    throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, got 0x${node.tag.toString(16)}`);
  }
  return node;
}

/** The children of a SEQUENCE, checked to be one. */
export function sequence(node: DerNode | undefined, what: string): DerNode[] {
  return children(expectTag(node, TAG.SEQUENCE, what));
}

/** Decodes an OBJECT IDENTIFIER to dotted form. */
export function decodeOid(node: DerNode): string {
  const b = content(expectTag(node, TAG.OID, "object identifier"));
  if (b.length === 0) throw new DerError("empty object identifier");
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < b.length; i++) {
    const byte = b[i] as number;
    if (value === 0 && byte === 0x80) throw new DerError("non-minimal object identifier arc");
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError("object identifier arc too large");
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    } else if (i === b.length - 1) throw new DerError("truncated object identifier");
  }
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join(".");
}

/** Decodes an INTEGER (two's complement) to a bigint. */
export function decodeInteger(node: DerNode): bigint {
  const b = content(expectTag(node, TAG.INTEGER, "integer"));
  if (b.length === 0) throw new DerError("empty integer");
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  if (((b[0] as number) & 0x80) !== 0) v -= 1n << BigInt(8 * b.length);
  return v;
}

/** The unsigned magnitude bytes of a non-negative INTEGER (leading zero stripped). */
export function integerBytes(node: DerNode): Uint8Array {
  const b = content(expectTag(node, TAG.INTEGER, "integer"));
  if (b.length === 0 || ((b[0] as number) & 0x80) !== 0)
    throw new DerError("expected a non-negative integer");
  return b.length > 1 && b[0] === 0 ? b.subarray(1) : b;
}

/** The bits of a BIT STRING with no unused bits. */
export function decodeBitString(node: DerNode): Uint8Array {
  const b = content(expectTag(node, TAG.BIT_STRING, "bit string"));
  if (b.length === 0 || b[0] !== 0) throw new DerError("bit string with unused bits");
  return b.subarray(1);
}

/** Decodes a BOOLEAN. */
export function decodeBoolean(node: DerNode): boolean {
  const b = content(expectTag(node, TAG.BOOLEAN, "boolean"));
  if (b.length !== 1 || (b[0] !== 0 && b[0] !== 0xff)) throw new DerError("malformed boolean");
  return b[0] === 0xff;
}

/** Decodes a string type (UTF8String, PrintableString, IA5String, …) as text. */
export function decodeString(node: DerNode): string {
  const b = content(node);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(b);
  } catch {
    throw new DerError("string is not valid UTF-8");
  }
}

/** Decodes UTCTime or GeneralizedTime (Z only, as RFC 5280 requires) to milliseconds since the epoch. */
export function decodeTime(node: DerNode): number {
  const text = decodeString(node);
  let m: RegExpMatchArray | null;
  let year: number;
  if (node.tag === TAG.UTC_TIME) {
    m = text.match(/^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/);
    if (!m) throw new DerError(`malformed UTCTime "${text}"`);
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (node.tag === TAG.GENERALIZED_TIME) {
    m = text.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/);
    if (!m) throw new DerError(`malformed GeneralizedTime "${text}"`);
    year = Number(m[1]);
  } else throw new DerError(`expected a time, got tag 0x${node.tag.toString(16)}`);
  const [month, day, hour, minute, second] = [2, 3, 4, 5, 6].map((i) => Number(m?.[i]));
  const ms = Date.UTC(year, (month as number) - 1, day, hour, minute, second);
  if (!Number.isFinite(ms)) throw new DerError(`invalid time "${text}"`);
  return ms;
}

// ---------------------------------------------------------------------------------------------------
// Writer

function lengthBytes(length: number): number[] {
  if (length < 0x80) return [length];
  const out: number[] = [];
  for (let v = length; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return [0x80 | out.length, ...out];
}

/** A TLV from a tag and its content. */
export function tlv(tag: number, body: Uint8Array): Uint8Array {
  const head = [tag, ...lengthBytes(body.length)];
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** SEQUENCE of already-encoded parts. */
export const derSequence = (...parts: Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, concat(parts));
/** SET of already-encoded parts (callers order them; DER sorts SET OF, we only write single-member sets). */
export const derSet = (...parts: Uint8Array[]): Uint8Array => tlv(TAG.SET, concat(parts));
/** Context-specific tag [n], constructed (explicit) or primitive (implicit). */
export const derContext = (n: number, constructed: boolean, body: Uint8Array): Uint8Array =>
  tlv(0x80 | (constructed ? 0x20 : 0) | n, body);
/** OCTET STRING. */
export const derOctetString = (b: Uint8Array): Uint8Array => tlv(TAG.OCTET_STRING, b);
/** BIT STRING with no unused bits. */
export const derBitString = (b: Uint8Array): Uint8Array => tlv(TAG.BIT_STRING, concat([Uint8Array.of(0), b]));
/** NULL. */
export const derNull = (): Uint8Array => Uint8Array.of(TAG.NULL, 0);
/** BOOLEAN. */
export const derBoolean = (v: boolean): Uint8Array => Uint8Array.of(TAG.BOOLEAN, 1, v ? 0xff : 0);
/** UTF8String. */
export const derUtf8 = (s: string): Uint8Array => tlv(TAG.UTF8_STRING, new TextEncoder().encode(s));
/** PrintableString. */
export const derPrintable = (s: string): Uint8Array => tlv(TAG.PRINTABLE_STRING, new TextEncoder().encode(s));

/** INTEGER from a non-negative bigint. */
export function derInteger(v: bigint): Uint8Array {
  if (v < 0n) throw new RangeError("only non-negative integers are written");
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const bytes = Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
  return tlv(TAG.INTEGER, (bytes[0] as number) & 0x80 ? concat([Uint8Array.of(0), bytes]) : bytes);
}

/** OBJECT IDENTIFIER from dotted form. */
export function derOid(oid: string): Uint8Array {
  const arcs = oid.split(".").map(Number);
  const out: number[] = [];
  const push = (v: number) => {
    const stack = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) stack.unshift(0x80 | (x & 0x7f));
    out.push(...stack);
  };
  push((arcs[0] as number) * 40 + (arcs[1] as number));
  for (const a of arcs.slice(2)) push(a);
  return tlv(TAG.OID, Uint8Array.from(out));
}

/** UTCTime for years 1950–2049, GeneralizedTime otherwise (RFC 5280), from epoch milliseconds. */
export function derTime(ms: number): Uint8Array {
  const p = utcParts(ms);
  const two = (v: number) => String(v).padStart(2, "0");
  const rest = `${two(p.month)}${two(p.day)}${two(p.hour)}${two(p.minute)}${two(p.second)}Z`;
  if (p.year >= 1950 && p.year < 2050) {
    return tlv(TAG.UTC_TIME, new TextEncoder().encode(`${two(p.year % 100)}${rest}`));
  }
  return tlv(TAG.GENERALIZED_TIME, new TextEncoder().encode(`${String(p.year).padStart(4, "0")}${rest}`));
}
