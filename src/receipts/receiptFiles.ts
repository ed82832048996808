/**
 * Receipt files: one JSON receipt, a JSON array, or JSON Lines. A line that is not JSON becomes a
 * malformed-receipt entry (named by its line) instead of failing the whole file, so one bad line does
 * not hide the verdicts of the others.
 */
import { readTextFile } from "../data/files.ts";

/** Largest receipts file read at once. */
const MAX_BYTES = 512 * 1024 * 1024;

/** An entry of a receipts file: its location and either the parsed JSON or a parse error. */
export interface ReceiptEntry {
  readonly where: string;
  readonly value: unknown;
  readonly parseError: string | null;
}

/** Reads a receipts file. */
export function readReceiptFile(path: string): ReceiptEntry[] {
  const text = readTextFile(path, MAX_BYTES);
  const trimmed = text.trimStart();
  if (trimmed.startsWith("[") || (trimmed.startsWith("{") && !trimmed.includes("\n{"))) {
    try {
      const value: unknown = JSON.parse(text);
      return Array.isArray(value)
        ? value.map((v, i) => ({ where: `${path}[${i}]`, value: v, parseError: null }))
        : [{ where: path, value, parseError: null }];
    } catch (e) {
      return [{ where: path, value: undefined, parseError: `not valid JSON: ${(e as Error).message}` }];
    }
  }
  const out: ReceiptEntry[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      out.push({ where: `${path}:${i + 1}`, value: JSON.parse(line), parseError: null });
    } catch (e) {
      out.push({
        where: `${path}:${i + 1}`,
        value: undefined,
        parseError: `not valid JSON: ${(e as Error).message}`,
      });
    }
  });
  return out;
}
