/**
 * Monte Carlo Proof-of-Quality rounds (cost-aware and robust PoQ papers, PAPERS.md §2–4). Each round:
 * a prompt and an inference node are drawn; k of the M evaluator nodes are sampled; honest nodes report
 * their real evaluator's score (or the multi-dimensional composite), malicious ones transform it; then
 * the protocol's round (`protocol/poq/round.ts`) forms the consensus, updates trust and computes the
 * rewards R = α·quality − β·cost. This file only drives it: sampling, behaviours, bookkeeping. The consensus is compared with the item's ground-truth proxy, which the
 * protocol never sees (except on audited rounds of the hardened rule). Pure and seeded: the same pool,
 * configuration and seed give the same result on any machine.
 */
import { compositeScore, smoothPrior } from "../protocol/poq/composite.ts";
import { median } from "../protocol/poq/consensus/aggregators.ts";
import { reportedScore } from "../protocol/poq/consensus/behaviours.ts";
import { RewardLedger } from "../protocol/poq/rewards.ts";
import { consensusWeight, initialTrust, poqRound, roundScratch } from "../protocol/poq/round.ts";
import { deriveSeed, type Seed } from "../protocol/rng/deriveSeed.ts";
import { createRng } from "../protocol/rng/prng.ts";
import { POOL_DIMENSIONS, type PoqPool } from "./poqPool.ts";
import type { PoqSimConfig } from "./simConfig.ts";

/** Reward statistics of one node. */
export interface RewardStats {
  readonly rounds: number;
  readonly meanReward: number;
  readonly stdReward: number;
}

/** Per inference node. */
export interface InferenceNodeStats extends RewardStats {
  readonly name: string;
  readonly meanConsensus: number;
  readonly meanTruth: number;
  readonly meanCostMs: number;
}

/** Per evaluator node. */
export interface EvaluatorNodeStats extends RewardStats {
  readonly node: number;
  readonly type: string;
  readonly malicious: boolean;
  readonly finalWeight: number;
}

/** Outcome of a run. */
export interface PoqSimResult {
  readonly rounds: number;
  /** Pearson and mean absolute error of the consensus against the ground-truth proxy. */
  readonly consensus: { readonly pearson: number | null; readonly mae: number };
  /** Mean of α·(paid quality − true quality)/10 per round: positive when inference nodes are overpaid. */
  readonly rewardInflation: number;
  readonly inference: readonly InferenceNodeStats[];
  readonly evaluators: readonly EvaluatorNodeStats[];
  readonly honestEvaluatorReward: { readonly mean: number; readonly variance: number };
  readonly maliciousEvaluatorReward: { readonly mean: number; readonly variance: number } | null;
  /** Mean over inference nodes of each node's per-round reward standard deviation. */
  readonly inferenceRewardStd: number;
  /** Mean weight (trust) of honest and malicious evaluators at the end (1 for untrusted aggregators). */
  readonly finalWeights: { readonly honest: number; readonly malicious: number | null };
  /**
   * What settled: each node's sum of per-round rewards, each floored to `decimals` in bigint fixed point
   * (decimal strings, exact; negative = owed). Null when settlement is off.
   */
  readonly settled: {
    readonly decimals: number;
    readonly inference: Readonly<Record<string, string>>;
    readonly evaluators: readonly string[];
    readonly total: string;
  } | null;
}

function pearsonFromSums(
  n: number,
  sx: number,
  sy: number,
  sxx: number,
  syy: number,
  sxy: number,
): number | null {
  const cov = sxy - (sx * sy) / n;
  const vx = sxx - (sx * sx) / n;
  const vy = syy - (sy * sy) / n;
  return vx > 0 && vy > 0 ? Math.max(-1, Math.min(1, cov / Math.sqrt(vx * vy))) : null;
}

/**
 * Runs the simulation. `maliciousSeed` chooses which nodes are malicious (default: derived from `seed`);
 * sweeps pass one that ignores k, so results for different k share their attackers.
 */
