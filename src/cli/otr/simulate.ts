import { fastKeccak256 } from "../../crypto/nativeSecp256k1.ts";
import { seedFrom } from "../../protocol/rng/deriveSeed.ts";
import { jsonText } from "../../report/json.ts";
import { provenance, provenanceLine } from "../../report/provenance.ts";
import { barChart, escapeHtml, htmlPage } from "../../report/svg.ts";
import { renderTable } from "../../report/table.ts";
import { type OtrSimResult, simulateOtr } from "../../sim/otr/otrSim.ts";
import { SCENARIOS } from "../../sim/otr/scenarios.ts";
import type { CommandSpec } from "../framework/command.ts";
import { writeReport } from "../poq/simulate.ts";
import { OTR_SIM_OPTIONS, simConfigFromOptions } from "./options.ts";
import { htmlTable } from "./report.ts";

const tokens = (wei: string) => Number(BigInt(wei)) / 1e18;
const ms = (v: number) => Number(v.toFixed(1));

/** The run's headline figures as rows of (what, value). */
function summaryRows(r: OtrSimResult): [string, string | number][] {
  const l = r.latency;
  const s = r.security;
  const rows: [string, string | number][] = [
    ["requests completed", r.completed],
    ["throughput (steady state, req/s)", r.throughputPerSecond.toFixed(1)],
    [
      "end-to-end latency mean / p50 / p99 (ms)",
      `${ms(l.endToEnd.mean)} / ${ms(l.endToEnd.p50)} / ${ms(l.endToEnd.p99)}`,
    ],
  ];
  if (r.baseline) return [...rows, ["simulated events", r.events]];
  return [
    ...rows,
    [
      "provisional finality overhead p50 / p99 (ms)",
      `${ms(l.provisionalOverhead.p50)} / ${ms(l.provisionalOverhead.p99)}`,
    ],
    ["latency with proofs on the path: mean (ms)", String(ms(l.withProofs.mean))],
    ["selected requests: mean (ms)", String(ms(l.selectedWithProofs.mean))],
    ["arrival to final p50 / p99 (s)", `${ms(l.toFinal.p50 / 1000)} / ${ms(l.toFinal.p99 / 1000)}`],
    ["batches (mean size)", `${r.batches.count} (${Math.round(r.batches.meanSize)})`],
    [
      "spot-checks selected / proven / slashed",
      `${r.spotchecks.selected} / ${r.spotchecks.proven} / ${r.spotchecks.slashed}`,
    ],
    ["bad receipts / refused at admission", `${s.fraudulent} / ${s.rejectedAtAdmission}`],
    [
      "caught by spot-check / fisherman / from data",
      `${s.caughtBySpotcheck} / ${s.caughtByFisherman} / ${s.invalidInclusionsProven}`,
    ],
    ["undetected", s.undetected],
    ["disputes (worker lost)", `${s.disputes} (${s.disputesWorkerLost})`],
    ["attacker profit (tokens)", String(Number(tokens(s.attackerProfitWei).toFixed(4)))],
    ["censored / forced in", `${s.censored} / ${s.forcedIn}`],
    [
      "fishermen: re-executed / GPU-hours / US$ / bounties (tokens)",
      `${r.fishermen.reexecuted} / ${r.fishermen.gpuHours.toFixed(2)} / ${r.fishermen.costUsd.toFixed(2)} / ${tokens(r.fishermen.bountiesWei)}`,
    ],
    ["on-chain cost per query (US$)", r.costPerQueryUsd.toFixed(5)],
    ["epoch: workers paid", r.epoch.workersPaid],
    ["simulated events", r.events],
  ];
}

