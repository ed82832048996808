/**
 * `npm run bench [-- suite ...] [-- --json FILE]`: verinfer's benchmarks, measured side by side in one
 * run on this machine and printed as tables (targets are reported, never asserted). Suites:
 * `evaluators` (scores/s per evaluator), `audit` (full QA audit time), `poq` (simulator speed) and
 * `attestation` (evidence and receipt verifications per second), `engines` (tokens per second and
 * memory of each inference engine), `serve` (the OpenAI-compatible server under load, tokenizer) and
 * `otr` (the OTR simulator, sequencer ingest, batch sealing and dispute games) and `contracts` (gas of
 * the on-chain one-step check per operation at stories15M's shape, of the game's moves, batch posting
 * and registration, and the bonds and defense capital they imply) and `zk` (spot-check circuit size,
 * Groth16 proving time and memory per size, verification time, and the spot-check path's gas) and
 * `devnet` (the whole network in processes: gateway overhead, throughput with and without the
 * gateway, on shared cores and with the workers on cores of their own, durable sequencer ingest, gas per query, end-to-end latency at ρ = 1%) and `dashboard` (the
 * dashboard's page weight and time to first render in Chromium) and `soak` (the devnet under steady
 * load for minutes: memory per role, epochs committed and paid, spot-check obligations opened; with
 * VERINFER_SOAK_CHAOS_SECONDS, a role killed and restarted, or the chain reorganised, that often, and no
 * acknowledged receipt lost; VERINFER_SOAK_CHAOS_ROLES restricts what it draws from, e.g. `reorg`).
 * `role-start` (a devnet role's restart after kill -9, from the CLI's bundle and through tsx).
 * `devnet-apart` runs only when named: the devnet's comparison in the deployment's shape alone, for
 * VERINFER_APART_ROUNDS rounds (default 30, about 9 minutes), with bootstrap intervals on its ratios.
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { resolveDataDir } from "../src/data/dataDir.ts";
import { provenance } from "../src/report/provenance.ts";
import { renderTable } from "../src/report/table.ts";
import { benchAttestation } from "./attestation.bench.ts";
import { benchQaAudit } from "./audit.bench.ts";
import { benchContracts } from "./contracts.bench.ts";
import { benchDashboard } from "./dashboard.bench.ts";
import {
  benchDevnet,
  benchDevnetApart,
  type ProcessCpu,
  type RatioInterval,
  type Throughput,
} from "./devnet.bench.ts";
import { benchEngines } from "./engines.bench.ts";
import { benchEvaluators } from "./evaluators.bench.ts";
import { benchOtr } from "./otr.bench.ts";
import { benchPoq } from "./poq.bench.ts";
import { benchRoleStart } from "./roleStart.bench.ts";
import { benchServe } from "./serve.bench.ts";
import { benchSoak } from "./soak.bench.ts";
import { benchZk } from "./zk.bench.ts";

const args = process.argv.slice(2);
const jsonAt = args.indexOf("--json");
const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
const suites = args.filter((a, i) => !a.startsWith("--") && (jsonAt < 0 || i !== jsonAt + 1));
const run = (suite: string) => suites.length === 0 || suites.includes(suite);
const dataDir = resolveDataDir(process.env.VERINFER_DATA_DIR);
const log = (line: string) => process.stderr.write(`${line}\n`);
const results: Record<string, unknown> = { provenance: provenance() };

log(
  `verinfer benchmarks on ${cpus()[0]?.model ?? "unknown CPU"} (${cpus().length} cores), node ${process.version}`,
);

if (run("evaluators")) {
  log("evaluators: scores per second through the Evaluator API");
  const rows = await benchEvaluators(dataDir, log);
  results.evaluators = rows;
  const tokenF1 = new Map(
    rows.filter((r) => r.evaluator === "token-f1").map((r) => [r.inputs, r.scoresPerSecond]),
  );
  console.log(
    renderTable(
      ["inputs", "evaluator", "kind", "scores/s", "x token-f1", "lexical target 50,000/s"],
      rows.map((r) => [
        r.inputs,
        r.evaluator,
        r.kind,
        Math.round(r.scoresPerSecond),
        r.scoresPerSecond / (tokenF1.get(r.inputs) ?? Number.NaN),
        r.kind === "lexical" ? (r.scoresPerSecond >= 50_000 ? "met" : "NOT met") : "–",
      ]),
      { title: "Evaluator throughput (single thread)", digits: 2 },
    ),
  );
}

if (run("audit")) {
  log("audit: full QA evaluator audit (this takes about a minute)");
  const timing = await benchQaAudit(dataDir);
  results.qaAudit = timing;
  console.log(
    `\n${renderTable(
      ["outputs", "evaluators", "resamples", "load+train s", "scoring s", "statistics s", "total s"],
      [
        [
          timing.outputs,
          timing.evaluators,
          timing.resamples,
          timing.loadSeconds,
          timing.scoringSeconds,
          timing.statisticsSeconds,
          timing.totalSeconds,
        ],
      ],
      { title: "Full QA audit (verinfer eval audit --task qa)", digits: 1 },
    )}`,
  );
}

if (run("poq")) {
  log("poq: PoQ simulator on the real QA pool");
  const poq = await benchPoq(dataDir, log);
  results.poq = poq;
  console.log(
    `\n${renderTable(
      ["aggregator", "5,000 rounds (ms)", "rounds/s", "target < 100 ms"],
      Object.entries(poq.simulationMs).map(([a, ms]) => [
        a,
        ms,
        Math.round(5000 / (ms / 1000)),
        ms < 100 ? "met" : "NOT met",
      ]),
      { title: "PoQ simulation, one thread (boost attack by 30%, k = 5 of 30)", digits: 1 },
    )}`,
  );
  console.log(
    `\n${renderTable(
      ["points", "rounds each", "threads", "seconds", "rounds/s per core", "target < 120 s"],
      [
        [
          poq.sweep.points,
          5000,
          poq.sweep.threads,
          poq.sweep.seconds,
          Math.round(poq.sweep.roundsPerSecondPerCore),
          poq.sweep.seconds < 120 ? "met" : "NOT met",
        ],
      ],
      { title: "Full PoQ sweep (verinfer poq sweep)", digits: 1 },
    )}`,
  );
  console.log(`\nExact Yuma epoch (I32F32, 512 nodes): ${poq.yuma512EpochMs.toFixed(0)} ms`);
}

if (run("attestation")) {
  log("attestation: NVIDIA evidence and PoEA receipt verification");
  const a = await benchAttestation(dataDir, log);
  results.attestation = a;
  const pure = a.evidence.find((e) => e.verifier === "pure-js");
  console.log(
    `\n${renderTable(
      ["ECDSA backend", "full evidence/s (report, chain, 2 RIMs)", "x pure", "report + chain/s", "x pure"],
      a.evidence.map((e) => [
        e.verifier,
        e.fullPerSecond,
        e.fullPerSecond / (pure?.fullPerSecond ?? Number.NaN),
        e.reportAndChainPerSecond,
        e.reportAndChainPerSecond / (pure?.reportAndChainPerSecond ?? Number.NaN),
      ]),
      { title: "NVIDIA evidence verification, one thread", digits: 1 },
    )}`,
  );
  const pureReceipts = a.receipts.find((r) => r.backend === "pure-js");
  console.log(
    `\n${renderTable(
      ["backend", "threads", "receipts", "receipts/s", "per core", "x pure", "target ≥ 10,000/s per core"],
      a.receipts.map((r) => [
        r.backend,
        r.threads,
        r.receipts,
        Math.round(r.perSecond),
        Math.round(r.perSecondPerCore),
        r.perSecondPerCore / (pureReceipts?.perSecondPerCore ?? Number.NaN),
        r.perSecondPerCore >= 10_000 ? "met" : "NOT met",
      ]),
      { title: "Receipt verification (signature + PoEA checks)", digits: 1 },
    )}`,
  );
  console.log(
    `\n${renderTable(
      ["file MiB", "receipts", "seconds", "peak RSS MiB"],
      a.streaming.map((r) => [r.fileMiB, r.receipts, r.seconds, r.peakRssMiB]),
      {
        title:
          "verinfer receipt verify, streamed (whole process incl. worker threads; the copies are replays, verdicts too)",
        digits: 1,
      },
    )}`,
  );
}

if (run("engines")) {
  log("engines: tokens per second and memory on a model of stories15M's shape (about a minute)");
  const e = benchEngines(log);
  results.engines = e;
  const cpp = e.runs.find((r) => r.engine === "llama-cpp")?.tokensPerSecond ?? Number.NaN;
  console.log(
    `\n${renderTable(
      ["engine", "kernel", "load s", "tokens/s", "x llama.cpp", "RSS MiB", "peak RSS MiB", "target"],
      e.runs.flatMap((r) => {
        const row = (name: string, speed: number, target: string) => [
          name,
          r.kernel,
          r.loadSeconds,
          speed,
          speed / cpp,
          r.rssMiB,
          r.peakRssMiB,
          target,
        ];
        if (r.engine === "ts-simd" || r.engine === "ts-plain")
          return [
            row(
              r.engine,
              r.tokensPerSecond,
              `≥ 0.25x llama.cpp: ${r.tokensPerSecond / cpp >= 0.25 ? "met" : "NOT met"}`,
            ),
          ];
        if (r.engine === "ts-int") {
          const overhead = (r.tracedRequestSeconds as number) / r.requestSeconds - 1;
          const check = (r.reexecutionSeconds as number) / (r.tracedRequestSeconds as number);
          return [
            row("ts-int", r.tokensPerSecond, "–"),
            row(
              `ts-int + trace (${r.traceLeaves} leaves)`,
              r.tracedTokensPerSecond as number,
              `trace ≤ +20% time: ${overhead >= 0 ? "+" : ""}${(overhead * 100).toFixed(1)}% ${overhead <= 0.2 ? "met" : "NOT met"}`,
            ),
            [
              "a fisherman's re-execution of it",
              "integer, protocol replay",
              "–",
              (r.tokens / (r.reexecutionSeconds as number)) as number,
              r.tokens / (r.reexecutionSeconds as number) / cpp,
              "–",
              "–",
              `${check.toFixed(2)}x the traced request's time (same trace root)`,
            ],
          ];
        }
        return [row(r.engine, r.tokensPerSecond, "–")];
      }),
      {
        title: `Engines, one thread: ${e.model.tokens} greedy tokens after a 4-word prompt, median of ${e.model.runs} (generated 15m-shape model, seed ${e.model.seed}); RSS after the runs, of a process of its own (${Math.round(Math.min(...e.runs.map((r) => r.baselineRssMiB)))} MiB before loading)`,
        digits: 2,
      },
    )}`,
  );
}

if (run("devnet")) {
  log("devnet: the network in processes (about two minutes)");
  const d = await benchDevnet(log);
  results.devnet = d;
  const f = (x: number) => x.toFixed(2);
  /** The columns every three-way throughput table starts with. */
  const waysHead = [
    "verifying gateway req/s",
    "verification off req/s",
    "straight to workers req/s",
    "full verification vs none",
  ];
  const waysCells = (t: Throughput) => [
    f(t.viaGateway),
    f(t.unverified),
    f(t.direct),
    `${(100 * t.ratio).toFixed(1)}%`,
  ];
  console.log(
    `\n${renderTable(
      ["measure", "p50", "p99", "max", "goal"],
      [
        [
          "gateway overhead: verify + sequence (in the answer), ms",
          f(d.gatewayOverheadMs.p50),
          f(d.gatewayOverheadMs.p99),
          f(d.gatewayOverheadMs.max),
          "",
        ],
        [
          "gateway overhead: verify + sequence + durable append, ms",
          f(d.durableOverheadMs.p50),
          f(d.durableOverheadMs.p99),
          f(d.durableOverheadMs.max),
          "p50 < 5, p99 < 20",
        ],
        [
          "request through the gateway, ms",
          f(d.viaGatewayMs.p50),
          f(d.viaGatewayMs.p99),
          f(d.viaGatewayMs.max),
          "",
        ],
        [
          "same request straight to a worker, ms",
          f(d.directMs.p50),
          f(d.directMs.p99),
          f(d.directMs.max),
          "",
        ],
        [
          "added by the gateway end to end (difference of p50s), ms",
          f(d.viaGatewayMs.p50 - d.directMs.p50),
          "",
          "",
          "paper: provisional finality < 500",
        ],
      ],
      {
        title: `Devnet latency (${d.requests} sequential requests each way, ${d.maxTokens} tokens, ts-int tiny model, 2 workers)`,
      },
    )}`,
  );
  console.log(
    `\n${renderTable(
      [
        ...waysHead,
        "by CPU",
        "goal",
        "vs no gateway",
        "ingest receipts/s (durable)",
        "batches",
        "receipts",
        "gas per query",
      ],
      [
        [
          ...waysCells(d.throughput),
          d.throughput.cpuRatio === null ? "n/a" : `${(100 * d.throughput.cpuRatio).toFixed(1)}%`,
          "≥ 99.5% (paper 99%)",
          `${(100 * d.throughput.ratioToDirect).toFixed(1)}%`,
          Math.round(d.ingestPerSecond),
          d.gasPerQuery.batches,
          d.gasPerQuery.receipts,
          Math.round(d.gasPerQuery.perQuery),
        ],
      ],
      {
        title: `Devnet throughput (${d.throughput.clients} clients, ${d.throughput.seconds} s each of three ways in alternating 5 s rounds; no fisherman) and cost`,
      },
    )}`,
  );
  const c = d.ingestCpuMs;
  const wholeMachine = (x: ProcessCpu) => x.gateway + x.baseline + x.workers + x.anvil;
  console.log(
    `\n${renderTable(
      [
        "check the receipt",
        "sequence it",
        "durable append",
        "all three",
        "of a request's CPU (whole machine, verifying way)",
      ],
      [
        [
          c.check.toFixed(3),
          c.sequence.toFixed(3),
          c.append.toFixed(3),
          (c.check + c.sequence + c.append).toFixed(3),
          d.throughput.cpuMsPerRequest
            ? `${((100 * (c.check + c.sequence + c.append)) / wholeMachine(d.throughput.cpuMsPerRequest.viaGateway)).toFixed(2)}%`
            : "n/a",
        ],
      ],
      {
        title: "The verifying gateway's CPU per receipt, in process, ms (user + system; batch posting below)",
      },
    )}`,
  );
  const apart = d.apart;
  if (apart)
    console.log(
      `\n${renderTable(
        [
          ...waysHead,
          "by the workers' CPU",
          "goal",
          "workers' cores busy (verifying, off)",
          "vs no gateway",
          "gateway CPU ms/req (verifying, off)",
          "workers CPU ms/req",
        ],
        [
          [
            ...waysCells(apart),
            apart.workersCpuRatio === null ? "n/a" : `${(100 * apart.workersCpuRatio).toFixed(2)}%`,
            "≥ 99.5% (paper 99%)",
            apart.workersBusy
              ? `${(100 * apart.workersBusy.viaGateway).toFixed(0)}%, ${(100 * apart.workersBusy.unverified).toFixed(0)}%`
              : "n/a",
            `${(100 * apart.ratioToDirect).toFixed(1)}%`,
            apart.cpuMsPerRequest
              ? `${apart.cpuMsPerRequest.viaGateway.gateway.toFixed(2)}, ${apart.cpuMsPerRequest.unverified.baseline.toFixed(2)}`
              : "n/a",
            apart.cpuMsPerRequest ? apart.cpuMsPerRequest.viaGateway.workers.toFixed(1) : "n/a",
          ],
        ],
        {
          title: `Devnet throughput in the deployment's shape: the gateways, anvil and the clients on core 0, the workers on the others (taskset; ${apart.clients} clients, ${apart.seconds} s each way in alternating ${apart.roundSeconds} s rounds)`,
        },
      )}`,
    );
  console.log(
    `\n${renderTable(
      ["receipts per batch", "batches", "posted", "CPU ms per batch", "CPU ms per receipt"],
      d.posting.map((p) => [
        p.receiptsPerBatch,
        p.batches,
        p.together ? "back to back" : "one at a time",
        f(p.cpuMsPerBatch),
        f(p.cpuMsPerBatch / p.receiptsPerBatch),
      ]),
      {
        title:
          "Batch posting in process (anvil mining each transaction; the poster's CPU from sealed to its BatchPosted event applied)",
      },
    )}`,
  );
  const r = d.realShape;
  const rc = r.throughput.cpuMsPerRequest;
  console.log(
    `\n${renderTable(
      [
        ...waysHead,
        "by CPU",
        "goal",
        "vs no gateway",
        "gateway CPU ms/req (verifying, off)",
        "workers CPU ms/req",
      ],
      [
        [
          ...waysCells(r.throughput),
          r.throughput.cpuRatio === null ? "n/a" : `${(100 * r.throughput.cpuRatio).toFixed(2)}%`,
          "≥ 99.5% (paper 99%)",
          `${(100 * r.throughput.ratioToDirect).toFixed(1)}%`,
          rc ? `${rc.viaGateway.gateway.toFixed(2)}, ${rc.unverified.baseline.toFixed(2)}` : "n/a",
          rc ? rc.viaGateway.workers.toFixed(0) : "n/a",
        ],
      ],
      {
        title: `Devnet throughput, model of stories15M's shape (${r.model}), ${r.maxTokens} tokens per answer (${r.throughput.clients} clients, ${r.throughput.seconds} s each way in alternating ${r.throughput.roundSeconds} s rounds)`,
      },
    )}`,
  );
  const cpu = d.throughput.cpuMsPerRequest;
  if (cpu)
    console.log(
      `\n${renderTable(
        ["way", "verifying gateway", "unverifying gateway", "workers (together)", "anvil"],
        (["viaGateway", "unverified", "direct"] as const).map((w) => [
          {
            viaGateway: "verifying gateway",
            unverified: "verification off",
            direct: "straight to the workers",
          }[w],
          cpu[w].gateway.toFixed(2),
          cpu[w].baseline.toFixed(2),
          cpu[w].workers.toFixed(2),
          cpu[w].anvil.toFixed(2),
        ]),
        { title: "CPU time per request served during the throughput rounds, ms (user + system, /proc)" },
      )}`,
    );
  const n = d.fullNetwork;
  console.log(
    `\n${renderTable(
      ["measure", "p50", "p99", "max"],
      [
        [
          "request (provisional finality at the client), ms",
          f(n.requestMs.p50),
          f(n.requestMs.p99),
          f(n.requestMs.max),
        ],
        ["answer → batch posted on chain, ms", f(n.postedMs.p50), f(n.postedMs.p99), f(n.postedMs.max)],
        [
          "answer → final (challenge window closed), ms",
          f(n.finalMs.p50),
          f(n.finalMs.p99),
          f(n.finalMs.max),
        ],
      ],
      {
        title: `Devnet end to end, the whole network at ρ = ${n.rhoPpm / 10_000}% (${n.requests} sequential requests; fisherman re-executing all, 3 evaluators, settler; ${n.obligationsOpened} spot-check obligations opened, ${n.obligationsProven} proven)`,
      },
    )}`,
  );
}

if (run("dashboard")) {
  const d = await benchDashboard(log);
  results.dashboard = d;
  if (d) {
    const med = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const range = (xs: readonly number[]) =>
      `${med(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
    console.log(
      `\n${renderTable(
        [
          "page",
          "HTML bytes",
          "script bytes",
          "script gzipped",
          "first contentful paint ms",
          "overview rendered ms",
        ],
        [
          [
            "/dashboard",
            d.htmlBytes,
            d.scriptBytes,
            d.scriptGzipBytes,
            range(d.firstContentfulPaintMs),
            range(d.overviewRenderedMs),
          ],
        ],
        { title: `Dashboard in Chromium, ${d.loads} fresh loads against a devnet (median (min–max))` },
      )}`,
    );
  }
}

