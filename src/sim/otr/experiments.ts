/**
 * The experiments of docs/reproductions/otr.md, as functions of a base configuration: each runs
 * the simulator (or the cost formula) over a sweep and returns a table — column names and rows of
 * numbers or labels — with the paper's figure beside ours where it reports one. Pure and seeded.
 */
import { deriveSeed, type Seed } from "../../protocol/rng/deriveSeed.ts";
import { catchProbability, detectionProbability, minimumSlash } from "../../protocol/spotcheck/spotcheck.ts";
import type { Hash32 } from "../../protocol/verifiable/trace.ts";
import { type CostInputs, costPerQuery, DEFAULT_COST_INPUTS } from "./costModel.ts";
import { type OtrSimConfig, type OtrSimResult, simulateOtr } from "./otrSim.ts";
import { SCENARIOS, workerCapacity } from "./scenarios.ts";

/** A table of results. */
export interface ExperimentTable {
  readonly name: string;
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (number | string | null)[])[];
  /** The paper's claim this table tests, and what we conclude. */
  readonly paper: string;
  readonly notes: readonly string[];
}

/** Experiment names. */
export const EXPERIMENTS = ["throughput", "cost", "latency", "security", "attacks", "scale"] as const;
/** An experiment name. */
export type ExperimentName = (typeof EXPERIMENTS)[number];

/** Simulation runs each experiment makes (for progress bars; a test keeps it honest). */
export const EXPERIMENT_RUNS: Readonly<Record<ExperimentName, number>> = {
  throughput: 16,
  cost: 0,
  latency: 5,
  security: 12,
  attacks: 9,
  scale: 10,
};

/** What every experiment needs: a base configuration, a seed, the hash, and a progress callback. */
export interface ExperimentContext {
  readonly base: OtrSimConfig;
  readonly seed: Seed;
  readonly hash: Hash32;
  readonly onRun?: (label: string) => void;
}

const run = (ctx: ExperimentContext, label: string, config: OtrSimConfig): OtrSimResult => {
  ctx.onRun?.(label);
  return simulateOtr(config, deriveSeed(ctx.seed, label), ctx.hash);
};
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

/** 1. Throughput against a centralized baseline on the same workers, at saturation. */
export function throughputExperiment(ctx: ExperimentContext): ExperimentTable {
  const rows: (number | string)[][] = [];
  for (const tee of [0, 0.01, 0.04, 0.06, 0.08, 0.15, 0.175, 0.2]) {
    const config = { ...ctx.base, teeOverhead: tee };
    const saturating = {
      kind: "poisson" as const,
      ratePerSecond: 2 * workerCapacity({ ...config, teeOverhead: 0 }),
    };
    const otr = run(ctx, `throughput tee ${tee}`, { ...config, arrivals: saturating });
    const central = run(ctx, `throughput baseline tee ${tee}`, {
      ...config,
      arrivals: saturating,
      baseline: true,
    });
    const gatewayCapacity =
      (1000 * config.gateway.cores) / (config.gateway.verifyMs + config.gateway.persistMs);
    rows.push([
      tee,
      round(central.throughputPerSecond, 1),
      round(otr.throughputPerSecond, 1),
      round(otr.throughputPerSecond / central.throughputPerSecond),
      round(1 / (1 + tee)),
      round(gatewayCapacity, 0),
    ]);
  }
  return {
    name: "throughput",
    title: "Throughput at saturation: OTR vs a centralized baseline on the same workers",
    columns: [
      "TEE overhead",
      "baseline req/s",
      "OTR req/s",
      "ratio",
      "1/(1+overhead)",
      "gateway capacity req/s",
    ],
    rows,
    paper: "99% of centralized throughput",
    notes: [
      "Both runs get the same arrivals (twice the workers' capacity without a TEE); throughput is completions per second.",
      "The ratio follows 1/(1+TEE overhead): the gateway's receipt verification is far from being the bottleneck.",
      "99% needs a TEE overhead of about 1%; with the paper's own 15-20% the ratio is 83-87%, with the 4-8% measured elsewhere 93-96%.",
    ],
  };
}

