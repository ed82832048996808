/**
 * What an evaluator node reports, given the score its real evaluator produced. Honest nodes report it;
 * malicious ones transform it (robust-PoQ paper, PAPERS.md §3; parameters are unknown there and are
 * ours, swept in the experiments): noise injection s' = clip(s + ε), ε ~ N(0, σ²); boosting (Eq. 18)
 * s' = min(10, s + b); sabotage s' = max(0, s − b); intermittent: attack with probability p per round;
 * a colluding coalition reports one common score (its members' mean honest score + b), so its members
 * agree with each other and pull consensus together; a copycat reports without evaluating (the previous
 * round's consensus, or — only when commit–reveal is off — the median of this round's revealed honest
 * scores); a lazy node reports a constant.
 */

import { fail, ok, type Verdict } from "../../errors.ts";
import type { Rng } from "../../rng/prng.ts";

/** Behaviour names, as the CLI accepts them. */
export const BEHAVIOURS = [
  "honest",
  "noise",
  "boost",
  "sabotage",
  "intermittent",
  "collude",
  "copycat",
  "lazy",
] as const;
/** A behaviour name. */
export type BehaviourName = (typeof BEHAVIOURS)[number];

/** Attack parameters (our defaults in params). */
export interface AttackParams {
  /** σ of noise injection, in score points. */
  readonly noiseSigma: number;
  /** b of boosting, sabotage, intermittent and collusion, in score points. */
  readonly amount: number;
  /** p of intermittent attacks. */
  readonly intermittentProbability: number;
  /** The constant a lazy node reports. */
  readonly lazyScore: number;
}

/** What a behaviour may look at besides its own honest score. */
export interface RoundView {
  /** The previous round's consensus (NaN before the first round). */
  readonly lastConsensus: number;
  /** Median of this round's honest scores, visible only when commit–reveal is off (else NaN). */
  readonly revealedMedian: number;
  /** Mean honest score of the colluding coalition's members in this round. */
  readonly coalitionMean: number;
}

function clip(x: number): number {
  return Math.max(0, Math.min(10, x));
}

/** The score a node with `behaviour` reports. */
export function reportedScore(
  behaviour: BehaviourName,
  honest: number,
  view: RoundView,
  p: AttackParams,
  rng: Rng,
): number {
  switch (behaviour) {
    case "honest":
      return honest;
    case "noise":
      return clip(honest + p.noiseSigma * rng.normal());
    case "boost":
      return Math.min(10, honest + p.amount);
    case "sabotage":
      return Math.max(0, honest - p.amount);
    case "intermittent":
      return rng.bernoulli(p.intermittentProbability) ? Math.min(10, honest + p.amount) : honest;
    case "collude":
      return clip(view.coalitionMean + p.amount);
    case "copycat":
      if (!Number.isNaN(view.revealedMedian)) return view.revealedMedian;
      return Number.isNaN(view.lastConsensus) ? p.lazyScore : view.lastConsensus;
    case "lazy":
      return p.lazyScore;
  }
}

/** Checks attack parameters before any work starts, reporting every problem. */
export function validateAttackParams(p: AttackParams): Verdict<AttackParams> {
  const problems: string[] = [];
  if (!(p.noiseSigma >= 0 && Number.isFinite(p.noiseSigma)))
    problems.push(`noise σ must be ≥ 0, got ${p.noiseSigma}`);
  if (!(p.amount >= 0 && p.amount <= 10)) problems.push(`attack amount must be in [0, 10], got ${p.amount}`);
  if (!(p.intermittentProbability >= 0 && p.intermittentProbability <= 1)) {
    problems.push(`intermittent probability must be in [0, 1], got ${p.intermittentProbability}`);
  }
  if (!(p.lazyScore >= 0 && p.lazyScore <= 10))
    problems.push(`lazy score must be in [0, 10], got ${p.lazyScore}`);
  return problems.length ? fail("PARAMS_INVALID", problems.join("; "), { problems }) : ok(p);
}

/** Parses a behaviour name, rejecting unknown attacks with the list of valid ones. */
export function parseBehaviour(name: string): Verdict<BehaviourName> {
  return (BEHAVIOURS as readonly string[]).includes(name)
    ? ok(name as BehaviourName)
    : fail("PARAMS_INVALID", `unknown attack "${name}"; known: ${BEHAVIOURS.join(", ")}`, { attack: name });
}
