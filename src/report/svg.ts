/**
 * Self-contained SVG charts for HTML reports (no scripts, no network): horizontal bar charts with
 * interval whiskers and reference lines, and scatter plots.
 */

/** Escapes text for HTML/SVG. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** One bar with an optional interval. */
export interface Bar {
  readonly label: string;
  readonly value: number | null;
  readonly low?: number | null;
  readonly high?: number | null;
}

/** A labelled vertical reference line (e.g. a paper's reported value). */
export interface ReferenceLine {
  readonly label: string;
  readonly value: number;
}

/** A round step for an axis spanning `span`: the largest of 0.1, 0.2, 0.25, 0.5, 1, … giving ≥ 4 intervals. */
function niceStep(span: number): number {
  const scale = 10 ** Math.floor(Math.log10(Math.max(span, 1e-12)));
  const candidates = [5, 2.5, 2, 1, 0.5, 0.25, 0.2, 0.1].map((m) => m * scale);
  return candidates.find((st) => span / st >= 4) ?? candidates.at(-1)!;
}

/**
 * The axis range: the preferred one, widened to hold every finite value and rounded out to a tick, so
 * no value is drawn clipped at the edge (−0.924 and −0.4 are never drawn alike).
 */
export function fitRange(
  preferred: readonly [number, number],
  values: readonly (number | null | undefined)[],
): [number, number] {
  let [lo, hi] = preferred;
  for (const v of values) {
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === preferred[0] && hi === preferred[1]) return [lo, hi];
  const step = niceStep(hi - lo);
  return [
    lo < preferred[0] ? Math.floor(lo / step) * step : lo,
    hi > preferred[1] ? Math.ceil(hi / step) * step : hi,
  ];
}

const tick = (v: number) => Number(v.toPrecision(6));

