/**
 * Evaluator trust. Two rules:
 *
 * 1. `paperTrustUpdate` — the robust-PoQ paper's Eq. 21, exactly:
 *      d = |s_{t,e} − c_t| / 10,   w_e ← clip(w_e · (1 + λ·(0.5 − d)), w_min, w_max),
 *    with c_t the trust-weighted mean computed from the weights before the update. Its known
 *    weaknesses (PAPERS.md): every evaluator within 5 points of consensus grows, so all weights
 *    saturate at w_max and the rule degrades to the mean; and the consensus is self-referential, so a
 *    coalition that pulls c_t toward itself is rewarded.
 *
 * 2. `hardenedTrustUpdate` — ours (docs/poq-trust.md), built to remove both weaknesses:
 *    - leave-one-out reference: evaluator e is judged against the trust-weighted *median* of the
 *      *other* evaluators' scores, so it cannot move its own yardstick and a minority coalition
 *      cannot move the median;
 *    - relative, zero-centred step: log w_e moves by η·(d̄ − d_e), where d̄ is the round's median
 *      deviation; being as good as the typical evaluator earns nothing, so weights cannot all grow;
 *    - decay toward the prior: log w ← (1 − ρ)·log w + ρ·log prior each round, so no weight saturates
 *      or stays captured forever;
 *    - audits: on rounds whose ground truth is known (a random fraction p_audit of items carries a
 *      reference answer), deviations are measured against the ground truth instead, with step
 *      multiplier κ_audit — a coalition that agrees with itself still loses trust on audited rounds;
 *    - discrimination: an evaluator's weight in the consensus is its trust times the running
 *      correlation of its scores with its references (`DiscriminationStats`). Scoring near the middle
 *      of the scale without looking at the output (copycats, lazy constants) keeps deviations small
 *      when honest evaluators use different scales, but it cannot correlate with what is being scored.
 *    Consensus under this rule is the weighted median.
 */
import { weightedMedian } from "./aggregators.ts";

/** Parameters of Eq. 21 (the paper leaves all four unknown: ours are in params). */
export interface PaperTrustParams {
  readonly lambda: number;
  readonly wMin: number;
  readonly wMax: number;
  readonly initialWeight: number;
}

/** Eq. 21 for the evaluators of one round, in place on `weights` (indexed like `scores`). */
export function paperTrustUpdate(
  weights: Float64Array,
  evaluators: ArrayLike<number>,
  scores: ArrayLike<number>,
  count: number,
  consensus: number,
  p: PaperTrustParams,
): void {
  for (let i = 0; i < count; i++) {
    const e = evaluators[i] as number;
    const d = Math.abs((scores[i] as number) - consensus) / 10;
    const w = (weights[e] as number) * (1 + p.lambda * (0.5 - d));
    weights[e] = Math.min(p.wMax, Math.max(p.wMin, w));
  }
}

/** Parameters of the hardened rule (all our choices; swept in docs/reproductions/poq-robust.md). */
export interface HardenedTrustParams {
  /** Step size on log-weights per unit of (normalized) deviation advantage. */
  readonly eta: number;
  /** Per-round decay of log-weights toward the prior. */
  readonly decay: number;
  readonly prior: number;
  readonly wMin: number;
  readonly wMax: number;
  /** Step multiplier on audited rounds (deviation measured against the ground truth). */
  readonly auditBoost: number;
  /**
   * Memory, in sampled rounds, of the correlation behind the discrimination factor (the moments are
   * exponentially weighted with rate 1/memory, so a node that turns lazy loses its factor within a few
   * memories); 0 turns the factor off.
   */
  readonly discriminationMemory: number;
}

/**
 * Leave-one-out trust-weighted median of the other evaluators' scores, for each evaluator of a round.
 * `out[i]` is the reference of evaluator i. O(k²) with k ≤ a few dozen.
 */
export function leaveOneOutMedians(
  scores: ArrayLike<number>,
  trust: ArrayLike<number>,
  count: number,
  out: Float64Array,
  scratchScores: Float64Array,
  scratchWeights: Float64Array,
  order: Uint32Array,
): void {
  for (let i = 0; i < count; i++) {
    let m = 0;
    for (let j = 0; j < count; j++) {
      if (j === i) continue;
      scratchScores[m] = scores[j] as number;
      scratchWeights[m] = trust[j] as number;
      m++;
    }
    out[i] = m === 0 ? (scores[i] as number) : weightedMedian(scratchScores, scratchWeights, m, order);
  }
}

/**
 * The hardened update for one round, in place on `weights`. `references[i]` is evaluator i's yardstick:
 * its leave-one-out median, or the ground truth on an audited round.
 */
