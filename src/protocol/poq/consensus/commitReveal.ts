/**
 * Commit–reveal of evaluator scores (PQML's two-phase consensus): in the commit phase each evaluator
 * publishes keccak256(abi.encode(round, evaluator, score, salt)); only after commits close are scores
 * and salts revealed and checked. Nobody can copy a score they have not seen, so copying is impossible
 * by construction; an evaluator that commits but does not reveal (or reveals something else) is
 * penalized. Scores are fixed point: score × 1000, an integer in [0, 10000].
 */
import { abiEncodeAtomic } from "../../encoding/abiWord.ts";
import { bytesToHex, type Hex, isHexOfLength } from "../../encoding/hex.ts";
import { keccak256 } from "../../encoding/keccak.ts";
import { fail, ok, type Verdict } from "../../errors.ts";

/** Fixed-point scale of committed scores. */
export const SCORE_SCALE = 1000;

/** A revealed score. */
export interface Reveal {
  readonly round: bigint;
  readonly evaluator: Hex;
  /** Score × 1000, integer in [0, 10000]. */
  readonly scoreMilli: number;
  readonly salt: Hex;
}

/** Converts a 0–10 score to its committed fixed-point form (round half up, documented). */
export function toScoreMilli(score: number): number {
  return Math.round(score * SCORE_SCALE);
}

/** The commitment of a reveal. */
export function commitment(reveal: Reveal): Verdict<Hex> {
  if (!Number.isInteger(reveal.scoreMilli) || reveal.scoreMilli < 0 || reveal.scoreMilli > 10 * SCORE_SCALE) {
    return fail(
      "SCORE_OUT_OF_RANGE",
      `committed score must be an integer in 0..10000, got ${reveal.scoreMilli}`,
      {
        scoreMilli: reveal.scoreMilli,
      },
    );
  }
  if (!isHexOfLength(reveal.salt, 32)) return fail("HEX_INVALID", "salt must be 32 bytes of hex", {});
  const encoded = abiEncodeAtomic(
    ["uint256", "address", "uint16", "bytes32"],
    [reveal.round, reveal.evaluator, reveal.scoreMilli, reveal.salt],
  );
  return encoded.ok ? ok(bytesToHex(keccak256(encoded.value))) : encoded;
}

/** What a round's commit–reveal settled: accepted scores, and who is penalized and why. */
export interface RevealOutcome {
  readonly accepted: ReadonlyMap<Hex, number>;
  readonly penalized: ReadonlyMap<Hex, "REVEAL_MISSING" | "COMMIT_MISMATCH">;
  /** Reveals without a commitment (ignored: too late to count, nothing to penalize). */
  readonly ignored: readonly Hex[];
}

/** Settles a round: every reveal is checked against its evaluator's commitment. */
export function settleReveals(
  round: bigint,
  commitments: ReadonlyMap<Hex, Hex>,
  reveals: readonly Reveal[],
): RevealOutcome {
  const accepted = new Map<Hex, number>();
  const penalized = new Map<Hex, "REVEAL_MISSING" | "COMMIT_MISMATCH">();
  const ignored: Hex[] = [];
  const seen = new Set<Hex>();
  for (const reveal of reveals) {
    const who = reveal.evaluator.toLowerCase() as Hex;
    const committed = commitments.get(who);
    if (committed === undefined) {
      ignored.push(who);
      continue;
    }
    if (seen.has(who)) continue; // only the first reveal of an evaluator counts
    seen.add(who);
    const computed = commitment({ ...reveal, evaluator: who });
    if (reveal.round !== round || !computed.ok || computed.value !== committed)
      penalized.set(who, "COMMIT_MISMATCH");
    else accepted.set(who, reveal.scoreMilli / SCORE_SCALE);
  }
  for (const who of commitments.keys()) if (!seen.has(who)) penalized.set(who, "REVEAL_MISSING");
  return { accepted, penalized, ignored };
}
