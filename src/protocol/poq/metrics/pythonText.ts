/**
 * Python string semantics that reference metric scripts rely on, so our metrics match them exactly:
 * `str.split()` splits on Python's Unicode whitespace (which differs from JS `\s`: Python counts
 * U+001C–U+001F and not U+FEFF), and regex `\b` / `\w` are Unicode-aware (letters, digits, `_`).
 */

/** Characters for which Python's `str.isspace()` is true. */
export const PY_WHITESPACE =
  "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

const PY_SPLIT = new RegExp(`[${PY_WHITESPACE}]+`, "u");

/** Python `s.split()` with no arguments. */
export function pySplit(text: string): string[] {
  const parts = text.split(PY_SPLIT);
  const out: string[] = [];
  for (const p of parts) if (p.length > 0) out.push(p);
  return out;
}

/** Python 3 `\w` for str patterns: Unicode letters, digits/numerics and underscore. */
export const PY_WORD_CHAR = "[\\p{L}\\p{N}_]";