export function hardenedTrustUpdate(
  weights: Float64Array,
  evaluators: ArrayLike<number>,
  scores: ArrayLike<number>,
  references: ArrayLike<number>,
  count: number,
  audited: boolean,
  p: HardenedTrustParams,
  deviations: Float64Array,
): void {
  for (let i = 0; i < count; i++)
    deviations[i] = Math.abs((scores[i] as number) - (references[i] as number)) / 10;
  // The round's median deviation is the zero point: only better-than-typical agreement earns trust.
  // On audited rounds the zero point is fixed (0.1) so that a unanimous coalition still loses.
  let typical = 0.1;
  if (!audited) {
    const sorted = Float64Array.from(deviations.subarray(0, count)).sort();
    typical =
      count % 2 === 1
        ? (sorted[count >> 1] as number)
        : ((sorted[(count >> 1) - 1] as number) + (sorted[count >> 1] as number)) / 2;
  }
  const step = audited ? p.eta * p.auditBoost : p.eta;
  const logPrior = Math.log(p.prior);
  for (let i = 0; i < count; i++) {
    const e = evaluators[i] as number;
    const logW =
      (1 - p.decay) * Math.log(weights[e] as number) +
      p.decay * logPrior +
      step * (typical - (deviations[i] as number));
    weights[e] = Math.min(p.wMax, Math.max(p.wMin, Math.exp(logW)));
  }
}

/** Rounds an evaluator must have been sampled in before its correlation counts (the factor is 1 before). */
const DISCRIMINATION_WARMUP = 20;
/** Floor of the factor, so the weights of a round never all vanish. */
const DISCRIMINATION_FLOOR = 0.01;

/** {@link DiscriminationStats}' moments, per statistic and evaluator. */
export interface DiscriminationMoments {
  readonly seen: readonly number[];
  readonly w: readonly number[];
  readonly s: readonly number[];
  readonly r: readonly number[];
  readonly ss: readonly number[];
  readonly rr: readonly number[];
  readonly sr: readonly number[];
}

/**
 * Per-evaluator exponentially weighted moments of (score, reference), from which the discrimination
 * factor max(floor, corr(score, reference)) is read. Why correlation and not deviation: a node that never
 * looks at the output can sit close to everyone on average (deviation small) but cannot track which
 * outputs are better (correlation near zero).
 */
export class DiscriminationStats {
  private readonly seen: Float64Array;
  private readonly w: Float64Array;
  private readonly s: Float64Array;
  private readonly r: Float64Array;
  private readonly ss: Float64Array;
  private readonly rr: Float64Array;
  private readonly sr: Float64Array;

  constructor(
    evaluators: number,
    private readonly memory: number,
    /** The moments to start from, per statistic (a checkpoint's; shorter arrays are padded with 0). */
    from?: DiscriminationMoments,
  ) {
    const moment = (name: keyof DiscriminationMoments) => {
      const m = new Float64Array(evaluators);
      if (from) m.set(from[name].slice(0, evaluators));
      return m;
    };
    this.seen = moment("seen");
    this.w = moment("w");
    this.s = moment("s");
    this.r = moment("r");
    this.ss = moment("ss");
    this.rr = moment("rr");
    this.sr = moment("sr");
  }

  /** The moments, per statistic and evaluator (exact as JSON: doubles round-trip). */
  moments(): DiscriminationMoments {
    const { seen, w, s, r, ss, rr, sr } = this;
    return { seen: [...seen], w: [...w], s: [...s], r: [...r], ss: [...ss], rr: [...rr], sr: [...sr] };
  }

  /** Records one round's (score, reference) pairs. */
  observe(
    evaluators: ArrayLike<number>,
    scores: ArrayLike<number>,
    references: ArrayLike<number>,
    count: number,
  ): void {
    if (this.memory <= 0) return;
    const keep = 1 - 1 / this.memory;
    for (let i = 0; i < count; i++) {
      const e = evaluators[i] as number;
      const x = scores[i] as number;
      const y = references[i] as number;
      this.seen[e] = (this.seen[e] as number) + 1;
      this.w[e] = keep * (this.w[e] as number) + 1;
      this.s[e] = keep * (this.s[e] as number) + x;
      this.r[e] = keep * (this.r[e] as number) + y;
      this.ss[e] = keep * (this.ss[e] as number) + x * x;
      this.rr[e] = keep * (this.rr[e] as number) + y * y;
      this.sr[e] = keep * (this.sr[e] as number) + x * y;
    }
  }

  /** The factor that multiplies evaluator e's trust in the consensus: 1 while off or warming up. */
  factor(e: number): number {
    if (this.memory <= 0 || (this.seen[e] as number) < DISCRIMINATION_WARMUP) return 1;
    const w = this.w[e] as number;
    const ms = (this.s[e] as number) / w;
    const mr = (this.r[e] as number) / w;
    const vs = (this.ss[e] as number) / w - ms * ms;
    const vr = (this.rr[e] as number) / w - mr * mr;
    // A constant reporter has no variance: it cannot discriminate. Constant references tell nothing.
    if (!(vr > 1e-12)) return 1;
    if (!(vs > 1e-12)) return DISCRIMINATION_FLOOR;
    const corr = ((this.sr[e] as number) / w - ms * mr) / Math.sqrt(vs * vr);
    return Math.max(DISCRIMINATION_FLOOR, Math.min(1, corr));
  }
}