/** `verinfer otr simulate`: one run of the OTR network. */
export const simulateCommand: CommandSpec = {
  name: "simulate",
  summary: "simulate the OTR network: throughput, latency, finality, spot-checks, fraud and its cost",
  description: [
    "A seeded discrete-event simulation of clients, a gateway/sequencer, TEE workers, fishermen, provers and a chain,",
    "driving the protocol's own code (replay rule, sealing, batch tree, spot-check selection, dispute game, stakes,",
    "epoch). --scenario picks a network and an adversary; the other options change single fields of it.",
    "",
    "Scenarios:",
    ...Object.entries(SCENARIOS).map(([name, s]) => `  ${name.padEnd(26)} ${s.description}`),
  ].join("\n"),
  options: {
    scenario: {
      type: "string",
      value: "NAME",
      default: "honest",
      choices: Object.keys(SCENARIOS),
      description: "network and adversary (listed above)",
    },
    ...OTR_SIM_OPTIONS,
    html: { type: "string", value: "FILE", description: "also write an HTML report" },
    out: { type: "string", value: "FILE", description: "also write the JSON report" },
  },
  examples: [
    "verinfer otr simulate",
    "verinfer otr simulate --scenario wrong-outputs --rho 0.05 --coverage 0",
    "verinfer otr simulate --scenario paper-h100 --proofs-on-path --json",
    "verinfer otr simulate --requests 1000000 --workers 10000 --rate 50000 --html reports/otr.html",
  ],
  run(ctx) {
    const name = ctx.string("scenario") as string;
    const scenario = SCENARIOS[name];
    if (!scenario) throw new Error(`unknown scenario ${name}`); // unreachable: choices are checked
    const config = simConfigFromOptions(ctx, scenario.config);
    const seed = ctx.number("seed") as number;
    const bar = ctx.progress(`otr ${name}`.padEnd(32), config.requests);
    const start = performance.now();
    const result = simulateOtr(config, seedFrom(seed), fastKeccak256(), (arrived) => bar.update(arrived));
    const seconds = (performance.now() - start) / 1000;
    bar.done();
    const report = {
      kind: "verinfer.otr-simulation",
      scenario: name,
      description: scenario.description,
      seed,
      config,
      seconds,
      eventsPerSecond: result.events / seconds,
      result,
      provenance: provenance(),
    };
    const title = `OTR simulation — ${name}: ${config.requests.toLocaleString("en-US")} requests, seed ${seed}`;
    const html = ctx.string("html");
    if (html) {
      const l = result.latency;
      const body = [
        `<h1>${escapeHtml(title)}</h1>`,
        `<p class="meta">${escapeHtml(scenario.description)} · ${result.events.toLocaleString("en-US")} events in ${seconds.toFixed(1)} s<br>${escapeHtml(provenanceLine(report.provenance))}</p>`,
        htmlTable(["what", "value"], summaryRows(result)),
        '<div class="grid">',
        barChart({
          title: "latency (ms)",
          min: 0,
          max: 1000,
          bars: [
            { label: "provisional overhead p50", value: l.provisionalOverhead.p50 },
            { label: "provisional overhead p99", value: l.provisionalOverhead.p99 },
            { label: "end-to-end p50", value: l.endToEnd.p50 },
            { label: "end-to-end mean", value: l.endToEnd.mean },
            { label: "end-to-end p99", value: l.endToEnd.p99 },
            { label: "with proofs on path: mean", value: l.withProofs.mean },
          ],
          references: [
            { label: "paper: provisional < 500 ms", value: 500 },
            { label: "paper: 0.8 s mean", value: 800 },
          ],
        }),
        barChart({
          title: "on-chain gas by purpose (millions)",
          min: 0,
          max: 1,
          bars: Object.entries(result.gas).map(([k, g]) => ({ label: k, value: g / 1e6 })),
        }),
        "</div>",
        `<h2>Configuration</h2><pre>${escapeHtml(jsonText(config))}</pre>`,
      ];
      writeReport(html, htmlPage(title, body.join("\n")));
      ctx.info(`wrote ${html}`);
    }
    const out = ctx.string("out");
    if (out) writeReport(out, jsonText(report));
    ctx.output(report, () =>
      [
        `${title} (${scenario.description})`,
        `${result.events.toLocaleString("en-US")} events in ${seconds.toFixed(1)} s (${Math.round(report.eventsPerSecond).toLocaleString("en-US")} events/s)`,
        "",
        renderTable(["what", "value"], summaryRows(result)),
      ].join("\n"),
    );
    return 0;
  },
};
