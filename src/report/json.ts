/** JSON text for reports and `--json`: bigint amounts (wei) become decimal strings, never lose digits. */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`;
}
