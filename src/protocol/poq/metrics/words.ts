/** Word tokens for lexical similarity: lowercase runs of Unicode letters and digits. */
const WORD = /[\p{L}\p{N}]+/gu;

/** Lowercased Unicode word tokens of a text. */
export function wordTokens(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

/** Token counts. */
export function countTokens(tokens: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}
