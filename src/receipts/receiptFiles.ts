/**
 * Receipt files: one JSON receipt, a JSON array, or JSON Lines. JSON Lines are kept as text and parsed
 * by whoever verifies them (worker threads, in parallel); a line that is not JSON then becomes a
 * malformed-receipt verdict named by its line instead of failing the whole file.
 */
import { readTextFile } from "../data/files.ts";

/** Largest receipts file read at once. */
const MAX_BYTES = 512 * 1024 * 1024;

/** An entry of a receipts file: where it is, and the receipt (parsed object, or JSON text). */
export interface ReceiptEntry {
  readonly where: string;
  readonly item: unknown;
}

/** Reads a receipts file. */
export function readReceiptFile(path: string): ReceiptEntry[] {
  const text = readTextFile(path, MAX_BYTES);
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const oneDocument =
    text.trimStart().startsWith("[") || lines.length <= 1 || !lines.every((l) => l.trim().startsWith("{"));
  if (oneDocument) {
    try {
      const value: unknown = JSON.parse(text);
      return Array.isArray(value)
        ? value.map((v, i) => ({ where: `${path}[${i}]`, item: v }))
        : [{ where: path, item: value }];
    } catch {
      if (text.trimStart().startsWith("[") || lines.length <= 1) return [{ where: path, item: text }];
    }
  }
  const out: ReceiptEntry[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() !== "") out.push({ where: `${path}:${i + 1}`, item: line });
  });
  return out;
}

/** The parsed receipt of an entry, or the JSON error. */
export function parseEntry(entry: ReceiptEntry): { value: unknown } | { error: string } {
  if (typeof entry.item !== "string") return { value: entry.item };
  try {
    return { value: JSON.parse(entry.item) };
  } catch (e) {
    return { error: `not valid JSON: ${(e as Error).message}` };
  }
}
