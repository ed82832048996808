/**
 * Reading user and dataset files safely: existence, a size limit per kind, strict UTF-8 (the first
 * invalid byte is reported with its line), and JSON / JSON Lines parsing whose errors name the file,
 * the line and, for records, the field.
 */
import { readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import type { z } from "zod";
import { VerinferError } from "../errors.ts";
import { locateJsonError } from "./jsonErrorLocation.ts";

/** Default size limit for a text file (the largest shared dataset is under 5 MB). */
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

/** Where a record came from, for error messages. */
export interface RecordLocation {
  readonly file: string;
  readonly line?: number;
  readonly record?: string;
}

function describe(location: RecordLocation): string {
  let s = location.file;
  if (location.line !== undefined) s += ` line ${location.line}`;
  if (location.record !== undefined) s += ` record ${location.record}`;
  return s;
}

/** The size of a regular file, or FILE_NOT_FOUND / FILE_TOO_LARGE before anything is read. */
export function checkedFileSize(path: string, maxBytes: number): number {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new VerinferError("FILE_NOT_FOUND", `${path} is not a file`, { file: path });
    size = stat.size;
  } catch (error) {
    if (error instanceof VerinferError) throw error;
    throw new VerinferError("FILE_NOT_FOUND", `file not found: ${path}`, { file: path });
  }
  if (size > maxBytes) {
    throw new VerinferError("FILE_TOO_LARGE", `${path} is ${size} bytes, over the ${maxBytes}-byte limit`, {
      file: path,
      size,
      maxBytes,
    });
  }
  return size;
}

/** Reads a file as strict UTF-8 text (a leading BOM is dropped). */
export function readTextFile(path: string, maxBytes = DEFAULT_MAX_BYTES): string {
  checkedFileSize(path, maxBytes);
  const bytes = readFileSync(path);
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return text.startsWith("\ufeff") ? text.slice(1) : text;
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const line = offset === null ? undefined : countLines(bytes, offset);
    throw new VerinferError(
      "FILE_NOT_UTF8",
      `${path} is not valid UTF-8${offset === null ? "" : ` (byte ${offset}, line ${line})`}`,
      { file: path, byteOffset: offset, line },
    );
  }
}

function countLines(bytes: Uint8Array, end: number): number {
  let line = 1;
  for (let i = 0; i < end; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/** Offset of the first byte that breaks UTF-8, or null if none is found. */
export function firstInvalidUtf8(bytes: Uint8Array): number | null {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    let need = 0;
    let min = 0;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    if (i + need >= bytes.length) return i; // sequence cut off by the end of the file
    let cp = b & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k] as number;
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return null;
}

/** Parses JSON text; a syntax error names the file, line and column. */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const offset = locateJsonError(text);
    const before = text.slice(0, offset);
    const line = before.split("\n").length;
    const column = offset - before.lastIndexOf("\n");
    const found =
      offset < text.length ? `unexpected ${JSON.stringify(text[offset])}` : "unexpected end of input";
    throw new VerinferError(
      "DATASET_MALFORMED",
      `${basename(file)}: invalid JSON at line ${line} column ${column}: ${found}`,
      {
        file,
        line,
        column,
        cause: error instanceof Error ? error.message.slice(0, 200) : String(error),
      },
    );
  }
}

/** Reads and parses a JSON file. */
export function readJsonFile(path: string, maxBytes = DEFAULT_MAX_BYTES): unknown {
  return parseJsonText(readTextFile(path, maxBytes), path);
}

/** Parses a JSON Lines text; blank lines are skipped; errors name the line. */
export function parseJsonLines(text: string, file: string): { line: number; value: unknown }[] {
  const out: { line: number; value: unknown }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as string).trim();
    if (raw.length === 0) continue;
    try {
      out.push({ line: i + 1, value: JSON.parse(raw) });
    } catch {
      const column = locateJsonError(raw) + 1;
      throw new VerinferError(
        "DATASET_MALFORMED",
        `${basename(file)} line ${i + 1} column ${column}: invalid JSON`,
        {
          file,
          line: i + 1,
          column,
        },
      );
    }
  }
  return out;
}

/** Validates a parsed record with a zod schema; the error names file, line/record and field. */
export function parseRecord<T>(schema: z.ZodType<T>, value: unknown, location: RecordLocation): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join(".") : "(record)";
  const reason = issue ? issue.message : "does not match the expected format";
  throw new VerinferError(
    "DATASET_MALFORMED",
    `${basename(location.file)}${describe(location).slice(location.file.length)}: field ${field}: ${reason}`,
    { ...location, field },
  );
}

/** A loader for a JSON Lines file whose every line must match `schema`. */
export function jsonLinesLoader<T>(schema: z.ZodType<T>): (path: string) => T[] {
  return (path) =>
    parseJsonLines(readTextFile(path), path).map(({ line, value }) =>
      parseRecord(schema, value, { file: path, line }),
    );
}
