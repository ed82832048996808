/**
 * A direct fraud proof, no bisection needed (docs/spec/otr.md §4.5): the receipt's `outputHash` names
 * output tokens that its own trace did not choose. The prover shows the output tokens (they must hash to
 * `outputHash`) and, for one of them, the trace's SAMPLE leaf at that position with its Merkle path; if
 * that leaf commits to another token, the receipt is fraudulent.
 */
import { bytesToHex, type Hex, hexToBytes } from "../encoding/hex.ts";
import { fail, ok, type Verdict } from "../errors.ts";
import { promptHashOf } from "../verifiable/requestCommitments.ts";
import {
  equalBytes,
  type Hash32,
  indexOfStep,
  leafHash,
  OP,
  tokenBytes,
  verifyMerkleProof,
} from "../verifiable/trace.ts";

/** The receipt facts the proof is checked against. */
export interface OutputSubject {
  readonly traceRoot: Hex;
  readonly outputHash: Hex;
  readonly inputTokens: number;
  readonly shape: { readonly nLayers: number; readonly vocabSize: number };
}

/** Checks the proof that output token `j` is not the one the trace's SAMPLE step chose. */
export function proveOutputMismatch(
  subject: OutputSubject,
  outputTokens: readonly number[],
  j: number,
  sampleLeaf: Hex,
  proof: readonly Hex[],
  hash: Hash32,
): Verdict<{ readonly position: number; readonly claimedToken: number }> {
  // Output token ids hash like prompt token ids (u32 little-endian).
  if (bytesToHex(promptHashOf(outputTokens, hash)) !== subject.outputHash.toLowerCase())
    return fail("TRACE_MALFORMED", "the output tokens do not hash to the receipt's outputHash", {
      field: "outputTokens",
    });
  if (!(Number.isInteger(j) && j >= 0 && j < outputTokens.length))
    return fail("TRACE_MALFORMED", `output token ${j} does not exist`, { field: "j" });
  // Output token j was chosen by the SAMPLE step of position inputTokens − 1 + j.
  const position = subject.inputTokens - 1 + j;
  const id = { pos: position, layer: subject.shape.nLayers, op: OP.SAMPLE, part: 0 } as const;
  const index = indexOfStep(subject.shape, id);
  if (
    !verifyMerkleProof(
      hexToBytes(subject.traceRoot, 32),
      hexToBytes(sampleLeaf, 32),
      index,
      proof.map((p) => hexToBytes(p, 32)),
      hash,
    )
  )
    return fail(
      "TRACE_MALFORMED",
      `the SAMPLE leaf of position ${position} is not proven against the trace root`,
      {
        field: "proof",
      },
    );
  const claimed = outputTokens[j] as number;
  return equalBytes(leafHash(id, tokenBytes(claimed), hash), hexToBytes(sampleLeaf, 32))
    ? fail(
        "TRACE_MISMATCH_ABSENT",
        `the trace chose token ${claimed} at position ${position}, as the receipt says`,
      )
    : ok({ position, claimedToken: claimed });
}
