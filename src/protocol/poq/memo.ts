/**
 * A bounded memo for per-text preprocessing (tokens, n-gram statistics). References repeat across
 * outputs (five QA systems share each question's answers; sixteen SummEval systems share eleven
 * references), so each is processed once. When full the memo is simply cleared: cheap and bounded.
 */
export function memoize<T>(compute: (text: string) => T, maxEntries = 20_000): (text: string) => T {
  const cache = new Map<string, T>();
  return (text) => {
    let value = cache.get(text);
    if (value === undefined) {
      value = compute(text);
      if (cache.size >= maxEntries) cache.clear();
      cache.set(text, value);
    }
    return value;
  };
}
