import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_POQ_ROUND_PARAMS, type PoqRoundParams } from "../params/poq.ts";
import { AGGREGATORS } from "./consensus/aggregators.ts";
import { toFixedPoint } from "./rewards.ts";
import {
  consensusWeight,
  initialTrust,
  type PoqTrustState,
  poqRound,
  roundScratch,
  settleRound,
  trustFromJson,
  trustToJson,
} from "./round.ts";

const NODES = 12;

describe("the PoQ round (pure step)", () => {
  it("keeps the consensus within the scores, pays by the cost-aware formula, and settles by flooring", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...AGGREGATORS),
        fc.uniqueArray(fc.integer({ min: 0, max: NODES - 1 }), { minLength: 1, maxLength: 7 }),
        fc.array(fc.double({ min: 0, max: 10, noNaN: true }), { minLength: 7, maxLength: 7 }),
        fc.option(fc.double({ min: 0, max: 10, noNaN: true }), { nil: null }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (aggregator, evaluators, scores, audit, costNorm) => {
          const params: PoqRoundParams = { ...DEFAULT_POQ_ROUND_PARAMS, aggregator, k: evaluators.length };
          const k = evaluators.length;
          const state = initialTrust(NODES, params);
          const before = Float64Array.from(state.weights);
          const input = {
            evaluators,
            scores,
            audit: aggregator === "hardened-trust" ? audit : null,
            inferenceCostNorm: costNorm,
            evaluatorCostNorms: new Float64Array(k).fill(costNorm),
          };
          const out = poqRound(state, input, params, roundScratch(k));
          const used = scores.slice(0, k);
          expect(out.consensus).toBeGreaterThanOrEqual(Math.min(...used) - 1e-9);
          expect(out.consensus).toBeLessThanOrEqual(Math.max(...used) + 1e-9);
          expect(out.paidQuality).toBeLessThanOrEqual(out.consensus + 1e-9);
          const { inference, evaluator } = params.rewards;
          expect(out.inferenceReward).toBeCloseTo(
            (inference.alpha * out.paidQuality) / 10 - inference.beta * costNorm,
            12,
          );
          for (let i = 0; i < k; i++)
            expect(out.evaluatorRewards[i]).toBeCloseTo(
              evaluator.alpha * (1 - Math.abs((used[i] as number) - out.consensus) / 10) -
                evaluator.beta * costNorm,
              12,
            );
          // Only trust rules move weights, and only the sampled nodes'.
          for (let n = 0; n < NODES; n++)
            if (!(aggregator === "trust" || aggregator === "hardened-trust") || !evaluators.includes(n))
              expect(state.weights[n]).toBe(before[n]);
          // Settled amounts are the floors of the float rewards at 18 decimals (toFixedPoint's exact floor).
          const settled = settleRound(out, k, 18);
          expect(settled.inference).toBe(toFixedPoint(out.inferenceReward, 18));
          expect(settled.evaluators).toEqual([...out.evaluatorRewards].map((r) => toFixedPoint(r, 18)));
          expect(Number(settled.inference) / 1e18).toBeCloseTo(out.inferenceReward, 9);
        },
      ),
      { numRuns: 300, seed: 21 },
    );
  });

  it("a checkpoint through JSON, grown by new nodes, continues exactly as replaying every round with all nodes from the start", () => {
    const round = fc.record({
      picks: fc.uniqueArray(fc.nat(99), { minLength: 1, maxLength: 5 }),
      scores: fc.array(fc.double({ min: 0, max: 10, noNaN: true }), { minLength: 5, maxLength: 5 }),
      audit: fc.option(fc.double({ min: 0, max: 10, noNaN: true }), { nil: null }),
    });
    fc.assert(
      fc.property(
        fc.constantFrom(...AGGREGATORS),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 6 }),
        fc.array(round, { maxLength: 40 }),
        fc.array(round, { maxLength: 40 }),
        (aggregator, before, added, early, late) => {
          const params: PoqRoundParams = { ...DEFAULT_POQ_ROUND_PARAMS, aggregator };
          const nodes = before + added;
          /** Runs rounds over the first `n` nodes (picks taken modulo n, deduplicated); the consensus of each. */
          const play = (state: PoqTrustState, rounds: typeof early, n: number) =>
            rounds.map((r) => {
              const evaluators = [...new Set(r.picks.map((x) => x % n))];
              const k = evaluators.length;
              return poqRound(
                state,
                {
                  evaluators,
                  scores: r.scores,
                  audit: aggregator === "hardened-trust" ? r.audit : null,
                  inferenceCostNorm: 0.5,
                  evaluatorCostNorms: new Float64Array(k).fill(0.25),
                },
                { ...params, k },
                roundScratch(k),
              ).consensus;
            });
          const replayed = initialTrust(nodes, params);
          const replayedConsensus = [...play(replayed, early, before), ...play(replayed, late, nodes)];
          const checkpointed = initialTrust(before, params);
          const earlyConsensus = play(checkpointed, early, before);
          const json = JSON.parse(JSON.stringify(trustToJson(checkpointed)));
          const grown = trustFromJson(json, nodes, params);
          expect([...earlyConsensus, ...play(grown, late, nodes)]).toEqual(replayedConsensus);
          expect(trustToJson(grown)).toEqual(trustToJson(replayed));
          for (let n = 0; n < nodes; n++)
            expect(consensusWeight(grown, n, params)).toBe(consensusWeight(replayed, n, params));
        },
      ),
      { numRuns: 300, seed: 23 },
    );
    expect(() =>
      trustFromJson(trustToJson(initialTrust(3, DEFAULT_POQ_ROUND_PARAMS)), 2, DEFAULT_POQ_ROUND_PARAMS),
    ).toThrow(/cannot shrink/);
  });

  it("is deterministic: the same state and input give the same outcome and the same new state", () => {
    const params = { ...DEFAULT_POQ_ROUND_PARAMS, aggregator: "hardened-trust" as const, k: 3 };
    const run = () => {
      const state = initialTrust(5, params);
      const outs = [0, 1, 2].map((r) =>
        poqRound(
          state,
          {
            evaluators: [r, r + 1, r + 2],
            scores: [3 + r, 6, 9 - r],
            audit: r === 1 ? 5 : null,
            inferenceCostNorm: 0.5,
            evaluatorCostNorms: [0.1, 0.2, 0.3],
          },
          params,
          roundScratch(3),
        ),
      );
      return {
        outs: outs.map((o) => ({ ...o, evaluatorRewards: [...o.evaluatorRewards] })),
        weights: [...state.weights],
      };
    };
    expect(run()).toEqual(run());
  });
});