/** 2. Cost per query: the formula over its inputs, and the inputs that give the papers' figures. */
export function costExperiment(base: CostInputs = DEFAULT_COST_INPUTS): ExperimentTable {
  const rows: (string | number)[][] = [];
  const line = (label: string, i: CostInputs) => {
    const c = costPerQuery(i);
    rows.push([
      label,
      round(c.gasPerQuery, 0),
      round(c.batchPosting, 5),
      round(c.dataAvailability, 5),
      round(c.proofs, 5),
      round(c.disputes, 5),
      round(c.teeOverhead + c.proving + c.fishermen, 5),
      round(c.total, 5),
    ]);
  };
  const bare = {
    ...base,
    batchPostGas: 0,
    receiptBytes: 0,
    teeOverhead: 0,
    proveSeconds: 0,
    fishermanCoverage: 0,
  };
  line("paper's $0.07: rho 1% x Groth16 verify (229k gas), 10 gwei, $3,000/ETH", {
    ...bare,
    proofVerifyGas: 229_000,
  });
  line(
    `rho 1% x our measured spot-check (${Math.round(base.proofVerifyGas / 1000)}k gas: Merkle paths + Groth16)`,
    bare,
  );
  line("opML's $0.06: 2,000 gas per query (e.g. a 32-byte result hash in calldata plus posting)", {
    ...bare,
    rho: 0,
    batchPostGas: 2_000,
    batchSize: 1,
  });
  line("ZKML $45+: 18 GPU-hours of proving per 7B query at $2.50/h (> 20 min on bigger rigs)", {
    ...bare,
    rho: 1,
    proofVerifyGas: 300_000,
    proveSeconds: 18 * 3600,
  });
  line("ours, L1 at 10 gwei: calldata data, proofs verified on chain", base);
  line("ours, L1: blob data, proofs verified on chain", { ...base, dataAvailability: "blob" });
  line("ours, L1: blob data, proofs posted optimistically", {
    ...base,
    dataAvailability: "blob",
    proofOnChain: false,
  });
  line("ours, an L2 at 0.01 gwei: calldata, proofs on chain", { ...base, gasPriceGwei: 0.01 });
  for (const rho of [0.001, 0.05])
    line(`ours, L1 blob, rho ${rho * 100}%`, { ...base, dataAvailability: "blob", rho });
  line(`ours, L1 blob, 1% of queries disputed (${(base.disputeGas / 1e6).toFixed(0)}M gas each)`, {
    ...base,
    dataAvailability: "blob",
    disputeRate: 0.01,
  });
  return {
    name: "cost",
    title: "Marginal cost per query (US$) by component",
    columns: [
      "design",
      "gas/query",
      "batch posting",
      "data availability",
      "proofs",
      "disputes",
      "GPU: TEE + proving + fishermen",
      "total $",
    ],
    rows,
    paper: "$0.07 per query (opML $0.06, ZKML $45+)",
    notes: [
      "$0.07 is reproduced exactly by rho = 1% of queries each paying a 229k-gas Groth16 verification at 10 gwei and $3,000/ETH ($0.0687) and nothing else.",
      `The same design posting its receipts in calldata pays more for data availability (${base.receiptBytes} bytes x ${base.calldataGasPerByte} gas = ${(base.receiptBytes * base.calldataGasPerByte).toLocaleString("en-US")} gas, $${round(costPerQuery(base).dataAvailability, 2)}; EIP-7623's calldata floor, as measured) than for proofs; blobs make data nearly free.`,
      `GPU costs: TEE overhead at 17.5% of a 1 s query on a $2.50/h GPU is $0.0001; proving 1% of queries for ${base.proveSeconds} s each (measured, docs/zk.md) is less.`,
      "opML's and ZKML's figures are not decomposed by their papers; the rows show inputs that give them.",
    ],
  };
}

