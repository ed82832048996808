/**
 * Monte Carlo Proof-of-Quality rounds (cost-aware and robust PoQ papers, PAPERS.md §2–4). Each round:
 * a prompt and an inference node are drawn; k of the M evaluator nodes are sampled; honest nodes report
 * their real evaluator's score (or the multi-dimensional composite), malicious ones transform it; the
 * aggregator forms the consensus (updating trust where it has one); inference and evaluator nodes earn
 * R = α·quality − β·cost. The consensus is compared with the item's ground-truth proxy, which the
 * protocol never sees (except on audited rounds of the hardened rule). Pure and seeded: the same pool,
 * configuration and seed give the same result on any machine.
 */
import {
  mean,
  median,
  trimmedMean,
  weightedMean,
  weightedMedian,
} from "../protocol/poq/consensus/aggregators.ts";
import { reportedScore } from "../protocol/poq/consensus/behaviours.ts";
import {
  DiscriminationStats,
  hardenedTrustUpdate,
  leaveOneOutMedians,
  paperTrustUpdate,
} from "../protocol/poq/consensus/trust.ts";
import { evaluatorReward, inferenceReward, RewardLedger } from "../protocol/poq/rewards.ts";
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

/** Stake-weighted κ-quantile: the smallest score whose cumulative stake exceeds (1 − κ) of the total (Yuma's consensus). */
function stakeQuantile(
  scores: Float64Array,
  stakes: Float64Array,
  count: number,
  kappa: number,
  order: Uint32Array,
): number {
  let total = 0;
  for (let i = 0; i < count; i++) {
    order[i] = i;
    total += stakes[i] as number;
  }
  for (let i = 1; i < count; i++) {
    const o = order[i] as number;
    let j = i - 1;
    while (j >= 0 && (scores[order[j] as number] as number) > (scores[o] as number)) {
      order[j + 1] = order[j] as number;
      j--;
    }
    order[j + 1] = o;
  }
  const minority = (1 - kappa) * total;
  let below = 0;
  for (let i = 0; i < count; i++) {
    below += stakes[order[i] as number] as number;
    if (below > minority) return scores[order[i] as number] as number;
  }
  return scores[order[count - 1] as number] as number;
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
  const weights = new Float64Array(M).fill(
    aggregator === "trust"
      ? config.paperTrust.initialWeight
      : aggregator === "hardened-trust"
        ? config.hardenedTrust.prior
        : 1,
  );
  const discrimination = new DiscriminationStats(M, config.hardenedTrust.discriminationMemory);
  const prior = new Float64Array(S).fill(5);
  const {
    prior: wPrior,
    structure: wStructure,
    semantic: wSemantic,
    alignment: wAlignment,
    agreement: wAgreement,
  } = config.compositeWeights;

  // Scratch buffers reused every round.
  const perm = Uint32Array.from({ length: M }, (_, i) => i);
  const chosen = new Int32Array(k);
  const honest = new Float64Array(k);
  const reported = new Float64Array(k);
  const roundWeights = new Float64Array(k);
  const scratch = new Float64Array(k);
  const scratchWeights = new Float64Array(k);
  const references = new Float64Array(k);
  const plainReferences = new Float64Array(k);
  const unitWeights = new Float64Array(k).fill(1);
  const deviations = new Float64Array(k);
  const order = new Uint32Array(k);
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
        h =
          wPrior * (prior[system] as number) +
          wStructure * (pool.dimensions[base] as number) +
          wSemantic * h +
          wAlignment * (pool.dimensions[base + 1] as number) +
          wAgreement * (pool.dimensions[base + 2] as number);
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
      view.revealedMedian = h > 0 ? median(scratch, h, scratchWeights) : Number.NaN;
    }
    for (let i = 0; i < k; i++) {
      const m = chosen[i] as number;
      reported[i] = malicious[m]
        ? reportedScore(config.attack, honest[i] as number, view, config.attackParams, behaviourRng)
        : (honest[i] as number);
      roundWeights[i] =
        aggregator === "hardened-trust"
          ? (weights[m] as number) * discrimination.factor(m)
          : (weights[m] as number);
    }

    // Consensus, trust, and the quality the inference node is paid for.
    let consensus: number;
    let paidQuality: number;
    switch (aggregator) {
      case "mean":
        consensus = mean(reported, k);
        break;
      case "median":
        consensus = median(reported, k, scratch);
        break;
      case "trimmed-mean":
        consensus = trimmedMean(reported, config.trim, k, scratch);
        break;
      case "trust":
        consensus = weightedMean(reported, roundWeights, k);
        paperTrustUpdate(weights, chosen, reported, k, consensus, config.paperTrust);
        break;
      case "hardened-trust": {
        consensus = weightedMedian(reported, roundWeights, k, order);
        const audited = auditRng.bernoulli(config.hardenedTrust.auditProbability);
        if (audited) references.fill(pool.truth[item] as number, 0, k);
        else leaveOneOutMedians(reported, roundWeights, k, references, scratch, scratchWeights, order);
        hardenedTrustUpdate(
          weights,
          chosen,
          reported,
          references,
          k,
          audited,
          config.hardenedTrust,
          deviations,
        );
        // Discrimination is measured against the *unweighted* leave-one-out median, so that nodes which
        // have already gained trust cannot make each other look discriminating.
        if (audited) plainReferences.set(references.subarray(0, k));
        else leaveOneOutMedians(reported, unitWeights, k, plainReferences, scratch, scratchWeights, order);
        discrimination.observe(chosen, reported, plainReferences, k);
        break;
      }
      case "yuma":
        consensus = stakeQuantile(reported, roundWeights, k, config.yumaKappa, order);
        break;
    }
    if (aggregator === "yuma") {
      // Yuma pays miners by stake-weighted *clipped* scores: nobody can score above consensus.
      let num = 0;
      let den = 0;
      for (let i = 0; i < k; i++) {
        num += (roundWeights[i] as number) * Math.min(reported[i] as number, consensus);
        den += roundWeights[i] as number;
      }
      paidQuality = den > 0 ? num / den : consensus;
    } else paidQuality = consensus;

    const truth = pool.truth[item] as number;
    sc += consensus;
    sg += truth;
    scc += consensus * consensus;
    sgg += truth * truth;
    scg += consensus * truth;
    absErr += Math.abs(consensus - truth);
    inflation += (config.rewards.inference.alpha * (paidQuality - truth)) / 10;

    const cost = pool.inferenceCostMs[item] as number;
    const rInf = inferenceReward(
      paidQuality,
      maxInferenceCost > 0 ? cost / maxInferenceCost : 0,
      config.rewards.inference,
    );
    infCount[system] = (infCount[system] as number) + 1;
    infSum[system] = (infSum[system] as number) + rInf;
    inferenceLedger?.credit(pool.systems[system] as string, rInf);
    infSq[system] = (infSq[system] as number) + rInf * rInf;
    infConsensus[system] = (infConsensus[system] as number) + consensus;
    infTruth[system] = (infTruth[system] as number) + truth;
    infCost[system] = (infCost[system] as number) + cost;

    for (let i = 0; i < k; i++) {
      const m = chosen[i] as number;
      // Copycats and lazy nodes skip the evaluation, and so its cost: that is why free-riding pays.
      const costNorm =
        malicious[m] && !evaluatesItself ? 0 : (evaluatorCostNorm[typeOf[m] as number] as number);
      const r = evaluatorReward(reported[i] as number, consensus, costNorm, config.rewards.evaluator);
      evCount[m] = (evCount[m] as number) + 1;
      evSum[m] = (evSum[m] as number) + r;
      evaluatorLedger?.credit(String(m), r);
      evSq[m] = (evSq[m] as number) + r * r;
    }
    view.lastConsensus = consensus;
    prior[system] =
      (1 - config.priorSmoothing) * (prior[system] as number) + config.priorSmoothing * consensus;
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
    finalWeight: (weights[m] as number) * (aggregator === "hardened-trust" ? discrimination.factor(m) : 1),
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
