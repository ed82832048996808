/** The audit report: JSON for machines, a table for people, and a standalone HTML page with plots. */
import type { Estimate } from "../../protocol/poq/metrics/bootstrap.ts";
import { type Provenance, provenanceLine } from "../../report/provenance.ts";
import { barChart, escapeHtml, htmlPage, scatterPlot } from "../../report/svg.ts";
import { renderTable } from "../../report/table.ts";
import type { PaperAnchor } from "./anchors.ts";
import type { EvaluatorAudit } from "./runAudit.ts";
import type { AuditTask, Level } from "./tasks.ts";

/** The complete result of `verinfer eval audit`. */
export interface AuditReport {
  readonly kind: "verinfer.evaluator-audit";
  readonly version: 1;
  readonly task: AuditTask["task"];
  readonly description: string;
  readonly items: number;
  readonly prompts: number;
  readonly systems: readonly string[];
  readonly truths: AuditTask["truths"];
  readonly levels: readonly Level[];
  readonly seed: number;
  readonly bootstrapResamples: number;
  readonly confidence: number;
  readonly evaluators: readonly EvaluatorAudit[];
  readonly truthSystemMeans: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly anchors: readonly PaperAnchor[];
  readonly stsModel: {
    readonly path: string;
    readonly trainedNow: boolean;
    readonly devPearson: number;
    readonly devSpearman: number;
  } | null;
  readonly sources: readonly string[];
  readonly provenance: Provenance;
}

function fmt(e: Estimate): string {
  if (e.value === null) return "n/a";
  const ci = e.low === null || e.high === null ? "" : ` [${e.low.toFixed(2)}, ${e.high.toFixed(2)}]`;
  return `${e.value.toFixed(3)}${ci}`;
}

/** Human-readable tables: one per truth and level. */
export function renderAuditText(report: AuditReport): string {
  const out: string[] = [
    `Evaluator audit — ${report.task}: ${report.description}`,
    `${report.items} outputs, ${report.prompts} prompts, ${report.systems.length} systems; seed ${report.seed}, ${report.bootstrapResamples} bootstrap resamples, ${Math.round(report.confidence * 100)}% intervals`,
  ];
  for (const truth of report.truths) {
    for (const level of report.levels) {
      out.push(
        "",
        renderTable(
          ["evaluator", "n", "pearson", "spearman", "kendall"],
          report.evaluators.map((e) => {
            const c = e.correlations[truth.name]?.[level];
            return [
              e.name,
              c?.n ?? null,
              c ? fmt(c.pearson) : "–",
              c ? fmt(c.spearman) : "–",
              c ? fmt(c.kendall) : "–",
            ];
          }),
          { title: `vs ${truth.name} (${truth.description}) — ${level} level` },
        ),
      );
    }
  }
  out.push(
    "",
    renderTable(
      ["evaluator", "kind", "mean score", "mean cost ms", "scores/s", "failed"],
      report.evaluators.map((e) => [
        e.name,
        e.kind,
        e.meanScore,
        e.meanCostMs,
        e.scoresPerSecond === null ? null : Math.round(e.scoresPerSecond),
        e.failed,
      ]),
      { title: "cost" },
    ),
  );
  if (report.anchors.length) {
    out.push("", "Published figures for comparison:");
    for (const a of report.anchors)
      out.push(`  ${a.claim} (compare with truth ${a.truth}): ${a.statement} — ${a.source}`);
  }
  return out.join("\n");
}

/** Markdown tables (for docs and papers): one per truth and level, then cost and published figures. */
export function renderAuditMarkdown(report: AuditReport): string {
  const out: string[] = [
    `Task \`${report.task}\`: ${report.description}. ${report.items} outputs, ${report.prompts} prompts, seed ${report.seed}, ${report.bootstrapResamples} bootstrap resamples (${Math.round(report.confidence * 100)}% percentile intervals), git \`${(report.provenance.gitRevision ?? "unknown").slice(0, 10)}\`.`,
  ];
  for (const truth of report.truths) {
    for (const level of report.levels) {
      out.push(
        "",
        `**vs ${truth.name}, ${level} level** (${truth.description})`,
        "",
        "| evaluator | n | Pearson | Spearman | Kendall τ-b |",
        "|---|---|---|---|---|",
      );
      for (const e of report.evaluators) {
        const c = e.correlations[truth.name]?.[level];
        if (c)
          out.push(`| \`${e.name}\` | ${c.n} | ${fmt(c.pearson)} | ${fmt(c.spearman)} | ${fmt(c.kendall)} |`);
      }
    }
  }
  out.push("", "| evaluator | mean score | mean cost (ms) | scores/s in this run |", "|---|---|---|---|");
  for (const e of report.evaluators) {
    out.push(
      `| \`${e.name}\` | ${e.meanScore?.toFixed(2) ?? "–"} | ${e.meanCostMs?.toFixed(4) ?? "–"} | ${e.scoresPerSecond?.toFixed(0) ?? "–"} |`,
    );
  }
  return `${out.join("\n")}\n`;
}