/** 3. Latency: provisional finality and end-to-end, with spot-check proofs off and on the critical path. */
export function latencyExperiment(ctx: ExperimentContext): ExperimentTable {
  const rows: (string | number | null)[][] = [];
  for (const [label, config] of [
    ["proofs off the critical path", { ...ctx.base }],
    ["proofs on the critical path", { ...ctx.base, prover: { ...ctx.base.prover, onCriticalPath: true } }],
    [
      "on the path, seed block 2 s (an L2)",
      { ...ctx.base, chain: { blockMs: 2_000 }, prover: { ...ctx.base.prover, onCriticalPath: true } },
    ],
    [
      "on the path, proving a whole inference (20 min, ZKML)",
      { ...ctx.base, prover: { medianMs: 1_200_000, sigma: 0.3, onCriticalPath: true } },
    ],
    ["centralized baseline", { ...ctx.base, baseline: true }],
  ] as const) {
    const r = run(ctx, `latency ${label}`, config);
    const l = r.latency;
    rows.push([
      label,
      round(l.provisionalOverhead.p50, 1),
      round(l.provisionalOverhead.p99, 1),
      round(l.endToEnd.mean, 1),
      round(l.endToEnd.p99, 1),
      round(l.withProofs.mean, 1),
      r.baseline ? null : round(l.selectedWithProofs.mean, 1),
      r.baseline ? null : round(l.toFinal.p50 / 1000, 1),
    ]);
  }
  return {
    name: "latency",
    title: "Latency (ms): what OTR adds, end to end, and with proofs on the client's path",
    columns: [
      "setting",
      "provisional overhead p50",
      "p99",
      "end-to-end mean",
      "p99",
      "all requests, proofs on path: mean",
      "selected requests: mean",
      "to final p50 (s)",
    ],
    rows,
    paper: "provisional finality < 500 ms; 0.8 s mean latency with 1% ZK spot-checks",
    notes: [
      "Provisional overhead: from the output being ready at the worker to the client holding it, through the gateway (two network hops); OTR adds the receipt's verification and durable write, the baseline nothing.",
      "End to end includes the inference itself (1 s median here); a selected request's proof can only start after its batch is posted and the seed block is out, so on the critical path it waits for the next block, the seed delay and the proving time.",
      "The paper's 0.8 s mean is consistent only with proofs off the critical path (or a selection known before posting, which a party could grind).",
      `Proving time matters little next to the chain's clocks for a ${ctx.base.prover.medianMs / 1000} s slice proof (measured, docs/zk.md); proving a whole inference (ZKML's > 20 min for a 7B model) on the path adds 1% x 20 min = 12 s to the mean.`,
    ],
  };
}