// Opt-in: long, and it answers one question (the 6 rounds of `devnet` give the same table without intervals).
if (suites.includes("devnet-apart")) {
  const rounds = Number(process.env.VERINFER_APART_ROUNDS ?? 30);
  if (!(Number.isInteger(rounds) && rounds >= 2))
    throw new Error("VERINFER_APART_ROUNDS must be an integer ≥ 2");
  log(
    `devnet-apart: the deployment's shape, ${rounds} rounds (about ${Math.ceil((rounds * 16) / 60) + 1} minutes)`,
  );
  const a = await benchDevnetApart(log, rounds);
  results.devnetApart = a;
  if (!a) log("devnet-apart: one core or no taskset: nothing measured");
  else {
    const shown = (r: RatioInterval) => [
      `${(100 * r.value).toFixed(2)}%`,
      `${(100 * r.low).toFixed(2)}–${(100 * r.high).toFixed(2)}%`,
    ];
    const t = a.throughput;
    const cpu = t.cpuMsPerRequest;
    console.log(
      `\n${renderTable(
        ["ratio", "measured", `${100 * a.level}% interval`, "goal"],
        [
          [
            "full verification vs none, by the workers' CPU per request",
            ...shown(a.workersCpu),
            "≥ 99.5% (paper 99%)",
          ],
          ["full verification vs none, by requests per second", ...shown(a.requests), "≥ 99.5% (paper 99%)"],
          [
            "control: straight to the workers vs the plain proxy, by their CPU (no verification in either)",
            ...shown(a.control),
            "100% (noise only)",
          ],
        ],
        {
          title: `Devnet throughput in the deployment's shape, ${t.rounds.length} rounds of 5 s each way (${t.clients} clients; workers ${cpu ? `${cpu.viaGateway.workers.toFixed(1)} / ${cpu.unverified.workers.toFixed(1)} / ${cpu.direct.workers.toFixed(1)} ms of CPU per request verifying / off / straight` : "CPU unknown"}); percentile bootstrap over rounds, ${a.resamples} resamples, seed ${a.seed}`,
        },
      )}`,
    );
  }
}

if (run("role-start")) {
  log(
    "role-start: each devnet role killed and started again, from the bundle and through tsx (about 3 minutes)",
  );
  const r = await benchRoleStart(log);
  results.roleStart = r;
  const range = (xs: readonly number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return `${(s[Math.floor(s.length / 2)] as number).toFixed(2)} (${(s[0] as number).toFixed(2)}–${(s.at(-1) as number).toFixed(2)})`;
  };
  console.log(
    `\n${renderTable(
      ["role", "started from", "kill to ready, s: median (range)", "CPU at ready, s: median (range)"],
      r.runs.map((x) => [
        x.role,
        x.entry === "bundle" ? "the CLI's bundle" : "bin/verinfer.mjs (tsx)",
        range(x.seconds),
        range(x.cpuSeconds),
      ]),
      {
        title: `Role restarts, ${r.rounds} rounds each way, alternating (bundle built once in ${r.bundleSeconds.toFixed(1)} s)`,
      },
    )}`,
  );
}

if (run("soak")) {
  log("soak: the devnet under steady load (VERINFER_SOAK_SECONDS, default 300, plus about two minutes)");
  const k = await benchSoak(log);
  results.soak = k;
  // NaN: the role was restarting when sampled.
  const mb = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : "—");
  console.log(
    `\n${renderTable(
      [
        "process",
        "RSS after 1 min, MB",
        "halfway, MB",
        "at the end, MB",
        "growth, 1st half / 2nd half, MB per 10 min",
      ],
      k.rssMb.map((r) => {
        const half = Math.max(1, (k.seconds - 60) / 2);
        const per10 = (x: number) => (Number.isFinite(x) ? ((x * 600) / half).toFixed(1) : "—");
        return [
          r.role,
          mb(r.warm),
          mb(r.mid),
          mb(r.end),
          `${per10(r.mid - r.warm)} / ${per10(r.end - r.mid)}`,
        ];
      }),
      {
        title: `Soak: ${k.clients} clients for ${k.seconds} s, ${k.answered} answered (${(k.answered / k.seconds).toFixed(1)}/s), failed ${JSON.stringify(k.failed)}`,
        digits: 1,
      },
    )}`,
  );
  console.log(
    `\n${renderTable(
      ["epoch", "evaluators that revealed", "workers paid by PoQ quality"],
      k.epochs.map((e) => [e.epoch, `${e.revealed} of ${e.evaluators}`, e.workersWithQuality]),
      { title: "Epochs whose reveal phase ended under the load" },
    )}`,
  );
  const s = k.spotChecks;
  console.log(
    `\n${renderTable(
      [
        "batches",
        "receipts the draw selects",
        "obligations opened",
        "proven",
        "slashed",
        "proofs made",
        "proof ms: p50",
        "p90",
        "max",
        "fisherman's verdicts",
      ],
      [
        [
          s.batches,
          s.selected,
          s.opened,
          s.proven,
          s.slashed,
          s.proveMs.n,
          s.proveMs.p50,
          s.proveMs.p90,
          s.proveMs.max,
          JSON.stringify(k.verdicts),
        ],
      ],
      {
        title: `Spot-checks at ρ = ${s.rhoPpm / 10_000}% (the draw recomputed from the chain), the workers' engine niceness ${s.engineNice ?? "their default"}`,
      },
    )}`,
  );
  const a = k.reexecutionAge;
  console.log(
    `\n${renderTable(
      [
        "configured rate",
        "rate at the end",
        "s per re-execution",
        "re-executed",
        "ended ≤ s after posting: p50",
        "p99",
        "all",
      ],
      [
        [
          k.sampling.configured,
          k.sampling.rate.toFixed(3),
          k.sampling.secondsPerReexecution?.toFixed(3) ?? "—",
          (k.verdicts.agrees ?? 0) + (k.verdicts.differs ?? 0),
          a.p50,
          a.p99,
          a.max,
        ],
      ],
      { title: `The fisherman's re-execution (challenge window ${a.window} s)` },
    )}`,
  );
  console.log(
    `\n${renderTable(
      ["log", "level", "message", "times", "the first's details"],
      k.logged.map((l) => [l.log, l.level, l.msg, l.count, l.first]),
      { title: "Warnings and errors the roles logged during the run" },
    )}`,
  );
  const chaos = k.chaos;
  if (chaos)
    console.log(
      `\n${renderTable(
        [
          "seconds into the load",
          "role killed (-9) and restarted (anvil: stopped, restarted from its state; reorg: the last 10 s of blocks taken off the chain)",
          "done (ready again) after, s",
        ],
        chaos.kills.map((x) => [x.at, x.role, x.restartSeconds.toFixed(1)]),
        {
          title: `Chaos: a crash or a reorganisation every ${chaos.everySeconds} s (seed ${chaos.seed}). Of ${chaos.answeredWithReceipt} answers with a receipt, ${chaos.missing} in no posted batch; ${chaos.duplicated} request ids posted more than once`,
        },
      )}`,
    );
}

if (run("serve")) {
  log("serve: verinfer serve under load, each engine with 1 and 2 workers (about two minutes)");
  const s = await benchServe(dataDir, log);
  results.serve = s;
  const range = (r: { median: number; min: number; max: number }) =>
    `${r.median.toFixed(1)} (${r.min.toFixed(1)}–${r.max.toFixed(1)})`;
  console.log(
    `\n${renderTable(
      [
        "engine",
        "workers",
        "TTFT ms median (range)",
        "requests/s",
        "tokens/s",
        "/health p50 ms",
        "p99 ms",
        "max ms",
        "64 KB prompt rejected in ms",
      ],
      s.runs.map((r) => [
        r.engine,
        r.workers,
        range(r.ttftMs),
        r.requestsPerSecond,
        r.tokensPerSecond,
        r.health.p50Ms,
        r.health.p99Ms,
        r.health.maxMs,
        r.rejectLongPromptMs,
      ]),
      {
        title: `verinfer serve, generated 15m-shape model: TTFT of a lone streamed request (5 runs); throughput with 2 clients per worker, ${s.tokens} greedy tokens each (ts-int ${s.tokens / 4}); /health every 10 ms while one 200-token stream per worker runs`,
        digits: 1,
      },
    )}`,
  );
  if (s.tokenizer.length)
    console.log(
      `\n${renderTable(
        ["text", "chars", "tokens", "ms median (range of 7)", "target < 100 ms"],
        s.tokenizer.map((t) => [t.text, t.chars, t.tokens, range(t.ms), t.ms.max < 100 ? "met" : "NOT met"]),
        {
          title: "Encoding a 64 KB prompt with the Llama 2 tokenizer (32,000 pieces, BPE merges)",
          digits: 1,
        },
      )}`,
    );
}

if (run("otr")) {
  log("otr: simulator, sequencer ingest, sealing, dispute games (about two minutes)");
  const o = await benchOtr(log);
  results.otr = o;
  console.log(
    `\n${renderTable(
      ["requests", "workers", "req/s", "seconds", "events", "events/s", "target 10^6 on 10^4 < 60 s"],
      o.simulate.map((r) => [
        r.requests,
        r.workers,
        r.ratePerSecond,
        r.seconds,
        r.events,
        Math.round(r.eventsPerSecond),
        r.requests === 1_000_000 ? (r.seconds < 60 ? "met" : "NOT met") : "–",
      ]),
      { title: `OTR simulator (60% load, default scenario, ${o.hash} keccak)`, digits: 1 },
    )}`,
  );
  console.log(
    `\n${renderTable(
      ["mode", "threads", "receipts", "receipts/s", "target ≥ 20,000/s with full verification"],
      o.ingest.map((r) => [
        r.mode,
        r.threads,
        r.receipts,
        Math.round(r.perSecond),
        r.mode.includes("verify") ? (r.perSecond >= 20_000 ? "met" : "NOT met") : "–",
      ]),
      { title: "Sequencer ingest (native secp256k1; batches sealed every 10,000 receipts)", digits: 1 },
    )}`,
  );
  console.log(
    `\n${renderTable(
      ["receipts", "root ms", "data ms", "total ms", "target root < 50 ms"],
      [
        [
          o.seal.receipts,
          o.seal.rootMs,
          o.seal.dataMs,
          o.seal.totalMs,
          o.seal.rootMs < 50 ? "met" : "NOT met",
        ],
      ],
      {
        title:
          "Sealing a batch (median of 7): the OZ-compatible root over leaves computed at admission, and the batch data",
        digits: 1,
      },
    )}`,
  );
  console.log(
    `\n${renderTable(
      ["game", "leaves", "moves", "ms (median of 5)", "worker lost", "target 2^24 < 1 s"],
      o.dispute.map((d) => [
        d.game,
        d.leaves,
        d.moves,
        d.seconds * 1000,
        d.workerLost ? "yes" : "no",
        d.leaves === 2 ** 24 ? (d.seconds < 1 ? "met" : "NOT met") : "–",
      ]),
      { title: "Dispute games, both solvers in process", digits: 1 },
    )}`,
  );
  const t = o.traceTree;
  console.log(
    `\nA real trace tree is not part of the game: building one over ${t.leaves.toLocaleString("en-US")} leaves took ${t.seconds.toFixed(2)} s (${Math.round(t.hashesPerSecond).toLocaleString("en-US")} hashes/s); over 2^24 leaves that is about ${t.extrapolated2to24Seconds.toFixed(0)} s (extrapolated), paid once by each party before it plays.`,
  );
}

if (run("contracts")) {
  log("contracts: one-step gas per operation on anvil, forge gas report (about a minute)");
  const k = await benchContracts(log);
  results.contracts = k;
  const BLOCK = 30_000_000;
  const TX_CAP = 16_777_216; // EIP-7825 (Osaka): the most gas one transaction may use
  console.log(
    `\n${renderTable(
      ["step", "position", "calldata KB", "gas", "fits a 30M block", "fits the 2^24 tx cap"],
      k.oneStep.map((r) => [
        r.op,
        r.pos,
        r.calldataBytes / 1000,
        r.gas.toLocaleString("en-US"),
        r.gas <= BLOCK ? "yes" : "NO",
        r.gas <= TX_CAP ? "yes" : "no",
      ]),
      {
        title: `One-step check on chain (TraceStepVerifier.correctLeaf as a transaction: eth_estimateGas on anvil), generated 15m-shape model (seed ${k.model.seed}), a ${k.model.positions}-position ts-int trace, top-p 0.9 at temperature 0.8`,
        digits: 1,
      },
    )}`,
  );
  const attn = k.oneStep.filter((r) => r.op === "attn");
  if (attn.length >= 2) {
    const [a, b] = [attn[0] as (typeof attn)[number], attn[attn.length - 1] as (typeof attn)[number]];
    const slope = (b.gas - a.gas) / (b.pos - a.pos);
    console.log(
      `\nAttention grows by ${Math.round(slope).toLocaleString("en-US")} gas per earlier position: about ${Math.round((a.gas + slope * 255) / 1e6)}M at position 255 (extrapolated); it fits a 30M block up to position ${Math.floor((BLOCK - a.gas) / slope)}.`,
    );
  }
  const moves = [
    "DisputeGame challenge",
    "DisputeGame attack",
    "DisputeGame dissect",
    "DisputeGame oneStep",
    "DisputeGame resolve",
    "Rollup postBatch",
    "Rollup forceInclude",
    "Rollup proveBrokenPromise",
    "Registry registerModel",
    "Registry registerWorker",
    "Registry deposit",
    "Registry unbond",
    "Registry withdraw",
    "Registry slash",
    "SpotChecks fixSeed",
    "SpotChecks open",
    "SpotChecks prove",
    "SpotChecks slashMissing",
    "Epochs post",
    "Epochs claim",
    "Epochs burnDust",
  ];
  console.log(
    `\n${renderTable(
      ["contract", "function", "calls", "median gas", "max gas", "target"],
      k.forge
        .filter((r) => moves.includes(`${r.contract} ${r.fn}`))
        .map((r) => [
          r.contract,
          r.fn,
          r.calls,
          r.median.toLocaleString("en-US"),
          r.max.toLocaleString("en-US"),
          r.fn === "attack" || r.fn === "dissect"
            ? `≤ 80,000: ${r.max <= 80_000 ? "met" : "NOT met"} as a transaction`
            : "–",
        ]),
      {
        title:
          "Moves, batches and registration (forge test --gas-report: each call as a transaction, the 21,000 base and calldata included)",
        digits: 0,
      },
    )}`,
  );
  console.log(
    `\n${renderTable(
      [
        "receipts",
        "data bytes",
        "transaction gas",
        "base",
        "calldata (4/16)",
        "EIP-7623 floor",
        "execution",
        "target ≤ 60,000 + data",
      ],
      k.batchPosts.map((p) => [
        p.receipts,
        p.dataBytes,
        p.txGas.toLocaleString("en-US"),
        "21,000",
        p.calldataGas.toLocaleString("en-US"),
        p.floorGas.toLocaleString("en-US"),
        p.executionGas === null ? "(under the floor)" : p.executionGas.toLocaleString("en-US"),
        p.executionGas === null
          ? "the floor is the data's price"
          : `execution ${p.executionGas <= 60_000 ? "met" : "NOT met"}; with the base ${p.executionGas + 21_000 <= 60_000 ? "met" : "NOT met"}`,
      ]),
      {
        title:
          "Rollup.postBatch in steady state on anvil (a later batch: the counter word is already written); data = the batch's receipts in calldata",
        digits: 0,
      },
    )}`,
  );
  const gwei = (wei: bigint) => `${(Number(wei) / 1e18).toFixed(3)} ETH`;
  const b = k.bonds;
  console.log(
    `\n${renderTable(
      ["attackers", "defense capital, assumed gas", "with measured gas"],
      b.capitalWei.map((c) => [c.attackers, gwei(c.assumed), gwei(c.measured)]),
      {
        title: `Capital an honest party needs to defend one batch (bonds at ${b.gasPriceGwei} gwei): the leaf-attack bond is ${gwei(b.leafAttackBondWei)} for an assumed ${b.assumedOneStepGas.toLocaleString("en-US")}-gas one-step; the worst one-step measured here costs ${b.measuredOneStepGas.toLocaleString("en-US")} gas (${gwei(b.measuredOneStepCostWei)})`,
        digits: 0,
      },
    )}`,
  );
}

if (run("zk")) {
  log("zk: constraints, Groth16 proving per size (fresh processes), JS verification, gas on anvil (minutes)");
  const z = await benchZk(log);
  results.zk = z;
  const range = (xs: number[]) =>
    xs.length === 0 ? "–" : `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}`;
  console.log(
    `\n${renderTable(
      [
        "circuit",
        "constraints",
        "domain",
        "cold prove ms",
        "warm prove ms",
        "peak RSS MiB",
        "goal ≤ 2 s at 2^14",
      ],
      z.sizes.map((s) => {
        const warm = s.runs.map((r) => r.warmMs);
        return [
          `MatmulSlice(${s.n}, ${s.rows})`,
          s.constraints.toLocaleString("en-US"),
          `2^${s.power}`,
          range(s.runs.map((r) => r.coldMs)),
          range(warm),
          range(s.runs.map((r) => r.maxRssMiB)),
          s.power === 14 && warm.length > 0 ? (Math.max(...warm) <= 2000 ? "met" : "NOT met") : "–",
        ];
      }),
      {
        title: `Groth16 proving with snarkjs (each run a fresh process; cold = its first proof, warm = its second); ${Math.round(z.perRowConstraints)} constraints per row at 288 inputs, ${Math.round(z.sharedConstraints)} shared`,
        digits: 0,
      },
    )}`,
  );
  for (const m of z.missing) console.log(`  not measured: ${m}`);
  console.log(
    `\nThe product's path (SliceProver: one worker thread, a single-threaded curve) at 2^14: ${range(z.workerProveMs)} ms per proof after the thread's first.`,
  );
  console.log(
    `\n${renderTable(
      [
        "selected step",
        "calldata bytes",
        "SpotChecks.prove",
        "verifySlice",
        "Groth16 alone",
        "binding challenge",
        "no SNARK: recompute",
        "≤ 230k",
      ],
      z.obligations.map((o) => [
        o.op,
        o.calldataBytes,
        o.spotCheckProve,
        o.verifySlice,
        o.groth16,
        o.bindingChallenge,
        o.recomputeWithoutSnark,
        o.spotCheckProve <= 230_000 ? "met" : "NOT met",
      ]),
      {
        title: `Spot-check gas on anvil at stories15M's shape, one row per obligation (transactions' gasUsed: SpotChecks.prove = Merkle paths + Groth16 + bookkeeping; the binding challenge recomputes Poseidon and runs only when someone challenges); proof ${z.proofBytes} bytes; JS verify ${range(z.verifyMs)} ms`,
        digits: 0,
      },
    )}`,
  );
}

if (jsonFile) {
  writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote ${jsonFile}`);
}
