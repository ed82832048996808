/**
 * Named OTR scenarios (`verinfer otr simulate --scenario NAME`): the default network, the paper's
 * H100 assumptions, and one per adversary of docs/reproductions/otr.md. Each is the default
 * configuration with a few fields changed, listed in its description.
 */
import { DEFAULT_OTR_SIM, type OtrSimConfig } from "./otrSim.ts";
import { meanLogNormal } from "./traffic.ts";

/** A named scenario. */
export interface Scenario {
  readonly description: string;
  readonly config: OtrSimConfig;
}

const d = DEFAULT_OTR_SIM;

/** Requests per second the workers can serve (slots over mean service time, TEE included). */
export function workerCapacity(c: OtrSimConfig): number {
  const meanServiceMs = meanLogNormal(c.service) * (1 + (c.baseline ? 0 : c.teeOverhead));
  return (c.workers * c.slotsPerWorker) / (meanServiceMs / 1000);
}

/** One generation at a time per worker, with a measured service time, at 60% of capacity. */
function measuredEngine(medianMs: number, teeOverhead: number): OtrSimConfig {
  const config = { ...d, slotsPerWorker: 1, service: { medianMs, sigma: 0.1 }, teeOverhead };
  return { ...config, arrivals: { kind: "poisson", ratePerSecond: 0.6 * workerCapacity(config) } };
}

/** Every scenario. */
export const SCENARIOS: Readonly<Record<string, Scenario>> = {
  honest: {
    description:
      "1,000 req/s on 200 workers x 8 slots, 1 s median service, TEE +17.5%, rho 1%, fishermen cover 1%",
    config: d,
  },
  "paper-h100": {
    description:
      "the paper's setting as we read it: H100 CC workers, 0.6 s median service, TEE +15-20% (17.5%), rho 1%",
    config: { ...d, service: { medianMs: 600, sigma: 0.25 } },
  },
  "tee-measured": {
    description: "as paper-h100 with the TEE overhead measured elsewhere (4-8%: 6%)",
    config: { ...d, service: { medianMs: 600, sigma: 0.25 }, teeOverhead: 0.06 },
  },
  "measured-llama-cpp": {
    description:
      "workers as our llama.cpp engine measured on this CPU (docs/engines.md, 15M-shape model): 25 ms to first token + 128 tokens at 248/s, one generation per worker, TEE +6%, 60% load",
    config: measuredEngine(25 + (128 / 248) * 1000, 0.06),
  },
  "measured-ts-int": {
    description:
      "workers as our verifiable integer engine measured on this CPU (docs/engines.md, 15M-shape model): 1.16 s to first token + 128 tokens at 5.6/s, one generation per worker, TEE +6%, 60% load",
    config: measuredEngine(1_160 + (128 / 5.6) * 1000, 0.06),
  },
  saturated: {
    description: "arrivals at twice the workers' capacity (throughput is then the capacity)",
    config: { ...d, arrivals: { kind: "poisson", ratePerSecond: 2 * workerCapacity(d) } },
  },
  bursty: {
    description: "the same mean rate in bursts: 10% of the time at 8x the calm rate",
    config: {
      ...d,
      arrivals: {
        kind: "bursty",
        ratePerSecond: 1_000,
        burstRatio: 8,
        burstFraction: 0.1,
        meanBurstSeconds: 5,
      },
    },
  },
  "proofs-on-path": {
    description:
      "clients wait for the spot-check proof of a selected request (after the batch and the seed block)",
    config: { ...d, prover: { ...d.prover, onCriticalPath: true } },
  },
  downgrade: {
    description: "10% of workers serve a smaller model and claim the larger; the TEE is honest",
    config: { ...d, adversary: { kind: "downgrade", workers: 0.1, teeCompromised: false } },
  },
  "downgrade-compromised-tee": {
    description: "the same with a compromised TEE that signs the larger model's hashes",
    config: { ...d, adversary: { kind: "downgrade", workers: 0.1, teeCompromised: true } },
  },
  lazy: {
    description: "5% of workers answer half their requests from a cache",
    config: { ...d, adversary: { kind: "lazy", workers: 0.05, rate: 0.5 } },
  },
  "wrong-outputs": {
    description: "a transient TEE vulnerability: 5% of workers return wrong outputs for 20% of requests",
    config: { ...d, adversary: { kind: "wrongOutputs", workers: 0.05, rate: 0.2 } },
  },
  "key-leak": {
    description: "one worker's enclave key leaks for 30 s: forged receipts for 80% of its requests",
    config: { ...d, adversary: { kind: "keyLeak", fromMs: 5_000, durationMs: 30_000, rate: 0.8 } },
  },
  "absent-fishermen": {
    description: "wrong outputs as above, and nobody watches: only spot-checks remain",
    config: {
      ...d,
      adversary: { kind: "wrongOutputs", workers: 0.05, rate: 0.2 },
      fishermen: { ...d.fishermen, coverage: 0 },
    },
  },
  griefing: {
    description: "challengers dispute 20 honest receipts",
    config: { ...d, adversary: { kind: "griefing", disputes: 20 } },
  },
  collusion: {
    description: "the sequencer admits receipts of an unregistered worker for 0.1% of requests",
    config: { ...d, adversary: { kind: "collusion", rate: 0.001 } },
  },
  censorship: {
    description:
      "the gateway drops 2% of requests; their clients go to a worker after 2 s and force the receipt in",
    config: { ...d, adversary: { kind: "censorship", share: 0.02, clientTimeoutMs: 2_000 } },
  },
};