/** Horizontal bars on a [min, max] axis, widened where a value, whisker or reference lies outside. */
export function barChart(options: {
  readonly title: string;
  readonly bars: readonly Bar[];
  readonly min: number;
  readonly max: number;
  readonly references?: readonly ReferenceLine[];
}): string {
  const [min, max] = fitRange(
    [options.min, options.max],
    [
      ...options.bars.flatMap((b) => [b.value, b.low, b.high]),
      ...(options.references ?? []).map((r) => r.value),
    ],
  );
  const labelWidth = 190;
  const plotWidth = 420;
  const rowHeight = 22;
  const top = 30;
  const height = top + options.bars.length * rowHeight + 40;
  const x = (v: number) => labelWidth + ((Math.max(min, Math.min(max, v)) - min) / (max - min)) * plotWidth;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + plotWidth + 40}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="4" y="16" font-weight="bold">${escapeHtml(options.title)}</text>`,
  ];
  const step = niceStep(max - min);
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step) {
    const px = x(v);
    parts.push(
      `<line x1="${px}" y1="${top - 4}" x2="${px}" y2="${height - 30}" stroke="#ddd"/>`,
      `<text x="${px}" y="${height - 16}" text-anchor="middle" fill="#555">${Number(v.toFixed(2))}</text>`,
    );
  }
  if (min < 0 && max > 0) {
    parts.push(`<line x1="${x(0)}" y1="${top - 4}" x2="${x(0)}" y2="${height - 30}" stroke="#888"/>`);
  }
  options.bars.forEach((bar, i) => {
    const y = top + i * rowHeight;
    parts.push(`<text x="${labelWidth - 6}" y="${y + 14}" text-anchor="end">${escapeHtml(bar.label)}</text>`);
    if (bar.value === null) {
      parts.push(`<text x="${labelWidth + 4}" y="${y + 14}" fill="#999">undefined</text>`);
      return;
    }
    const from = x(Math.max(0, min));
    const to = x(bar.value);
    const color = bar.value >= 0 ? "#3b7dd8" : "#d8643b";
    parts.push(
      `<rect x="${Math.min(from, to)}" y="${y + 4}" width="${Math.max(1, Math.abs(to - from))}" height="${rowHeight - 8}" fill="${color}"><title>${escapeHtml(`${bar.label}: ${bar.value.toFixed(3)}`)}</title></rect>`,
    );
    if (bar.low != null && bar.high != null) {
      const mid = y + rowHeight / 2;
      parts.push(
        `<line x1="${x(bar.low)}" y1="${mid}" x2="${x(bar.high)}" y2="${mid}" stroke="#222"/>`,
        `<line x1="${x(bar.low)}" y1="${mid - 4}" x2="${x(bar.low)}" y2="${mid + 4}" stroke="#222"/>`,
        `<line x1="${x(bar.high)}" y1="${mid - 4}" x2="${x(bar.high)}" y2="${mid + 4}" stroke="#222"/>`,
      );
    }
    parts.push(
      `<text x="${labelWidth + plotWidth + 4}" y="${y + 14}" fill="#333">${bar.value.toFixed(2)}</text>`,
    );
  });
  for (const ref of options.references ?? []) {
    const px = x(ref.value);
    parts.push(
      `<line x1="${px}" y1="${top - 6}" x2="${px}" y2="${height - 30}" stroke="#c00" stroke-dasharray="4 3"/>`,
      `<text x="${px + 3}" y="${top - 8}" fill="#c00" font-size="11">${escapeHtml(ref.label)}</text>`,
    );
  }
  parts.push("</svg>");
  return parts.join("");
}

/** A scatter plot of (x, y) points. */
export function scatterPlot(options: {
  readonly title: string;
  readonly points: readonly (readonly [number, number])[];
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xRange: readonly [number, number];
  readonly yRange: readonly [number, number];
}): string {
  const w = 260;
  const h = 220;
  const left = 40;
  const top = 24;
  const pw = w - left - 10;
  const ph = h - top - 36;
  const [x0, x1] = fitRange(
    options.xRange,
    options.points.map((p) => p[0]),
  );
  const [y0, y1] = fitRange(
    options.yRange,
    options.points.map((p) => p[1]),
  );
  const px = (v: number) => left + ((v - x0) / (x1 - x0 || 1)) * pw;
  const py = (v: number) => top + ph - ((v - y0) / (y1 - y0 || 1)) * ph;
  const dots = options.points
    .map(
      ([a, b]) =>
        `<circle cx="${px(a).toFixed(1)}" cy="${py(b).toFixed(1)}" r="1.8" fill="#3b7dd8" fill-opacity="0.35"/>`,
    )
    .join("");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="11">`,
    `<text x="4" y="14" font-weight="bold">${escapeHtml(options.title)}</text>`,
    `<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
    dots,
    `<text x="${left + pw / 2}" y="${h - 6}" text-anchor="middle">${escapeHtml(options.xLabel)}</text>`,
    `<text x="10" y="${top + ph / 2}" text-anchor="middle" transform="rotate(-90 10 ${top + ph / 2})">${escapeHtml(options.yLabel)}</text>`,
    `<text x="${left}" y="${top + ph + 12}" fill="#555">${tick(x0)}</text><text x="${left + pw}" y="${top + ph + 12}" text-anchor="end" fill="#555">${tick(x1)}</text>`,
    `<text x="${left - 3}" y="${top + ph}" text-anchor="end" fill="#555">${tick(y0)}</text><text x="${left - 3}" y="${top + 8}" text-anchor="end" fill="#555">${tick(y1)}</text>`,
    "</svg>",
  ].join("");
}

/** One line of a line chart. */
export interface Series {
  readonly label: string;
  readonly points: readonly (readonly [number, number | null])[];
}

const PALETTE = ["#3b7dd8", "#d8643b", "#2a9d54", "#8e44ad", "#c9a227", "#17a2b8", "#e83e8c", "#555555"];

/** Lines over a shared x axis (null y values leave gaps), with a legend; `yRange` widens to fit the data. */
export function lineChart(options: {
  readonly title: string;
  readonly series: readonly Series[];
  readonly xLabel: string;
  readonly yLabel: string;
  readonly yRange: readonly [number, number];
}): string {
  const w = 340;
  const h = 240;
  const left = 44;
  const top = 26;
  const pw = w - left - 12;
  const ph = h - top - 70;
  const xs = options.series.flatMap((s) => s.points.map((p) => p[0]));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const [y0, y1] = fitRange(
    options.yRange,
    options.series.flatMap((s) => s.points.map((p) => p[1])),
  );
  const px = (v: number) => left + ((v - x0) / (x1 - x0 || 1)) * pw;
  const py = (v: number) => top + ph - ((v - y0) / (y1 - y0 || 1)) * ph;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="11">`,
    `<text x="4" y="14" font-weight="bold">${escapeHtml(options.title)}</text>`,
    `<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
  ];
  for (let t = 0; t <= 4; t++) {
    const v = y0 + ((y1 - y0) * t) / 4;
    parts.push(
      `<line x1="${left}" y1="${py(v)}" x2="${left + pw}" y2="${py(v)}" stroke="#eee"/>`,
      `<text x="${left - 3}" y="${py(v) + 3}" text-anchor="end" fill="#555">${Number(v.toFixed(2))}</text>`,
    );
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    parts.push(`<text x="${px(x)}" y="${top + ph + 12}" text-anchor="middle" fill="#555">${x}</text>`);
  }
  options.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length] as string;
    let path = "";
    let pen = false;
    for (const [x, y] of s.points) {
      if (y === null) {
        pen = false;
        continue;
      }
      path += `${pen ? "L" : "M"}${px(x).toFixed(1)},${py(y).toFixed(1)}`;
      pen = true;
    }
    parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="1.8"/>`);
    const lx = left + (i % 3) * 100;
    const ly = top + ph + 42 + Math.floor(i / 3) * 13;
    parts.push(
      `<rect x="${lx}" y="${ly - 8}" width="10" height="3" fill="${color}"/><text x="${lx + 14}" y="${ly - 3}">${escapeHtml(s.label)}</text>`,
    );
  });
  parts.push(
    `<text x="${left + pw / 2}" y="${top + ph + 24}" text-anchor="middle">${escapeHtml(options.xLabel)}</text>`,
    `<text x="10" y="${top + ph / 2}" text-anchor="middle" transform="rotate(-90 10 ${top + ph / 2})">${escapeHtml(options.yLabel)}</text>`,
    "</svg>",
  );
  return parts.join("");
}

/** A complete standalone HTML page. */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
table{border-collapse:collapse;margin:8px 0 20px;font-size:13px}
th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:8px}
.meta{color:#555;font-size:13px}
code{background:#f4f4f4;padding:1px 4px}
</style></head><body>
${body}
</body></html>
`;
}
