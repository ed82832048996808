/**
 * Stochastic ZK spot-checks (OTR's third tier, PAPERS.md §1; docs/spec/otr.md §5): a receipt owes a
 * proof when
 *
 *   uint256(keccak256(batchRoot ‖ position u64 ‖ seed)) < ⌊2^256 · ρ⌋
 *
 * with `seed` the `prevrandao` of the block `seedDelayBlocks` after the batch was posted: when the
 * sequencer commits to the batch root, nobody knows the seed, and the proposer of the seed block can
 * only publish or withhold it (RANDAO cannot be ground like a block hash), so a cheater who controls that
 * slot escapes a selection with probability at most (1 − ρ)·(1 + ρ) instead of (1 − ρ): the grinding
 * bound. On chain the seed is that block's hash (all the EVM exposes of a past block), which its
 * proposer can grind: docs/spec/otr.md §5 states that weaker bound. The obligation is a proof of a
 * committed slice by a deadline; a missing or invalid proof slashes the worker. And the deterrence
 * formulas of PAPERS.md, with the ρ an operator should set.
 */
import { bytesToHex, type Hex, hexToBytes } from "../encoding/hex.ts";
import { keccak256 } from "../encoding/keccak.ts";
import type { SpotCheckParams } from "../params/otr.ts";
import type { Hash32 } from "../verifiable/trace.ts";

const TWO_256 = 1n << 256n;

/** The selection threshold ⌊2^256 · ρ⌋ for ρ in parts per million. */
export function selectionThreshold(rhoPpm: number): bigint {
  return (TWO_256 * BigInt(rhoPpm)) / 1_000_000n;
}

/** The selection draw of a receipt: keccak256(batchRoot ‖ position u64 ‖ seed) as a uint256. */
export function selectionDraw(batchRoot: Hex, position: number, seed: Hex, hash: Hash32 = keccak256): bigint {
  const buf = new Uint8Array(72);
  buf.set(hexToBytes(batchRoot, 32), 0);
  new DataView(buf.buffer).setBigUint64(32, BigInt(position));
  buf.set(hexToBytes(seed, 32), 40);
  return BigInt(bytesToHex(hash(buf)));
}

/** Whether the receipt at `position` of a batch owes a proof. */
export function isSelected(
  batchRoot: Hex,
  position: number,
  seed: Hex,
  rhoPpm: number,
  hash: Hash32 = keccak256,
): boolean {
  return selectionDraw(batchRoot, position, seed, hash) < selectionThreshold(rhoPpm);
}

/** A receipt's proof obligation. */
export interface Obligation {
  readonly batch: number;
  readonly position: number;
  readonly deadline: number;
}

/**
 * The obligations of a posted batch, opened at `openedAt` (once its seed is known, while its challenge
 * window is open): each is due `proofDeadlineMs` after its opening, however late that is, so that
 * nobody can open an obligation already overdue and have an honest worker slashed for it.
 */
export function obligationsOf(
  batch: { readonly index: number; readonly root: Hex; readonly count: number },
  seed: Hex,
  openedAt: number,
  params: SpotCheckParams,
  hash: Hash32 = keccak256,
): Obligation[] {
  const out: Obligation[] = [];
  const threshold = selectionThreshold(params.rhoPpm);
  for (let p = 0; p < batch.count; p++)
    if (selectionDraw(batch.root, p, seed, hash) < threshold)
      out.push({ batch: batch.index, position: p, deadline: openedAt + params.proofDeadlineMs });
  return out;
}

/**
 * What happens to an obligation: proven, or the worker is slashed for a missing or invalid proof, or
 * for an accepted proof shown not to be of the receipt's slice (docs/spec/spotcheck.md §3).
 */
export type ObligationOutcome =
  | { readonly kind: "proven" }
  | { readonly kind: "pending" }
  | { readonly kind: "slash"; readonly reason: "missing" | "invalid" | "unbound"; readonly amount: bigint };

/** A submitted proof: when, whether it verified, and when (if ever) a binding challenge against it held. */
export interface SubmittedProof {
  readonly at: number;
  readonly valid: boolean;
  readonly unboundAt?: number;
}

/** Settles an obligation at `now` given the proof submitted (null: none yet). */
export function settleObligation(
  o: Obligation,
  proof: SubmittedProof | null,
  now: number,
  params: SpotCheckParams,
): ObligationOutcome {
  if (proof && proof.at <= o.deadline) {
    if (!proof.valid) return { kind: "slash", reason: "invalid", amount: params.missingProofSlash };
    const unbound = proof.unboundAt !== undefined && proof.unboundAt <= proof.at + params.bindingWindowMs;
    return unbound
      ? { kind: "slash", reason: "unbound", amount: params.missingProofSlash }
      : { kind: "proven" };
  }
  return now > o.deadline
    ? { kind: "slash", reason: "missing", amount: params.missingProofSlash }
    : { kind: "pending" };
}

/** Probability that spot-checks alone catch at least one of K fraudulent receipts: 1 − (1 − ρ)^K. */
export function detectionProbability(rho: number, k: number): number {
  return 1 - (1 - rho) ** k;
}

/**
 * Probability a single fraud is caught, by a spot-check or (if not selected) by a fisherman that covers
 * a fraction p_f of receipts: ρ + (1 − ρ)·p_f.
 */
export function catchProbability(rho: number, fishermanCoverage: number): number {
  return rho + (1 - rho) * fishermanCoverage;
}

/** The least slash that makes cheating once (gain G) unprofitable: S_min = G / (ρ + (1 − ρ)·p_f). */
export function minimumSlash(gain: number, rho: number, fishermanCoverage: number): number {
  return gain / catchProbability(rho, fishermanCoverage);
}

/** The Proof-of-Sampling condition: honesty dominates when p·(R + S) > C. */
export function honestyDominates(p: number, reward: number, slash: number, costSaved: number): boolean {
  return p * (reward + slash) > costSaved;
}

/**
 * The least ρ an operator should set so that cheating once is unprofitable for a gain G, a slash S and
 * fisherman coverage p_f: ρ > (G/S − p_f) / (1 − p_f), clamped to [0, 1] (0 when fishermen suffice;
 * 1 when even ρ = 1 cannot deter, i.e. G ≥ S).
 */
export function requiredRho(gain: number, slash: number, fishermanCoverage: number): number {
  if (slash <= 0 || gain >= slash) return 1;
  if (fishermanCoverage >= 1) return 0;
  return Math.min(1, Math.max(0, (gain / slash - fishermanCoverage) / (1 - fishermanCoverage)));
}
