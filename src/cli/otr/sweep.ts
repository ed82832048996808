import { fastKeccak256 } from "../../crypto/nativeSecp256k1.ts";
import { VerinferError } from "../../errors.ts";
import { seedFrom } from "../../protocol/rng/deriveSeed.ts";
import { jsonText } from "../../report/json.ts";
import { provenance, provenanceLine } from "../../report/provenance.ts";
import { escapeHtml, htmlPage } from "../../report/svg.ts";
import { renderTable } from "../../report/table.ts";
import {
  EXPERIMENT_RUNS,
  EXPERIMENTS,
  type ExperimentName,
  type ExperimentTable,
  runExperiment,
} from "../../sim/otr/experiments.ts";
import { DEFAULT_OTR_SIM } from "../../sim/otr/otrSim.ts";
import type { CommandSpec } from "../framework/command.ts";
import { writeReport } from "../poq/simulate.ts";
import { OTR_SIM_OPTIONS, simConfigFromOptions } from "./options.ts";
import { experimentCharts, htmlTable } from "./report.ts";

function experimentNames(text: string): ExperimentName[] {
  if (text === "all") return [...EXPERIMENTS];
  const names = text.split(",").map((s) => s.trim());
  const unknown = names.filter((n) => !(EXPERIMENTS as readonly string[]).includes(n));
  if (unknown.length || names.length === 0)
    throw new VerinferError(
      "CLI_USAGE",
      `unknown experiment ${unknown.join(", ")}; known: ${EXPERIMENTS.join(", ")} (or all)`,
    );
  return names as ExperimentName[];
}

/** `verinfer otr sweep`: the experiments of docs/reproductions/otr.md. */
export const sweepCommand: CommandSpec = {
  name: "sweep",
  summary: "run the OTR experiments (throughput, cost, latency, security, attacks, scale) against the paper",
  description: [
    "Each experiment sweeps one axis of the default network (or of the network the options describe) and puts the",
    "OTR paper's figure beside ours: throughput vs a centralized baseline over the TEE overhead; the cost formula",
    "and the inputs that give $0.07, opML's $0.06 and ZKML's $45+; latency with proofs off and on the client's path;",
    "detection and attacker profit over rho and fisherman coverage against the analytic formula; every adversary;",
    "and scale over batch size, request rate and node count. docs/reproductions/otr.md reads the results.",
  ].join("\n"),
  options: {
    experiments: {
      type: "string",
      value: "LIST",
      default: "all",
      description: `experiments to run (all = ${EXPERIMENTS.join(", ")})`,
    },
    ...OTR_SIM_OPTIONS,
    html: { type: "string", value: "FILE", description: "also write an HTML report with plots" },
    out: { type: "string", value: "FILE", description: "also write the JSON report" },
  },
  examples: [
    "verinfer otr sweep --html reports/otr.html",
    "verinfer otr sweep --experiments throughput,latency --requests 20000 --json",
    "verinfer otr sweep --experiments cost --gas-price 30 --da blob",
  ],
  run(ctx) {
    const names = experimentNames(ctx.string("experiments") as string);
    const base = simConfigFromOptions(ctx, DEFAULT_OTR_SIM);
    const seed = ctx.number("seed") as number;
    const hash = fastKeccak256();
    const total = names.reduce((s, n) => s + EXPERIMENT_RUNS[n], 0);
    const bar = ctx.progress("otr sweep".padEnd(32), total);
    let runs = 0;
    const start = performance.now();
    const tables: ExperimentTable[] = names.map((name) =>
      runExperiment(name, { base, seed: seedFrom(seed), hash, onRun: () => bar.update(runs++) }),
    );
    bar.update(runs);
    const seconds = (performance.now() - start) / 1000;
    bar.done();
    const report = {
      kind: "verinfer.otr-sweep",
      seed,
      requestsPerRun: base.requests,
      runs,
      seconds,
      base,
      tables,
      provenance: provenance(),
    };
    const html = ctx.string("html");
    if (html) {
      const body = [
        "<h1>OTR experiments</h1>",
        `<p class="meta">${runs} simulations × ${base.requests.toLocaleString("en-US")} requests in ${seconds.toFixed(1)} s · seed ${seed}<br>${escapeHtml(provenanceLine(report.provenance))}</p>`,
        ...tables.map((t) =>
          [
            `<h2>${escapeHtml(t.title)}</h2>`,
            `<p>Paper: ${escapeHtml(t.paper)}</p>`,
            htmlTable(t.columns, t.rows),
            `<div class="grid">${experimentCharts(t).join("")}</div>`,
            `<ul>${t.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>`,
          ].join("\n"),
        ),
      ];
      writeReport(html, htmlPage("verinfer OTR experiments", body.join("\n")));
      ctx.info(`wrote ${html}`);
    }
    const out = ctx.string("out");
    if (out) writeReport(out, jsonText(report));
    ctx.output(report, () =>
      [
        `OTR experiments: ${runs} simulations x ${base.requests.toLocaleString("en-US")} requests in ${seconds.toFixed(1)} s; seed ${seed}`,
        ...tables.flatMap((t) => [
          "",
          renderTable(t.columns, t.rows, { title: `${t.title}\npaper: ${t.paper}` }),
          ...t.notes.map((n) => `  - ${n}`),
        ]),
      ].join("\n"),
    );
    return 0;
  },
};
