/**
 * Which receipts a fisherman re-executes, and how many it can afford to.
 *
 * A fisherman configured to re-execute a fraction of receipts may face more traffic than its cores can
 * re-execute within the challenge window. Working through batches in order, it would then reach each
 * batch only near its window's end (too late for a challenge to be mined) and skip whole runs of
 * batches: its checks would cover a few percent of receipts in a pattern set by its backlog. Instead it
 * lowers its rate to what it can sustain, so every receipt it re-executes is fresh enough to dispute and
 * the ones it checks are spread uniformly over the traffic, by a draw the workers cannot predict (its
 * seed is secret). The deterrence bound `S_min = G / (ρ + (1 − ρ)·p_f)` then has a known `p_f`: the
 * effective rate, which the fisherman reports.
 */
import type { Hex } from "../encoding/hex.ts";
import { deriveSeed, type Seed, type SeedInput } from "../rng/deriveSeed.ts";

/**
 * The sampling seed of a fisherman configured with none: derived from its account key, so it is as
 * secret as the key (a worker that knew a fisherman's seed would know which receipts it skips) and two
 * fishermen draw independently (a shared default seed would have them re-execute the same receipts).
 * A {@link Crew}'s members derive theirs from the crew's shared key: one draw splits the receipts.
 */
export function fishermanSeed(accountKey: Hex): Seed {
  return deriveSeed(accountKey, "fisherman-sampling-seed");
}

/**
 * Several fishermen of one operator that split the receipts between them instead of each drawing its
 * own: every receipt falls in exactly one member's share, by a draw from the crew's shared secret seed.
 * N independent fishermen that each afford rate r of all receipts check 1 − (1 − r)^N of them; a crew of
 * N checks min(1, N·r), since each member's work is only its 1/N share. A member that is down leaves its
 * share unchecked, where independent fishermen would overlap.
 */
export interface Crew {
  readonly size: number;
  /** This fisherman's place in the crew, 0 ≤ member < size. */
  readonly member: number;
}

/** A fisherman on its own: its share is every receipt. */
export const ALONE: Crew = { size: 1, member: 0 };

/** The member of a crew of `size` whose share a receipt is. */
export function shareOf(seed: SeedInput, digest: Hex, size: number): number {
  return placed(seed, digest, size).share;
}

/**
 * Whether a receipt is re-executed at `rate`: in this fisherman's share of its crew (every receipt for
 * one {@link ALONE}), a uniform draw from (seed, digest) below the rate. The draws are nested: a receipt
 * sampled at one rate is sampled at every higher one.
 */
export function isSampled(seed: SeedInput, digest: Hex, rate: number, crew: Crew = ALONE): boolean {
  const { share, within } = placed(seed, digest, crew.size);
  if (share !== crew.member || rate <= 0) return false;
  return rate >= 1 || within < rate;
}

/**
 * One uniform draw from (seed, digest) scaled to the crew: its whole part is the share, and what is left
 * is a uniform draw within it (so a member's sampling is as uniform over its share as one alone is).
 */
function placed(seed: SeedInput, digest: Hex, size: number): { share: number; within: number } {
  const scaled = uniformDraw(seed, digest) * size;
  const share = Math.min(size - 1, Math.floor(scaled));
  return { share, within: scaled - share };
}

/** A uniform draw in [0, 1) from (seed, digest): 48 bits of their derived hash. */
function uniformDraw(seed: SeedInput, digest: Hex): number {
  return Number.parseInt(deriveSeed(seed, "fisherman-sample", digest).slice(2, 14), 16) / 2 ** 48;
}

/**
 * The share of its time a fisherman plans to spend re-executing. The rest opens obligations, plays
 * games and reports missing proofs, and absorbs the variance of the load; a fisherman behind by some
 * batches catches up at (1/share − 1) times the rate the traffic arrives.
 */
export const REEXECUTION_SHARE = 0.8;

/** What a fisherman measured: the traffic it watches, and its own re-execution. */
export interface ReexecutionLoad {
  /**
   * Receipts posted in the challenge window that ends at the newest batch it read. With fewer batches
   * read than a window's, what there is, as a whole window's: a fisherman that has just started
   * re-executes at its configured rate until the traffic shows (and catches up by `ageSeconds`).
   */
  readonly receiptsPerWindow: number;
  /** The challenge window (seconds). */
  readonly windowSeconds: number;
  /** Wall seconds one re-execution takes it lately, fetching the served request included. */
  readonly secondsPerReexecution: number;
  /** How long ago the batch it is about to re-execute was posted (seconds): how far behind it is. */
  readonly ageSeconds: number;
}

/**
 * The rate a fisherman re-executes at: the configured one while the receipts of a window, at that rate,
 * take at most `share` of the window to re-execute; below that, the rate that takes exactly `share`,
 * scaled down by how much of the window the fisherman is already behind (the further behind, the faster
 * it catches up: no batch it reaches is left to its window's end). Unmeasured (no re-execution timed
 * yet, no traffic): the configured rate. Averaging over a whole window lets a burst shorter than the
 * window through at the configured rate: the fisherman has the window to work through it.
 */
export function sustainableRate(
  configured: number,
  load: ReexecutionLoad,
  share: number = REEXECUTION_SHARE,
): number {
  const work = load.receiptsPerWindow * load.secondsPerReexecution;
  if (!(work > 0) || !(load.windowSeconds > 0)) return configured;
  const behind = Math.min(1, Math.max(0, load.ageSeconds / load.windowSeconds));
  return Math.min(configured, (share * load.windowSeconds * (1 - behind)) / work);
}

/** A posted batch, as the estimate of the traffic counts it. */
export interface BatchArrival {
  readonly postedAt: number;
  readonly receipts: number;
}

/**
 * The receipts posted in the window of `windowSeconds` that ends at the newest batch added. Batches
 * come in posting order, so the oldest leave first, each once (a fisherman's window may span days of
 * batches); a batch added out of order (a forced receipt's) leaves when it reaches the front, or is not
 * counted at all if it was posted before the window.
 */
export class ArrivalWindow {
  private readonly batches: BatchArrival[] = [];
  private head = 0;
  private newest = Number.NEGATIVE_INFINITY;
  private count = 0;

  constructor(private readonly windowSeconds: number) {}

  /** Receipts in the window now. */
  get receipts(): number {
    return this.count;
  }

  add(arrival: BatchArrival): void {
    this.newest = Math.max(this.newest, arrival.postedAt);
    const start = this.newest - this.windowSeconds;
    if (arrival.postedAt > start) {
      this.batches.push(arrival);
      this.count += arrival.receipts;
    }
    for (let b = this.batches[this.head]; b && b.postedAt <= start; b = this.batches[this.head]) {
      this.count -= b.receipts;
      this.head++;
    }
    // The batches that left are dropped now and then, not one by one (a shift is linear).
    if (this.head > 1024 && this.head * 2 > this.batches.length) {
      this.batches.splice(0, this.head);
      this.head = 0;
    }
  }
}

/** Exponentially weighted moving average: `previous` moved `weight` of the way to `sample`. */
export function movingAverage(previous: number | null, sample: number, weight = 0.2): number {
  return previous === null ? sample : previous + weight * (sample - previous);
}