export function simulatePoq(
  pool: PoqPool,
  config: PoqSimConfig,
  seed: Seed,
  maliciousSeed: Seed = deriveSeed(seed, "malicious"),
): PoqSimResult {
  // Separate streams: every aggregator sees the same prompts, nodes and evaluator samples for a seed
  // (common random numbers), whatever its behaviours and audits consume.
  const rng = createRng(deriveSeed(seed, "rounds"));
  const behaviourRng = createRng(deriveSeed(seed, "behaviours"));
  const auditRng = createRng(deriveSeed(seed, "audits"));
  const S = pool.systems.length;
  const E = pool.evaluators.length;
  const D = POOL_DIMENSIONS.length;
  const M = config.evaluatorNodes;
  const k = config.k;

  const malicious = new Uint8Array(M);
  for (const m of createRng(maliciousSeed).sampleIndices(M, Math.round(config.maliciousRatio * M)))
    malicious[m] = 1;
  const typeOf = Int32Array.from({ length: M }, (_, m) => m % E);
  const evaluatesItself = config.attack !== "copycat" && config.attack !== "lazy";

  let maxInferenceCost = 0;
  for (const c of pool.inferenceCostMs) maxInferenceCost = Math.max(maxInferenceCost, c);
  let maxEvaluatorCost = 0;
  for (const c of pool.evaluatorCostMs) maxEvaluatorCost = Math.max(maxEvaluatorCost, c);
  const evaluatorCostNorm = Float64Array.from(pool.evaluatorCostMs, (c) =>
    maxEvaluatorCost > 0 ? c / maxEvaluatorCost : 0,
  );

  const aggregator = config.aggregator;
  const trust = initialTrust(M, config);
  const prior = new Float64Array(S).fill(5);

  // Scratch buffers reused every round.
  const perm = Uint32Array.from({ length: M }, (_, i) => i);
  const chosen = new Int32Array(k);
  const honest = new Float64Array(k);
  const reported = new Float64Array(k);
  const scratch = new Float64Array(k);
  const costNorms = new Float64Array(k);
  const dims = new Float64Array(5);
  const buffers = roundScratch(k);
  const view = { lastConsensus: Number.NaN, revealedMedian: Number.NaN, coalitionMean: 0 };

  // Accumulators.
  let sc = 0;
  let sg = 0;
  let scc = 0;
  let sgg = 0;
  let scg = 0;
  let absErr = 0;
  let inflation = 0;
  const infCount = new Float64Array(S);
  const infSum = new Float64Array(S);
  const infSq = new Float64Array(S);
  const infConsensus = new Float64Array(S);
  const infTruth = new Float64Array(S);
  const infCost = new Float64Array(S);
  const evCount = new Float64Array(M);
  const evSum = new Float64Array(M);
  const evSq = new Float64Array(M);
  const decimals = config.settlementDecimals;
  const inferenceLedger = decimals === null ? null : new RewardLedger(decimals);
  const evaluatorLedger = decimals === null ? null : new RewardLedger(decimals);

  for (let round = 0; round < config.rounds; round++) {
    let item = -1;
    let system = 0;
    for (let attempt = 0; item < 0 && attempt < 1000; attempt++) {
      const prompt = rng.int(pool.prompts);
      system = rng.int(S);
      item = pool.itemOf[prompt * S + system] as number;
    }
    if (item < 0) throw new RangeError("the pool has (almost) no outputs");

    // k distinct evaluator nodes: an in-place partial Fisher–Yates over a persistent permutation.
    for (let i = 0; i < k; i++) {
      const j = i + rng.int(M - i);
      const t = perm[i] as number;
      perm[i] = perm[j] as number;
      perm[j] = t;
      chosen[i] = perm[i] as number;
    }

    // Honest scores: the node's evaluator, or the composite over the quality dimensions.
    let coalitionSum = 0;
    let coalitionCount = 0;
    for (let i = 0; i < k; i++) {
      const m = chosen[i] as number;
      let h = pool.scores[item * E + (typeOf[m] as number)] as number;
      if (config.quality === "composite") {
        // DIMENSIONS order: prior, structure, semantic (this node's own score), alignment, agreement.
        const base = item * D;
        dims[0] = prior[system] as number;
        dims[1] = pool.dimensions[base] as number;
        dims[2] = h;
        dims[3] = pool.dimensions[base + 1] as number;
        dims[4] = pool.dimensions[base + 2] as number;
        h = compositeScore(dims, config.compositeWeights);
      }
      honest[i] = h;
      if (malicious[m]) {
        coalitionSum += h;
        coalitionCount++;
      }
    }
    view.coalitionMean = coalitionCount > 0 ? coalitionSum / coalitionCount : 0;
    if (config.commitReveal) view.revealedMedian = Number.NaN;
    else {
      // Without commit–reveal a copycat reads this round's honest reports before sending its own.
      let h = 0;
      for (let i = 0; i < k; i++) if (!malicious[chosen[i] as number]) scratch[h++] = honest[i] as number;
      view.revealedMedian = h > 0 ? median(scratch, h, buffers.scores) : Number.NaN;
    }
    for (let i = 0; i < k; i++) {
      const m = chosen[i] as number;
      reported[i] = malicious[m]
        ? reportedScore(config.attack, honest[i] as number, view, config.attackParams, behaviourRng)
        : (honest[i] as number);
      // Copycats and lazy nodes skip the evaluation, and so its cost: that is why free-riding pays.
      costNorms[i] =
        malicious[m] && !evaluatesItself ? 0 : (evaluatorCostNorm[typeOf[m] as number] as number);
    }

    // The protocol's round: consensus, trust, the quality the inference node is paid for, rewards.
    const cost = pool.inferenceCostMs[item] as number;
    const audited =
      aggregator === "hardened-trust" && auditRng.bernoulli(config.hardenedTrust.auditProbability);
    const outcome = poqRound(
      trust,
      {
        evaluators: chosen,
        scores: reported,
        audit: audited ? (pool.truth[item] as number) : null,
        inferenceCostNorm: maxInferenceCost > 0 ? cost / maxInferenceCost : 0,
        evaluatorCostNorms: costNorms,
      },
      config,
      buffers,
    );
    const { consensus, paidQuality } = outcome;

    const truth = pool.truth[item] as number;
    sc += consensus;
    sg += truth;
    scc += consensus * consensus;
    sgg += truth * truth;
    scg += consensus * truth;
    absErr += Math.abs(consensus - truth);
    inflation += (config.rewards.inference.alpha * (paidQuality - truth)) / 10;

    const rInf = outcome.inferenceReward;
    infCount[system] = (infCount[system] as number) + 1;
    infSum[system] = (infSum[system] as number) + rInf;
    inferenceLedger?.credit(pool.systems[system] as string, rInf);
    infSq[system] = (infSq[system] as number) + rInf * rInf;
    infConsensus[system] = (infConsensus[system] as number) + consensus;
    infTruth[system] = (infTruth[system] as number) + truth;
    infCost[system] = (infCost[system] as number) + cost;

    for (let i = 0; i < k; i++) {
      const m = chosen[i] as number;
      const r = outcome.evaluatorRewards[i] as number;
      evCount[m] = (evCount[m] as number) + 1;
      evSum[m] = (evSum[m] as number) + r;
      evaluatorLedger?.credit(String(m), r);
      evSq[m] = (evSq[m] as number) + r * r;
    }
    view.lastConsensus = consensus;
    prior[system] = smoothPrior(prior[system] as number, consensus, config.priorSmoothing);
  }

  const stats = (count: number, sum: number, sq: number): RewardStats => {
    const m = count > 0 ? sum / count : 0;
    return {
      rounds: count,
      meanReward: m,
      stdReward: count > 1 ? Math.sqrt(Math.max(0, sq / count - m * m)) : 0,
    };
  };
  const inference = pool.systems.map((name, s) => {
    const n = infCount[s] as number;
    return {
      name,
      ...stats(n, infSum[s] as number, infSq[s] as number),
      meanConsensus: n > 0 ? (infConsensus[s] as number) / n : 0,
      meanTruth: n > 0 ? (infTruth[s] as number) / n : 0,
      meanCostMs: n > 0 ? (infCost[s] as number) / n : 0,
    };
  });
  const evaluators = Array.from({ length: M }, (_, m) => ({
    node: m,
    type: pool.evaluators[typeOf[m] as number] as string,
    malicious: malicious[m] === 1,
    // The weight the node carries in the consensus (for hardened trust: trust × discrimination).
    finalWeight: consensusWeight(trust, m, config),
    ...stats(evCount[m] as number, evSum[m] as number, evSq[m] as number),
  }));
  const group = (bad: boolean) => {
    const rewards = evaluators.filter((e) => e.malicious === bad && e.rounds > 0).map((e) => e.meanReward);
    if (rewards.length === 0) return null;
    const mu = rewards.reduce((a, b) => a + b, 0) / rewards.length;
    return { mean: mu, variance: rewards.reduce((a, b) => a + (b - mu) ** 2, 0) / rewards.length };
  };
  const meanWeight = (bad: boolean) => {
    const ws = evaluators.filter((e) => e.malicious === bad).map((e) => e.finalWeight);
    return ws.length === 0 ? null : ws.reduce((a, b) => a + b, 0) / ws.length;
  };
  const n = config.rounds;
  return {
    rounds: n,
    consensus: { pearson: pearsonFromSums(n, sc, sg, scc, sgg, scg), mae: absErr / n },
    rewardInflation: inflation / n,
    inference,
    evaluators,
    honestEvaluatorReward: group(false) ?? { mean: 0, variance: 0 },
    maliciousEvaluatorReward: group(true),
    inferenceRewardStd: inference.reduce((a, s) => a + s.stdReward, 0) / Math.max(1, inference.length),
    finalWeights: { honest: meanWeight(false) ?? 0, malicious: meanWeight(true) },
    settled:
      decimals === null || !inferenceLedger || !evaluatorLedger
        ? null
        : {
            decimals,
            inference: Object.fromEntries(
              pool.systems.map((name) => [name, String(inferenceLedger.balancesByNode().get(name) ?? 0n)]),
            ),
            evaluators: Array.from({ length: M }, (_, m) =>
              String(evaluatorLedger.balancesByNode().get(String(m)) ?? 0n),
            ),
            total: String(inferenceLedger.total() + evaluatorLedger.total()),
          },
  };
}