/** 4. Security: detection and attacker profit against rho, fisherman coverage and stake. */
export function securityExperiment(ctx: ExperimentContext): ExperimentTable {
  const rows: (string | number)[][] = [];
  const gainTokens = Number(ctx.base.fraudGainWei) / 1e18;
  const slashTokens = Number(ctx.base.otr.dispute.workerSlash) / 1e18;
  for (const rho of [0, 0.001, 0.01, 0.05]) {
    for (const coverage of [0, 0.01, 0.05]) {
      const config: OtrSimConfig = {
        ...ctx.base,
        adversary: { kind: "wrongOutputs", workers: 0.05, rate: 0.2 },
        fishermen: { ...ctx.base.fishermen, coverage },
        otr: { ...ctx.base.otr, spotcheck: { ...ctx.base.otr.spotcheck, rhoPpm: Math.round(rho * 1e6) } },
      };
      const r = run(ctx, `security rho ${rho} coverage ${coverage}`, config);
      const s = r.security;
      const frauds = s.fraudulent;
      const caught = s.caughtBySpotcheck + s.caughtByFisherman;
      const perFraud = catchProbability(rho, coverage);
      rows.push([
        rho,
        coverage,
        frauds,
        round(frauds ? caught / frauds : 0),
        round(perFraud),
        round(detectionProbability(perFraud, 10)),
        round(Number(BigInt(s.attackerProfitWei)) / 1e18, 3),
        perFraud > 0 ? round(minimumSlash(gainTokens, rho, coverage), 3) : "none",
        round(s.meanDisputeMs / 60_000, 1),
      ]);
    }
  }
  return {
    name: "security",
    title: `Detection and attacker profit: 5% of workers return wrong outputs for 20% of requests (gain ${gainTokens} token each, slash ${slashTokens})`,
    columns: [
      "rho",
      "fisherman coverage",
      "frauds",
      "caught (simulated)",
      "caught per fraud (formula)",
      "P(catch 1 of 10)",
      "attacker profit (tokens)",
      "least slash that deters (tokens)",
      "dispute minutes",
    ],
    rows,
    paper:
      "Byzantine fault tolerance against rational adversaries, even with transient hardware vulnerabilities",
    notes: [
      "Each fraudulent receipt is caught by a spot-check with probability rho and otherwise by a fisherman with its coverage: the simulated share matches rho + (1 - rho) p_f.",
      "A rational cheater is deterred when the slash exceeds gain / (rho + (1 - rho) p_f); with rho = 0 and no fishermen nothing deters.",
      "Disputes are played with the protocol's game; their length is set by the clocks (one side's 30-minute clock runs out).",
    ],
  };
}

const tokens = (wei: string | bigint) => round(Number(BigInt(wei)) / 1e18, 3);

/** 4b. Every adversary of the scenarios: what it gained, what caught it, who put up capital. */
export function attacksExperiment(ctx: ExperimentContext): ExperimentTable {
  const rows: (string | number | null)[][] = [];
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    if (scenario.config.adversary.kind === "none") continue;
    const config = {
      ...ctx.base,
      adversary: scenario.config.adversary,
      fishermen: scenario.config.fishermen,
    };
    const r = run(ctx, `attack ${name}`, config);
    const s = r.security;
    const honest = BigInt(s.honestBondsWei);
    const attacker = BigInt(s.attackerBondsWei);
    rows.push([
      name,
      s.fraudulent,
      s.rejectedAtAdmission,
      s.caughtBySpotcheck + s.caughtByFisherman + s.invalidInclusionsProven,
      s.undetected,
      tokens(s.attackerProfitWei),
      s.disputes,
      tokens(honest),
      honest > 0n ? round(Number(attacker) / Number(honest), 2) : null,
      round(r.latency.toFinal.p50 / 1000, 1),
      round(r.latency.toFinal.p99 / 1000, 1),
      s.censored ? `${s.forcedIn}/${s.censored}` : null,
    ]);
  }
  return {
    name: "attacks",
    title: "Every adversary on the default network: detection, profit, capital at risk, time to final",
    columns: [
      "scenario",
      "bad receipts",
      "refused at admission",
      "caught",
      "undetected",
      "attacker profit (tokens)",
      "disputes",
      "honest bonds (tokens)",
      "attacker : honest bonds",
      "to final p50 (s)",
      "p99 (s)",
      "forced in / censored",
    ],
    rows,
    paper:
      "Byzantine fault tolerance against rational adversaries, even with transient hardware vulnerabilities",
    notes: [
      "An honest TEE refuses to sign a downgraded model's hashes, so the gateway rejects those receipts at admission; only a compromised TEE (or a leaked key) gets a fraudulent receipt in, and then spot-checks and fishermen are all that catch it.",
      "A colluding sequencer's receipts of an unregistered worker are provable from the published batch data by anyone; a censored client forces its receipt in by posting it itself.",
      "Griefing costs the attackers the bonds: the honest defender's bonds come back with the attackers' (resource ratio above 1).",
      "In a fraud dispute the honest challenger locks more than the cheater (an attack bond covers the dissection or one-step it forces, which costs more than a dissection); it gets its bonds back with the cheater's and half the slash.",
      "Attacker profit bottoms out at the stake: a worker cannot lose more than it staked (10 tokens each here). The run (100 s of traffic) is shorter than a dispute, so no cheater is ejected within it.",
      "Time to final is the challenge window after posting; a dispute holds only the disputed receipt.",
    ],
  };
}

