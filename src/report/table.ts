/** Plain-text tables for people: column widths from content, numbers right-aligned. */

/** A cell: text, a number (formatted with `digits`), or null (shown as "–"). */
export type Cell = string | number | null;

/** Options for {@link renderTable}. */
export interface TableOptions {
  readonly digits?: number;
  readonly title?: string;
}

function show(cell: Cell, digits: number): string {
  if (cell === null) return "–";
  if (typeof cell === "number") return Number.isInteger(cell) ? String(cell) : cell.toFixed(digits);
  return cell;
}

/** Renders rows under headers as an aligned table. */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
  options: TableOptions = {},
): string {
  const digits = options.digits ?? 3;
  const text = rows.map((r) => r.map((c) => show(c, digits)));
  const numeric = headers.map((_, i) => rows.every((r) => typeof r[i] === "number" || r[i] === null));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  const out = [line(headers), widths.map((w) => "─".repeat(w)).join("  "), ...text.map(line)];
  if (options.title) out.unshift(options.title);
  return out.join("\n");
}
