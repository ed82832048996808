/** HTML pieces of the OTR reports. */
import { barChart, escapeHtml, lineChart } from "../../report/svg.ts";
import type { Cell } from "../../report/table.ts";
import type { ExperimentTable } from "../../sim/otr/experiments.ts";

const show = (c: Cell) =>
  c === null ? "–" : typeof c === "number" ? c.toLocaleString("en-US", { maximumFractionDigits: 5 }) : c;

/** A table with headers. */
export function htmlTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(String(show(c)))}</td>`).join("")}</tr>`)
    .join("");
  return `<table><tr>${head}</tr>${body}</table>`;
}

/** Numbers of one column (null where a cell is not a number). */
function column(t: ExperimentTable, index: number): (number | null)[] {
  return t.rows.map((r) => (typeof r[index] === "number" ? (r[index] as number) : null));
}
const labels = (t: ExperimentTable) => t.rows.map((r) => String(r[0]));
/** One bar per row: its label and its number in column `index`. */
function barsOf(t: ExperimentTable, index: number) {
  const values = column(t, index);
  return labels(t).map((label, i) => ({ label, value: values[i] ?? null }));
}

/** The charts of one experiment's table. */
export function experimentCharts(t: ExperimentTable): string[] {
  switch (t.name) {
    case "throughput": {
      const x = column(t, 0) as number[];
      const simulated = column(t, 3);
      const formula = column(t, 4);
      return [
        lineChart({
          title: "OTR / centralized throughput",
          xLabel: "TEE overhead",
          yLabel: "ratio",
          yRange: [0.8, 1],
          series: [
            { label: "simulated", points: x.map((v, i) => [v, simulated[i] ?? null] as const) },
            { label: "1/(1+overhead)", points: x.map((v, i) => [v, formula[i] ?? null] as const) },
            { label: "paper: 0.99", points: x.map((v) => [v, 0.99] as const) },
          ],
        }),
      ];
    }
    case "cost": {
      const totals = column(t, 7);
      return [
        barChart({
          title: "US$ per query (designs under $1)",
          min: 0,
          max: 0.1,
          bars: labels(t)
            .map((label, i) => ({ label: label.slice(0, 30), value: totals[i] ?? null }))
            .filter((b) => b.value !== null && b.value < 1),
          references: [{ label: "paper $0.07", value: 0.07 }],
        }),
      ];
    }
    case "latency":
      return [
        barChart({
          title: "mean latency a client waits (ms)",
          min: 0,
          max: 1000,
          bars: barsOf(t, 5),
          references: [{ label: "paper 0.8 s", value: 800 }],
        }),
        barChart({
          title: "provisional finality overhead p99 (ms)",
          min: 0,
          max: 100,
          bars: barsOf(t, 2),
          references: [{ label: "paper < 500 ms", value: 500 }],
        }),
      ];
    case "security": {
      const coverages = [...new Set(column(t, 1) as number[])];
      const series = coverages.flatMap((cov) => {
        const rows = t.rows.filter((r) => r[1] === cov);
        return [
          {
            label: `simulated, p_f=${cov}`,
            points: rows.map((r) => [r[0] as number, r[3] as number] as const),
          },
          {
            label: `formula, p_f=${cov}`,
            points: rows.map((r) => [r[0] as number, r[4] as number] as const),
          },
        ];
      });
      return [
        lineChart({
          title: "share of frauds caught",
          xLabel: "rho",
          yLabel: "caught",
          yRange: [0, 0.1],
          series,
        }),
      ];
    }
    case "attacks":
      return [
        barChart({
          title: "attacker profit (tokens)",
          min: -100,
          max: 1,
          bars: barsOf(t, 5),
        }),
      ];
    case "scale":
      return [
        barChart({
          title: "on-chain US$ per query",
          min: 0,
          max: 0.25,
          bars: barsOf(t, 3),
        }),
      ];
    default:
      return [];
  }
}
