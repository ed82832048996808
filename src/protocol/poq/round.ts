/**
 * One Proof-of-Quality round (cost-aware and robust PoQ papers, PAPERS.md §2–3), the pure step that
 * evaluator nodes, the simulator and the contracts' tests all run: the k revealed scores of the sampled
 * evaluators in; the consensus, the quality the inference node is paid for, every reward, and the trust
 * update out. The trust state is the round's input and output (updated in place: rounds are a tight
 * loop in simulations). Rewards are floats here; `settleRound` turns them into the bigint fixed-point
 * amounts that settle, as the contracts compute them.
 */
import type { PoqRoundParams } from "../params/poq.ts";
import {
  mean,
  median,
  stakeQuantile,
  trimmedMean,
  weightedMean,
  weightedMedian,
} from "./consensus/aggregators.ts";
import {
  type DiscriminationMoments,
  DiscriminationStats,
  hardenedTrustUpdate,
  leaveOneOutMedians,
  paperTrustUpdate,
} from "./consensus/trust.ts";
import { evaluatorReward, inferenceReward, toFixedPoint } from "./rewards.ts";

/** Trust of every evaluator node, carried from round to round. */
export interface PoqTrustState {
  /** Per node: the paper's or the hardened rule's weight (1 for aggregators without trust). */
  readonly weights: Float64Array;
  /** Per node: the hardened rule's discrimination statistics. */
  readonly discrimination: DiscriminationStats;
}

/** The trust state of a fresh network of `nodes` evaluator nodes. */
export function initialTrust(nodes: number, params: PoqRoundParams): PoqTrustState {
  const w =
    params.aggregator === "trust"
      ? params.paperTrust.initialWeight
      : params.aggregator === "hardened-trust"
        ? params.hardenedTrust.prior
        : 1;
  return {
    weights: new Float64Array(nodes).fill(w),
    discrimination: new DiscriminationStats(nodes, params.hardenedTrust.discriminationMemory),
  };
}

/** A trust state as JSON, exact (doubles round-trip through JSON): a settler's checkpoint. */
export interface PoqTrustJson {
  readonly weights: readonly number[];
  readonly discrimination: DiscriminationMoments;
}

export function trustToJson(state: PoqTrustState): PoqTrustJson {
  return { weights: [...state.weights], discrimination: state.discrimination.moments() };
}

/**
 * The trust state `json` holds, for `nodes` evaluator nodes: nodes it does not cover (evaluators
 * registered since) start as in {@link initialTrust}. That equals replaying every round from
 * `initialTrust(nodes)`, since a round moves only its own evaluators' entries (property-tested), so a
 * settler that checkpoints its trust after each epoch never replays the epochs before.
 */
export function trustFromJson(json: PoqTrustJson, nodes: number, params: PoqRoundParams): PoqTrustState {
  if (json.weights.length > nodes)
    throw new RangeError(`a trust state of ${json.weights.length} nodes cannot shrink to ${nodes}`);
  const state = initialTrust(nodes, params);
  state.weights.set(json.weights);
  return {
    weights: state.weights,
    discrimination: new DiscriminationStats(
      nodes,
      params.hardenedTrust.discriminationMemory,
      json.discrimination,
    ),
  };
}

/** The inputs of a round. Arrays are read up to `k`. */
export interface PoqRoundInput {
  /** The sampled evaluator nodes. */
  readonly evaluators: ArrayLike<number>;
  /** Their revealed scores (0–10), in the same order. */
  readonly scores: ArrayLike<number>;
  /** The reference quality when the round is audited (hardened trust), else null. */
  readonly audit: number | null;
  /** The inference node's cost, normalized to [0, 1]. */
  readonly inferenceCostNorm: number;
  /** Each evaluator's cost, normalized to [0, 1] (0 for one that skipped the evaluation). */
  readonly evaluatorCostNorms: ArrayLike<number>;
}

/** Buffers a round works in (allocate once per k with {@link roundScratch}). */
export interface PoqRoundScratch {
  readonly k: number;
  readonly weights: Float64Array;
  readonly scores: Float64Array;
  readonly weightsSorted: Float64Array;
  readonly references: Float64Array;
  readonly plainReferences: Float64Array;
  readonly unitWeights: Float64Array;
  readonly deviations: Float64Array;
  readonly order: Uint32Array;
  /** Output: each evaluator's reward, in input order. */
  readonly evaluatorRewards: Float64Array;
}

