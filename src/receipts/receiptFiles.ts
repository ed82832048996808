/**
 * Receipt files, streamed: one JSON receipt, a JSON array, or JSON Lines. Entries are produced as the
 * file is read (bounded memory whatever its size): JSON Lines line by line, arrays element by element
 * through a small scanner that tracks strings and nesting. Entries stay JSON text, parsed by whoever
 * verifies them (worker threads, in parallel); one that is not JSON, or longer than the entry limit,
 * becomes a malformed-receipt verdict named by its place instead of failing the whole file.
 */
import { createReadStream } from "node:fs";
import { checkedFileSize } from "../data/files.ts";
import { VerinferError } from "../errors.ts";

/** Largest receipts file read by default. */
export const DEFAULT_MAX_RECEIPT_FILE_BYTES = 1024 * 1024 * 1024;
/** Largest single receipt (a receipt is about 1.2 KB of JSON). */
export const MAX_ENTRY_CHARS = 64 * 1024;

/** An entry of a receipts file: where it is, and its JSON text (or why it could not be read). */
export interface ReceiptEntry {
  readonly where: string;
  readonly text: string;
  readonly error?: string;
}

/** Options of {@link readReceiptEntries}. */
export interface ReadReceiptsOptions {
  readonly maxFileBytes?: number;
  /** Bytes read so far, of the file's total. */
  readonly onBytes?: (read: number, total: number) => void;
}

/** Streams the entries of a receipts file. */
export async function* readReceiptEntries(
  path: string,
  options: ReadReceiptsOptions = {},
): AsyncGenerator<ReceiptEntry, void, void> {
  const total = checkedFileSize(path, options.maxFileBytes ?? DEFAULT_MAX_RECEIPT_FILE_BYTES);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let read = 0;
  let splitter: EntrySplitter | null = null;
  let lead = "";
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    read += (chunk as Buffer).length;
    let text: string;
    try {
      text = decoder.decode(chunk as Buffer, { stream: true });
    } catch {
      throw new VerinferError(
        "FILE_NOT_UTF8",
        `${path} is not valid UTF-8 (within bytes ${read - (chunk as Buffer).length}..${read})`,
        {
          file: path,
        },
      );
    }
    if (splitter === null) {
      // The first non-blank character decides the format.
      lead += text;
      const start = lead.replace(/^\ufeff/, "").trimStart();
      if (start === "") continue;
      splitter = start.startsWith("[") ? new ArraySplitter(path) : new LineSplitter(path);
      text = start;
    }
    yield* splitter.push(text);
    options.onBytes?.(read, total);
  }
  if (splitter) yield* splitter.end();
}

interface EntrySplitter {
  push(text: string): Generator<ReceiptEntry>;
  end(): Generator<ReceiptEntry>;
}

/**
 * JSON Lines, one receipt per line. A first line that is not JSON by itself but opens an object is
 * the start of one pretty-printed receipt: the whole file is then that one document.
 */
class LineSplitter implements EntrySplitter {
  private partial = "";
  private line = 0;
  private first = true;
  /** Skipping the rest of an over-long line (already reported). */
  private skipping = false;
  /** The single document, when the file is one; null for JSON Lines. */
  private document: string[] | null = null;
  private documentChars = 0;
  constructor(private readonly path: string) {}

  *push(text: string): Generator<ReceiptEntry> {
    if (this.document) {
      yield* this.addToDocument(text);
      return;
    }
    const parts = (this.partial + text).split("\n");
    this.partial = parts.pop() as string;
    for (const [i, raw] of parts.entries()) {
      const entry = this.lineEntry(raw);
      if (this.document) {
        yield* this.addToDocument(`\n${[...parts.slice(i + 1), this.partial].join("\n")}`);
        this.partial = "";
        return;
      }
      if (entry) yield entry;
    }
    if (!this.skipping && this.partial.length > MAX_ENTRY_CHARS) {
      // A line this long is no receipt: report it once and skip the rest of it.
      yield tooLong(`${this.path}:${this.line + 1}`, this.partial.length);
      this.skipping = true;
    }
    if (this.skipping) this.partial = "";
  }

  *end(): Generator<ReceiptEntry> {
    if (this.document) {
      if (this.documentChars <= MAX_ENTRY_CHARS) yield { where: this.path, text: this.document.join("") };
      return;
    }
    const entry = this.lineEntry(this.partial);
    if (entry) yield entry;
  }

  private lineEntry(raw: string): ReceiptEntry | null {
    this.line++;
    if (this.skipping) {
      this.skipping = false;
      return null;
    }
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim() === "") return null;
    if (this.first) {
      this.first = false;
      if (line.trimStart().startsWith("{") && !isJson(line)) {
        this.document = [line];
        this.documentChars = line.length;
        return null;
      }
    }
    if (line.length > MAX_ENTRY_CHARS) return tooLong(`${this.path}:${this.line}`, line.length);
    return { where: `${this.path}:${this.line}`, text: line };
  }

  private *addToDocument(text: string): Generator<ReceiptEntry> {
    const over = this.documentChars > MAX_ENTRY_CHARS;
    this.documentChars += text.length;
    if (over) return;
    if (this.documentChars > MAX_ENTRY_CHARS) {
      yield tooLong(this.path, this.documentChars);
      this.document = [];
    } else this.document?.push(text);
  }
}

function tooLong(where: string, chars: number): ReceiptEntry {
  return {
    where,
    text: "",
    error: `an entry of ${chars}+ characters is over the ${MAX_ENTRY_CHARS}-character limit`,
  };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const COMMA = 44;

/** The elements of one top-level JSON array, as text. */
class ArraySplitter implements EntrySplitter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private current: string[] = [];
  private currentChars = 0;
  private tooLong = false;
  private index = 0;
  private closed = false;
  private trailing = false;
  constructor(private readonly path: string) {}

  *push(text: string): Generator<ReceiptEntry> {
    let from = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.closed) {
        if (!this.trailing && c > 32) {
          this.trailing = true;
          yield { where: `${this.path}`, text: "", error: "there is content after the array's closing ]" };
        }
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        continue;
      }
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        this.depth++;
        if (this.depth === 1) from = i + 1; // the array itself opens
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth === 0) {
          this.take(text.slice(from, i));
          const last = this.element();
          if (last) yield last;
          this.closed = true;
        }
      } else if (c === COMMA && this.depth === 1) {
        this.take(text.slice(from, i));
        yield this.element() ?? {
          where: `${this.path}[${this.index++}]`,
          text: "",
          error: "an empty array element",
        };
        from = i + 1;
      }
    }
    if (!this.closed && this.depth >= 1) this.take(text.slice(from));
  }

  *end(): Generator<ReceiptEntry> {
    if (!this.closed)
      yield {
        where: `${this.path}[${this.index}]`,
        text: "",
        error: "the file ends inside the array (no closing ])",
      };
  }

  private take(piece: string): void {
    if (this.tooLong) return;
    this.currentChars += piece.length;
    if (this.currentChars > MAX_ENTRY_CHARS) {
      this.tooLong = true;
      this.current = [];
    } else this.current.push(piece);
  }

  /** The element collected so far, or null when it is blank (an empty array). */
  private element(): ReceiptEntry | null {
    const where = `${this.path}[${this.index}]`;
    const chars = this.currentChars;
    const text = this.current.join("").trim();
    const over = this.tooLong;
    this.current = [];
    this.currentChars = 0;
    this.tooLong = false;
    if (over) {
      this.index++;
      return tooLong(where, chars);
    }
    if (text === "") return null;
    this.index++;
    return { where, text };
  }
}
