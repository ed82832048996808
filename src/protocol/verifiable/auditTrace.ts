/**
 * A verifier's (fisherman's) check of a claimed execution trace: re-execute the same tokens on the
 * committed integer model, compare leaf by leaf, and name the first divergent step — the step a
 * bisection dispute converges on (spec §6). Its inputs are earlier steps, which agree by construction,
 * so that step alone is what the disputed party must defend; for a matmul the dispute narrows further
 * to one chunk of rows, whose cost is reported.
 */

import type { Hex } from "../encoding/hex.ts";
import { bytesToHex } from "../encoding/hex.ts";
import { keccak256 } from "../encoding/keccak.ts";
import { fail, ok, type Verdict } from "../errors.ts";
import type { IntModel } from "./intModel.ts";
import { modelRoot } from "./modelCommitment.ts";
import { chunkRows, disputeCost, inputsOf, matmulOf, recordSteps } from "./replay.ts";
import { firstDivergence, type Hash32, leafHash, merkleRoot, type StepId, stepLabel } from "./trace.ts";

/** The claimed trace, as the engine reports it (leaves in execution order). */
export interface ClaimedTrace {
  readonly root: Hex;
  readonly modelRoot: Hex;
  readonly tokens: readonly number[];
  readonly steps: readonly StepId[];
  readonly leaves: readonly Uint8Array[];
}

/** Where a claimed trace first departs from the re-execution. */
export interface Divergence {
  readonly index: number;
  /** "pos 3 layer 1 wo"; null when the claimed trace is shorter or longer than the re-execution. */
  readonly step: string | null;
  readonly claimedLeaf: Hex | null;
  readonly replayedLeaf: Hex | null;
  /** The steps whose outputs feed it (all agreeing, being earlier). */
  readonly inputs: readonly string[];
  /** For a matmul step: rows per dispute chunk and the cost of checking one chunk (spec §6). */
  readonly chunk: {
    readonly rows: number;
    readonly chunks: number;
    readonly constraints: number;
    readonly gas: number;
  } | null;
}

/** The audit. */
export interface TraceAudit {
  readonly valid: boolean;
  readonly leaves: number;
  readonly replayedLeaves: number;
  readonly claimedRoot: Hex;
  /** The root of the claimed leaves: a mismatch with `claimedRoot` means the summary is inconsistent. */
  readonly rootOfClaimedLeaves: Hex;
  readonly replayedRoot: Hex;
  readonly firstDivergence: Divergence | null;
}

const MERKLE_DEPTH_ESTIMATE = 16;

/** Audits `claimed` against a re-execution on `model`. Fails only when the trace is not for this model. */
export function auditTrace(
  model: IntModel,
  claimed: ClaimedTrace,
  hash: Hash32 = keccak256,
): Verdict<TraceAudit> {
  const root = modelRoot(model, hash);
  if (root.toLowerCase() !== claimed.modelRoot.toLowerCase())
    return fail(
      "TRACE_MISMATCH",
      `the trace was recorded on model ${claimed.modelRoot}, this model is ${root}`,
      {
        claimed: claimed.modelRoot,
        model: root,
      },
    );
  const { vocabSize, seqLen } = model.shape;
  if (claimed.tokens.length === 0 || claimed.tokens.length > seqLen)
    return fail(
      "TRACE_MALFORMED",
      `a trace covers 1 to ${seqLen} positions, this one ${claimed.tokens.length}`,
    );
  const bad = claimed.tokens.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= vocabSize);
  if (bad >= 0)
    return fail(
      "TRACE_MALFORMED",
      `token ${claimed.tokens[bad]} at position ${bad} is outside the vocabulary (${vocabSize})`,
    );
  if (claimed.steps.length !== claimed.leaves.length)
    return fail("TRACE_MALFORMED", `${claimed.steps.length} steps but ${claimed.leaves.length} leaves`);

  const replayed = recordSteps(model, claimed.tokens);
  const replayedLeaves = replayed.map((s) => leafHash(s.id, s.output, hash));
  // A step label that differs is a divergence too (the leaf commits to its step id).
  let index = firstDivergence(claimed.leaves, replayedLeaves);
  const labelDiff = claimed.steps.findIndex(
    (s, i) =>
      i < replayed.length && stepLabel(s) !== stepLabel((replayed[i] as (typeof replayed)[number]).id),
  );
  if (labelDiff >= 0 && (index < 0 || labelDiff < index)) index = labelDiff;

  let divergence: Divergence | null = null;
  if (index >= 0) {
    const mine = replayed[index];
    const theirs = claimed.leaves[index];
    const mm = mine ? matmulOf(model, mine.id) : null;
    const rows = mm ? chunkRows(mm.w.cols) : 0;
    const cost = mm ? disputeCost(mm.w.cols, rows, mm.r1 - mm.r0, MERKLE_DEPTH_ESTIMATE) : null;
    divergence = {
      index,
      step: mine && theirs ? stepLabel(mine.id) : null,
      claimedLeaf: theirs ? bytesToHex(theirs) : null,
      replayedLeaf: mine ? bytesToHex(replayedLeaves[index] as Uint8Array) : null,
      inputs: mine ? inputsOf(mine.id, model.shape.nLayers).map(stepLabel) : [],
      chunk:
        mm && cost
          ? { rows, chunks: Math.ceil((mm.r1 - mm.r0) / rows), constraints: cost.constraints, gas: cost.gas }
          : null,
    };
  }
  const rootOfClaimedLeaves = bytesToHex(merkleRoot(claimed.leaves, hash));
  return ok({
    valid: divergence === null && rootOfClaimedLeaves === claimed.root.toLowerCase(),
    leaves: claimed.leaves.length,
    replayedLeaves: replayedLeaves.length,
    claimedRoot: claimed.root,
    rootOfClaimedLeaves,
    replayedRoot: bytesToHex(merkleRoot(replayedLeaves, hash)),
    firstDivergence: divergence,
  });
}