/** Scratch buffers for rounds of `k` evaluators. */
export function roundScratch(k: number): PoqRoundScratch {
  return {
    k,
    weights: new Float64Array(k),
    scores: new Float64Array(k),
    weightsSorted: new Float64Array(k),
    references: new Float64Array(k),
    plainReferences: new Float64Array(k),
    unitWeights: new Float64Array(k).fill(1),
    deviations: new Float64Array(k),
    order: new Uint32Array(k),
    evaluatorRewards: new Float64Array(k),
  };
}

/** What a round decides. `evaluatorRewards` is the scratch's buffer (valid until the next round). */
export interface PoqRoundOutcome {
  readonly consensus: number;
  /** What the inference node is paid for: the consensus, or Yuma's stake-weighted clipped scores. */
  readonly paidQuality: number;
  readonly inferenceReward: number;
  readonly evaluatorRewards: Float64Array;
}

/** The weight an evaluator node carries in this round's consensus. */
export function consensusWeight(state: PoqTrustState, node: number, params: PoqRoundParams): number {
  const w = state.weights[node] as number;
  return params.aggregator === "hardened-trust" ? w * state.discrimination.factor(node) : w;
}

/** Runs one round: consensus, trust update (in `state`), paid quality and rewards. */
export function poqRound(
  state: PoqTrustState,
  input: PoqRoundInput,
  params: PoqRoundParams,
  scratch: PoqRoundScratch,
): PoqRoundOutcome {
  const { k } = scratch;
  const { evaluators, scores } = input;
  const w = scratch.weights;
  for (let i = 0; i < k; i++) w[i] = consensusWeight(state, evaluators[i] as number, params);
  let consensus: number;
  switch (params.aggregator) {
    case "mean":
      consensus = mean(scores, k);
      break;
    case "median":
      consensus = median(scores, k, scratch.scores);
      break;
    case "trimmed-mean":
      consensus = trimmedMean(scores, params.trim, k, scratch.scores);
      break;
    case "trust":
      consensus = weightedMean(scores, w, k);
      paperTrustUpdate(state.weights, evaluators, scores, k, consensus, params.paperTrust);
      break;
    case "hardened-trust": {
      consensus = weightedMedian(scores, w, k, scratch.order);
      const audited = input.audit !== null;
      const refs = scratch.references;
      if (audited) refs.fill(input.audit as number, 0, k);
      else leaveOneOutMedians(scores, w, k, refs, scratch.scores, scratch.weightsSorted, scratch.order);
      hardenedTrustUpdate(
        state.weights,
        evaluators,
        scores,
        refs,
        k,
        audited,
        params.hardenedTrust,
        scratch.deviations,
      );
      // Discrimination is measured against the *unweighted* leave-one-out median, so that nodes which
      // have already gained trust cannot make each other look discriminating.
      const plain = scratch.plainReferences;
      if (audited) plain.set(refs.subarray(0, k));
      else
        leaveOneOutMedians(
          scores,
          scratch.unitWeights,
          k,
          plain,
          scratch.scores,
          scratch.weightsSorted,
          scratch.order,
        );
      state.discrimination.observe(evaluators, scores, plain, k);
      break;
    }
    case "yuma":
      consensus = stakeQuantile(scores, w, k, params.yumaKappa, scratch.order);
      break;
  }
  let paidQuality = consensus;
  if (params.aggregator === "yuma") {
    // Yuma pays miners by stake-weighted *clipped* scores: nobody can score above consensus.
    let num = 0;
    let den = 0;
    for (let i = 0; i < k; i++) {
      num += (w[i] as number) * Math.min(scores[i] as number, consensus);
      den += w[i] as number;
    }
    paidQuality = den > 0 ? num / den : consensus;
  }
  for (let i = 0; i < k; i++)
    scratch.evaluatorRewards[i] = evaluatorReward(
      scores[i] as number,
      consensus,
      input.evaluatorCostNorms[i] as number,
      params.rewards.evaluator,
    );
  return {
    consensus,
    paidQuality,
    inferenceReward: inferenceReward(paidQuality, input.inferenceCostNorm, params.rewards.inference),
    evaluatorRewards: scratch.evaluatorRewards,
  };
}

/** A round's rewards as the bigint fixed-point amounts that settle (each floored, see rewards.ts). */
export function settleRound(
  outcome: PoqRoundOutcome,
  k: number,
  decimals: number,
): { readonly inference: bigint; readonly evaluators: readonly bigint[] } {
  return {
    inference: toFixedPoint(outcome.inferenceReward, decimals),
    evaluators: Array.from({ length: k }, (_, i) =>
      toFixedPoint(outcome.evaluatorRewards[i] as number, decimals),
    ),
  };
}