/** 5. Scale: cost per query and finality as batch size, request rate and node count grow. */
export function scaleExperiment(ctx: ExperimentContext): ExperimentTable {
  const rows: (string | number)[][] = [];
  const variants: [string, OtrSimConfig][] = [];
  for (const size of [100, 1_000, 10_000])
    variants.push([
      `batch ${size}`,
      {
        ...ctx.base,
        otr: {
          ...ctx.base.otr,
          rollup: { ...ctx.base.otr.rollup, maxBatchReceipts: size, maxBatchAgeMs: 600_000 },
        },
      },
    ]);
  for (const rate of [100, 1_000, 5_000]) {
    const workers = Math.max(10, Math.ceil((rate * 1.5) / workerCapacity({ ...ctx.base, workers: 1 })));
    variants.push([
      `${rate} req/s on ${workers} workers`,
      { ...ctx.base, workers, arrivals: { kind: "poisson", ratePerSecond: rate } },
    ]);
  }
  for (const workers of [100, 1_000, 10_000])
    variants.push([
      `${workers} workers at 60% load`,
      {
        ...ctx.base,
        workers,
        arrivals: { kind: "poisson", ratePerSecond: 0.6 * workerCapacity({ ...ctx.base, workers }) },
      },
    ]);
  // 10,000 workers at 60% load send about 40,000 receipts/s: twice what 2 gateway cores admit.
  const big = variants.at(-1)?.[1] as OtrSimConfig;
  variants.push(["10000 workers, gateway on 4 cores", { ...big, gateway: { ...big.gateway, cores: 4 } }]);
  for (const [label, config] of variants) {
    const r = run(ctx, `scale ${label}`, config);
    rows.push([
      label,
      r.batches.count,
      round(r.batches.meanSize, 0),
      round(r.costPerQueryUsd, 5),
      round(r.latency.provisionalOverhead.p99, 1),
      round(r.latency.toFinal.p50 / 1000, 1),
      r.events,
    ]);
  }
  return {
    name: "scale",
    title: "Scale: cost per query (calldata, 10 gwei) and finality as batches, rate and nodes grow",
    columns: [
      "setting",
      "batches",
      "mean batch",
      "$ per query (on chain)",
      "provisional overhead p99 ms",
      "to final p50 (s)",
      "events",
    ],
    rows,
    paper: "(no figure)",
    notes: [
      "Batch posting amortizes with batch size; data availability and proofs do not (they are per receipt).",
      "The node count changes nothing in the per-query cost: routing is two random draws per request. It does load the gateway: 10,000 workers at 60% load send about 40,000 receipts/s, twice what 2 cores admit at the measured 0.1 ms per receipt, so receipts queue and provisional finality waits seconds; 4 cores (or sharded sequencers) bring it back to tens of milliseconds.",
      "The largest batches stop at about 4,000 receipts: the 1 MiB byte limit (257 bytes per receipt) seals them before the count limit.",
    ],
  };
}

/** Runs one experiment. */
export function runExperiment(name: ExperimentName, ctx: ExperimentContext): ExperimentTable {
  switch (name) {
    case "throughput":
      return throughputExperiment(ctx);
    case "cost":
      return costExperiment(ctx.base.cost);
    case "latency":
      return latencyExperiment(ctx);
    case "security":
      return securityExperiment(ctx);
    case "attacks":
      return attacksExperiment(ctx);
    case "scale":
      return scaleExperiment(ctx);
  }
}
