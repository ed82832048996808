/** PoQ simulator speed on the real QA pool: 5,000-round runs per aggregator, the full sweep, and one exact 512-node Yuma epoch. */
import { performance } from "node:perf_hooks";
import { loadAuditTask } from "../src/evaluators/audit/tasks.ts";
import { buildPool } from "../src/experiments/poq/buildPool.ts";
import { DEFAULT_COST_PROFILES } from "../src/experiments/poq/costProfiles.ts";
import { defaultThreads, runInWorkers } from "../src/parallel/workerPool.ts";
import { preset } from "../src/protocol/params/params.ts";
import { AGGREGATORS } from "../src/protocol/poq/consensus/aggregators.ts";
import { yumaEpoch } from "../src/protocol/poq/yuma/epoch.ts";
import { seedFrom } from "../src/protocol/rng/deriveSeed.ts";
import { DEFAULT_SIM_CONFIG } from "../src/sim/simConfig.ts";
import { simulatePoq } from "../src/sim/simulatePoq.ts";
import { DEFAULT_SWEEP_GRID, type SweepRow, sweepPoints } from "../src/sim/sweep.ts";

/** Results. */
export interface PoqBench {
  readonly simulationMs: Readonly<Record<string, number>>;
  readonly sweep: {
    readonly points: number;
    readonly rounds: number;
    readonly threads: number;
    readonly seconds: number;
    readonly roundsPerSecondPerCore: number;
  };
  readonly yuma512EpochMs: number;
}

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

/** Runs the suite. */
export async function benchPoq(dataDir: string, log: (line: string) => void): Promise<PoqBench> {
  const task = loadAuditTask("qa", dataDir);
  const { pool } = await buildPool({
    task,
    evaluators: ["token-f1", "rouge-l", "chrf", "tfidf", "bm25", "sts"],
    dimensionScorer: "tfidf",
    truth: "f1",
    costs: DEFAULT_COST_PROFILES.qa as NonNullable<(typeof DEFAULT_COST_PROFILES)["qa"]>,
    params: preset("paper"),
    dataDir,
  });
  const simulationMs: Record<string, number> = {};
  for (const aggregator of AGGREGATORS) {
    const config = { ...DEFAULT_SIM_CONFIG, aggregator, attack: "boost" as const, maliciousRatio: 0.3 };
    simulatePoq(pool, config, seedFrom(0));
    const times = [1, 2, 3, 4, 5].map((s) => {
      const t = performance.now();
      simulatePoq(pool, config, seedFrom(s));
      return performance.now() - t;
    });
    simulationMs[aggregator] = medianOf(times);
    log(`  5,000 rounds, ${aggregator.padEnd(15)} ${(simulationMs[aggregator] as number).toFixed(1)} ms`);
  }
  const points = sweepPoints(DEFAULT_SWEEP_GRID);
  const threads = defaultThreads();
  const t = performance.now();
  await runInWorkers<(typeof points)[number], SweepRow>({
    module: new URL("../src/experiments/poq/sweepTask.ts", import.meta.url),
    workerData: { pool, base: DEFAULT_SIM_CONFIG, seed: seedFrom(1) },
    items: points,
    batchSize: 10,
    threads,
  });
  const seconds = (performance.now() - t) / 1000;
  const rounds = points.length * DEFAULT_SIM_CONFIG.rounds;
  log(`  sweep: ${points.length} points x 5,000 rounds in ${seconds.toFixed(1)} s on ${threads} threads`);
  const n = 512;
  const state = {
    currentBlock: 1,
    stakeRaw: Array.from({ length: n }, (_, i) => (i < 64 ? 328125000000000n : 0n)),
    blockAtRegistration: new Array<number>(n).fill(0),
    weights: Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => (i < 64 && j >= 64 ? 65535 : 0)),
    ),
    lastUpdate: new Array<number>(n).fill(1),
    validatorPermits: Array.from({ length: n }, (_, i) => i < 64),
    bonds: Array.from({ length: n }, () => new Array<number>(n).fill(0)),
  };
  const params = {
    n,
    kappaU16: 32767,
    bondsPenaltyU16: 65535,
    bondsMovingAverage: 900000,
    activityCutoff: 5000,
    tempo: 65534,
    maxAllowedValidators: 64,
    yuma3: false,
    liquidAlpha: { enabled: false },
    raoEmission: 1_000_000_000n,
  };
  const y0 = performance.now();
  yumaEpoch(params, state);
  const yuma512EpochMs = performance.now() - y0;
  log(`  exact Yuma epoch, 512 nodes: ${yuma512EpochMs.toFixed(0)} ms`);
  return {
    simulationMs,
    sweep: {
      points: points.length,
      rounds,
      threads,
      seconds,
      roundsPerSecondPerCore: rounds / seconds / threads,
    },
    yuma512EpochMs,
  };
}