/** Standalone HTML with bar charts (correlation with CI, paper anchors as red lines) and scatter plots. */
export function renderAuditHtml(report: AuditReport): string {
  const sections: string[] = [
    `<h1>Evaluator audit — ${escapeHtml(report.task)}</h1>`,
    `<p>${escapeHtml(report.description)}</p>`,
    `<p class="meta">${report.items} outputs · ${report.prompts} prompts · systems: ${escapeHtml(report.systems.join(", "))}<br>seed ${report.seed} · ${report.bootstrapResamples} bootstrap resamples · ${Math.round(report.confidence * 100)}% percentile intervals<br>${escapeHtml(provenanceLine(report.provenance))}</p>`,
  ];
  const referencesFor = (truth: string) =>
    report.anchors
      .filter((a): a is PaperAnchor & { value: number } => a.value !== null && a.truth === truth)
      .map((a) => ({ label: `${a.claim.split(" (")[0]?.split(" vs ")[0]} ${a.value}`, value: a.value }));
  for (const truth of report.truths) {
    sections.push(
      `<h2>vs ${escapeHtml(truth.name)}</h2><p class="meta">${escapeHtml(truth.description)}</p><div class="grid">`,
    );
    for (const level of report.levels) {
      for (const coefficient of ["pearson", "kendall"] as const) {
        sections.push(
          barChart({
            title: `${coefficient} — ${level} level`,
            min: -0.4,
            max: 1,
            bars: report.evaluators.map((e) => {
              const est = e.correlations[truth.name]?.[level]?.[coefficient];
              return {
                label: e.name,
                value: est?.value ?? null,
                low: est?.low ?? null,
                high: est?.high ?? null,
              };
            }),
            references: coefficient === "pearson" ? referencesFor(truth.name) : [],
          }),
        );
      }
    }
    sections.push("</div>");
    const rows = report.evaluators
      .map((e) => {
        const cells = report.levels
          .map((level) => {
            const c = e.correlations[truth.name]?.[level];
            return c
              ? `<td>${fmt(c.pearson)}</td><td>${fmt(c.spearman)}</td><td>${fmt(c.kendall)}</td>`
              : "<td></td><td></td><td></td>";
          })
          .join("");
        return `<tr><td>${escapeHtml(e.name)}</td>${cells}</tr>`;
      })
      .join("");
    const head = report.levels
      .map((l) => `<th>${l} pearson</th><th>${l} spearman</th><th>${l} kendall</th>`)
      .join("");
    sections.push(`<table><tr><th>evaluator</th>${head}</tr>${rows}</table>`);
  }
  const primary = report.truths[0]?.name ?? "";
  const truthValues = report.evaluators.flatMap((e) => e.scatter.map((p) => p[1]));
  const yMax = Math.max(10, ...truthValues);
  sections.push(`<h2>Scores vs ${escapeHtml(primary)} (seeded sample of outputs)</h2><div class="grid">`);
  for (const e of report.evaluators) {
    sections.push(
      scatterPlot({
        title: e.name,
        points: e.scatter,
        xLabel: `${e.name} score`,
        yLabel: primary,
        xRange: [0, 10],
        yRange: [Math.min(0, ...truthValues), yMax > 10 ? Math.ceil(yMax) : 10],
      }),
    );
  }
  sections.push("</div>");
  const systems = report.systems;
  const truthRow = (name: string) =>
    `<tr><td><b>truth: ${escapeHtml(name)}</b></td>${systems.map((s) => `<td>${(report.truthSystemMeans[name]?.[s] ?? Number.NaN).toFixed(3)}</td>`).join("")}</tr>`;
  sections.push(
    `<h2>Mean score per system</h2><table><tr><th></th>${systems.map((s) => `<th>${escapeHtml(s)}</th>`).join("")}</tr>${report.truths.map((t) => truthRow(t.name)).join("")}${report.evaluators
      .map(
        (e) =>
          `<tr><td>${escapeHtml(e.name)}</td>${systems.map((s) => `<td>${e.systemMeans[s]?.toFixed(3) ?? ""}</td>`).join("")}</tr>`,
      )
      .join("")}</table>`,
  );
  sections.push(
    `<h2>Cost</h2><table><tr><th>evaluator</th><th>kind</th><th>mean cost (ms)</th><th>scores/s</th><th>failed</th><th>description</th></tr>${report.evaluators
      .map(
        (e) =>
          `<tr><td>${escapeHtml(e.name)}</td><td>${e.kind}</td><td>${e.meanCostMs?.toFixed(4) ?? ""}</td><td>${e.scoresPerSecond?.toFixed(0) ?? ""}</td><td>${e.failed}</td><td style="text-align:left">${escapeHtml(e.description)}</td></tr>`,
      )
      .join("")}</table>`,
  );
  if (report.anchors.length) {
    sections.push(
      `<h2>Published figures</h2><table><tr><th>claim</th><th>truth</th><th>value</th><th>source</th><th>setup</th></tr>${report.anchors
        .map(
          (a) =>
            `<tr><td>${escapeHtml(a.claim)}</td><td>${escapeHtml(a.truth)}</td><td>${escapeHtml(a.statement)}</td><td style="text-align:left">${escapeHtml(a.source)}</td><td style="text-align:left">${escapeHtml(a.setup)}</td></tr>`,
        )
        .join("")}</table>`,
    );
  }
  sections.push(
    `<p class="meta">Sources: ${report.sources.map((s) => `<code>${escapeHtml(s)}</code>`).join(" ")}</p>`,
  );
  return htmlPage(`verinfer evaluator audit — ${report.task}`, sections.join("\n"));
}
