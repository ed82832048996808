/**
 * How old a receipt may get (docs/spec/otr.md §3.4). A worker signs each receipt with its `timestamp`
 * (ms); a receipt whose batch was posted, or that its client forced in, more than `maxReceiptAgeMs`
 * after that is stale: no dispute can open over it and no spot-check obligation, and epochs pay
 * nothing for it. Without such a bound a worker could never forget a request: anyone may force a
 * receipt in at any time, and a sequencer may post one at any time, each opening a new challenge
 * window. With it, what a worker keeps for its defence and its proofs has a horizon
 * ({@link contextRetentionMs}). The sequencer admits a receipt only within half the bound
 * ({@link admissible}), leaving the other half for its batch to be posted through outages.
 * Rollup.receiptStale, DisputeGame.challenge, SpotChecks.open and Rollup.forceInclude decide the same on
 * chain.
 */
import type { OtrParams, RollupParams } from "../params/otr.ts";

/** Whether a receipt signed at `timestampMs` was older than the bound when posted at `postedAtMs`. */
export function receiptStale(timestampMs: bigint, postedAtMs: number, maxReceiptAgeMs: number): boolean {
  return timestampMs < staleBefore(postedAtMs, maxReceiptAgeMs);
}

/**
 * The oldest timestamp a receipt posted at `postedAtMs` may carry without being stale: every receipt
 * signed before it is ({@link receiptStale}; for a store that selects a batch's stale receipts at once).
 */
export function staleBefore(postedAtMs: number, maxReceiptAgeMs: number): bigint {
  return BigInt(postedAtMs) - BigInt(maxReceiptAgeMs);
}

/** Whether the sequencer may admit at `nowMs` a receipt signed at `timestampMs`. */
export function admissible(timestampMs: bigint, nowMs: number, p: RollupParams): boolean {
  return timestampMs + BigInt(Math.floor(p.maxReceiptAgeMs / 2)) >= BigInt(nowMs);
}

/**
 * Time beyond the protocol's own bounds that a worker keeps a context, for its clock running ahead of
 * the chain's (receipts are stamped by the one, staleness judged by the other).
 */
export const CLOCK_MARGIN_MS = 600_000;

/**
 * How long after serving a request a worker keeps what its defence and its proofs need: its receipt is
 * posted within `maxReceiptAgeMs` or is stale, disputes and obligations open within the challenge
 * window after, and an obligation is due `proofDeadlineMs` after its opening. A dispute game still being
 * played keeps its context past this (the worker's defence holds it).
 */
export function contextRetentionMs(p: OtrParams): number {
  return (
    p.rollup.maxReceiptAgeMs + p.rollup.challengeWindowMs + p.spotcheck.proofDeadlineMs + CLOCK_MARGIN_MS
  );
}
