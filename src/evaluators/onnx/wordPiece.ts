/**
 * A BERT WordPiece tokenizer read from a Hugging Face `tokenizer.json`: BertNormalizer (clean text,
 * CJK padding, lowercasing and accent stripping), BertPreTokenizer (split on whitespace and on every
 * punctuation character), greedy longest-match WordPiece with `##` continuations, the
 * `[CLS] A [SEP] (B [SEP])` template with token type ids, and longest-first truncation.
 */
import { readTextFile } from "../../data/files.ts";
import { VerinferError } from "../../errors.ts";

/** Token ids and type ids of one encoded sequence or pair (no padding). */
export interface Encoding {
  readonly ids: readonly number[];
  readonly typeIds: readonly number[];
}

/** A loaded tokenizer. */
export interface WordPieceTokenizer {
  readonly vocabSize: number;
  readonly maxLength: number;
  readonly padId: number;
  /** Tokens (strings) of a text before ids, after normalization and WordPiece. */
  tokenize(text: string): string[];
  /** `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`, truncated to maxLength. */
  encode(a: string, b?: string): Encoding;
}

interface TokenizerJson {
  normalizer?: {
    type?: string;
    clean_text?: boolean;
    handle_chinese_chars?: boolean;
    strip_accents?: boolean | null;
    lowercase?: boolean;
  } | null;
  pre_tokenizer?: { type?: string } | null;
  model?: {
    type?: string;
    vocab?: Record<string, number>;
    unk_token?: string;
    continuing_subword_prefix?: string;
    max_input_chars_per_word?: number;
  };
  truncation?: { max_length?: number } | null;
  padding?: { pad_id?: number } | null;
}

function isChinese(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

const CONTROL = /^[\p{Cc}\p{Cf}]$/u;
const WHITESPACE = /^[\s\p{Zs}]$/u;
const PUNCTUATION = /^\p{P}$/u;
const COMBINING_MARK = /\p{Mn}/gu;

function isBertPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0) as number;
  // BERT treats all non-letter/number ASCII as punctuation, plus Unicode P* categories.
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126))
    return true;
  return PUNCTUATION.test(ch);
}

/** Parses a tokenizer.json text; only WordPiece models with the BERT normalizer are supported. */
export function parseWordPieceTokenizer(text: string, source: string): WordPieceTokenizer {
  let json: TokenizerJson;
  try {
    json = JSON.parse(text) as TokenizerJson;
  } catch {
    throw new VerinferError("TOKENIZER_INVALID", `${source} is not valid JSON`, { file: source });
  }
  const model = json.model;
  if (model?.type !== "WordPiece" || typeof model.vocab !== "object" || model.vocab === null) {
    throw new VerinferError(
      "TOKENIZER_INVALID",
      `${source}: unsupported tokenizer model ${model?.type ?? "(none)"}; verinfer reads WordPiece tokenizers (BERT, MiniLM, MPNet-style)`,
      { file: source },
    );
  }
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(model.vocab)) {
    if (!Number.isInteger(id) || id < 0)
      throw new VerinferError("TOKENIZER_INVALID", `${source}: vocab id of "${token}" is invalid`, {
        file: source,
      });
    vocab.set(token, id);
  }
  const special = (token: string) => {
    const id = vocab.get(token);
    if (id === undefined)
      throw new VerinferError("TOKENIZER_INVALID", `${source}: vocab has no ${token}`, { file: source });
    return id;
  };
  const unkToken = model.unk_token ?? "[UNK]";
  const unk = special(unkToken);
  const cls = special("[CLS]");
  const sep = special("[SEP]");
  const prefix = model.continuing_subword_prefix ?? "##";
  const maxChars = model.max_input_chars_per_word ?? 100;
  const normalizer = json.normalizer ?? {};
  const lowercase = normalizer.lowercase ?? true;
  const stripAccents = normalizer.strip_accents ?? lowercase;
  const maxLength = json.truncation?.max_length ?? 512;
  const padId = json.padding?.pad_id ?? 0;

  const normalize = (input: string): string => {
    let out = "";
    for (const ch of input) {
      const cp = ch.codePointAt(0) as number;
      if (normalizer.clean_text !== false) {
        if (cp === 0 || cp === 0xfffd) continue;
        if (ch === "\t" || ch === "\n" || ch === "\r" || WHITESPACE.test(ch)) {
          out += " ";
          continue;
        }
        if (CONTROL.test(ch)) continue;
      }
      out += normalizer.handle_chinese_chars !== false && isChinese(cp) ? ` ${ch} ` : ch;
    }
    if (lowercase) out = out.toLowerCase();
    if (stripAccents) out = out.normalize("NFD").replace(COMBINING_MARK, "");
    return out;
  };

  const preTokenize = (input: string): string[] => {
    const words: string[] = [];
    for (const chunk of input.split(/\s+/u)) {
      let current = "";
      for (const ch of chunk) {
        if (isBertPunctuation(ch)) {
          if (current) words.push(current);
          words.push(ch);
          current = "";
        } else current += ch;
      }
      if (current) words.push(current);
    }
    return words;
  };

  const wordPiece = (word: string): string[] => {
    const chars = Array.from(word);
    if (chars.length > maxChars) return [unkToken];
    const pieces: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let piece: string | null = null;
      while (start < end) {
        const candidate = (start > 0 ? prefix : "") + chars.slice(start, end).join("");
        if (vocab.has(candidate)) {
          piece = candidate;
          break;
        }
        end--;
      }
      if (piece === null) return [unkToken];
      pieces.push(piece);
      start = end;
    }
    return pieces;
  };

  const tokenize = (input: string) => preTokenize(normalize(input)).flatMap(wordPiece);
  const toIds = (tokens: string[]) => tokens.map((t) => vocab.get(t) ?? unk);

  return {
    vocabSize: vocab.size,
    maxLength,
    padId,
    tokenize,
    encode(a, b) {
      let ta = toIds(tokenize(a));
      let tb = b === undefined ? null : toIds(tokenize(b));
      const budget = maxLength - (tb === null ? 2 : 3);
      // Longest-first truncation: drop from the longer sequence one token at a time.
      while (ta.length + (tb?.length ?? 0) > budget) {
        if (tb !== null && tb.length > ta.length) tb = tb.slice(0, -1);
        else ta = ta.slice(0, -1);
      }
      const ids = [cls, ...ta, sep, ...(tb === null ? [] : [...tb, sep])];
      const typeIds = [
        ...new Array(ta.length + 2).fill(0),
        ...(tb === null ? [] : new Array(tb.length + 1).fill(1)),
      ];
      return { ids, typeIds };
    },
  };
}

/** Loads `tokenizer.json` from disk. */
export function loadWordPieceTokenizer(path: string): WordPieceTokenizer {
  return parseWordPieceTokenizer(readTextFile(path), path);
}
