/**
 * Options shared by `verinfer otr simulate` and `otr sweep`: the scenario's configuration with any
 * field given on the command line changed. Unset options leave the scenario's value.
 */

import { VerinferError } from "../../errors.ts";
import { type OtrSimConfig, validateOtrSim } from "../../sim/otr/otrSim.ts";
import type { CommandContext, OptionSpec } from "../framework/command.ts";

/** Options that change a simulation's configuration. */
export const OTR_SIM_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  requests: { type: "integer", value: "N", min: 1, default: 100_000, description: "requests to simulate" },
  seed: {
    type: "integer",
    value: "N",
    default: 1,
    description: "master seed (every run's seed derives from it)",
  },
  rate: { type: "number", value: "R", min: 0, description: "mean arrivals per second" },
  workers: { type: "integer", value: "N", min: 1, description: "worker nodes" },
  slots: { type: "integer", value: "N", min: 1, description: "concurrent requests per worker" },
  "service-ms": { type: "number", value: "MS", min: 0, description: "median service time without a TEE" },
  "tee-overhead": {
    type: "number",
    value: "X",
    min: 0,
    description: "TEE overhead on service time (0.175 = +17.5%)",
  },
  rho: {
    type: "number",
    value: "X",
    min: 0,
    max: 1,
    description: "fraction of receipts spot-checked (0.01 = 1%)",
  },
  coverage: {
    type: "number",
    value: "X",
    min: 0,
    max: 1,
    description: "fraction of receipts fishermen re-execute",
  },
  "batch-receipts": {
    type: "integer",
    value: "N",
    min: 1,
    description: "seal a batch at this many receipts",
  },
  "batch-age-ms": {
    type: "number",
    value: "MS",
    min: 0,
    description: "seal a batch when its oldest receipt is this old",
  },
  "window-s": { type: "number", value: "S", min: 0, description: "challenge window in seconds" },
  "block-ms": { type: "number", value: "MS", min: 0, description: "block time of the settlement chain" },
  "gas-price": { type: "number", value: "GWEI", min: 0, description: "gas price for the cost accounting" },
  da: {
    type: "string",
    value: "KIND",
    choices: ["calldata", "blob"],
    description: "where batch data is posted",
  },
  "proofs-on-path": {
    type: "boolean",
    description: "clients wait for the spot-check proofs of selected requests",
  },
  baseline: { type: "boolean", description: "the centralized baseline: no TEE, no receipts, no protocol" },
};

/** The configuration `base` with the options given on the command line applied, validated. */
export function simConfigFromOptions(ctx: CommandContext, base: OtrSimConfig): OtrSimConfig {
  const n = (name: string) => ctx.number(name);
  const rate = n("rate");
  const rho = n("rho");
  const windowS = n("window-s");
  const config: OtrSimConfig = {
    ...base,
    requests: n("requests") ?? base.requests,
    arrivals: rate === undefined ? base.arrivals : { ...base.arrivals, ratePerSecond: rate },
    workers: n("workers") ?? base.workers,
    slotsPerWorker: n("slots") ?? base.slotsPerWorker,
    service: { ...base.service, medianMs: n("service-ms") ?? base.service.medianMs },
    teeOverhead: n("tee-overhead") ?? base.teeOverhead,
    fishermen: { ...base.fishermen, coverage: n("coverage") ?? base.fishermen.coverage },
    chain: { blockMs: n("block-ms") ?? base.chain.blockMs },
    prover: { ...base.prover, onCriticalPath: ctx.flag("proofs-on-path") || base.prover.onCriticalPath },
    baseline: ctx.flag("baseline") || base.baseline,
    cost: {
      ...base.cost,
      gasPriceGwei: n("gas-price") ?? base.cost.gasPriceGwei,
      dataAvailability: (ctx.string("da") as "calldata" | "blob" | undefined) ?? base.cost.dataAvailability,
    },
    otr: {
      ...base.otr,
      rollup: {
        ...base.otr.rollup,
        maxBatchReceipts: n("batch-receipts") ?? base.otr.rollup.maxBatchReceipts,
        maxBatchAgeMs: n("batch-age-ms") ?? base.otr.rollup.maxBatchAgeMs,
        challengeWindowMs: windowS === undefined ? base.otr.rollup.challengeWindowMs : windowS * 1000,
      },
      spotcheck: {
        ...base.otr.spotcheck,
        rhoPpm: rho === undefined ? base.otr.spotcheck.rhoPpm : Math.round(rho * 1e6),
      },
    },
  };
  const verdict = validateOtrSim(config);
  if (!verdict.ok) throw VerinferError.fromVerdict(verdict.error);
  return config;
}
