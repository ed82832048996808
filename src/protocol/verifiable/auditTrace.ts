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
import {
  chunkRows,
  disputeCost,
  type ExecutionContext,
  inputsOf,
  matmulOf,
  replayExecution,
} from "./replay.ts";
import {
  equalBytes,
  firstDivergence,
  type Hash32,
  leafHash,
  merkleRoot,
  type StepId,
  stepAt,
  stepLabel,
  stepsPerPosition,
  tokenBytes,
} from "./trace.ts";

/** The claimed trace, as the engine reports it (leaves in execution order). */
export interface ClaimedTrace {
  readonly root: Hex;
  readonly modelRoot: Hex;
  /** The token fed at each position: the prompt's, then the sampled ones. */
  readonly tokens: readonly number[];
  /** How many of `tokens` are the prompt (in a receipt: bound by `promptHash`). */
  readonly promptTokens: number;
  /** Sampling parameters (in a receipt: bound by `paramsHash`). */
  readonly sampling: ExecutionContext["sampling"];
  readonly steps: readonly StepId[];
  readonly leaves: readonly Uint8Array[];
}

/** Where a claimed trace first departs from the re-execution: a leaf that differs. */
export interface Divergence {
  readonly index: number;
  /** "pos 3 layer 1 wo". */
  readonly step: string;
  readonly claimedLeaf: Hex;
  readonly replayedLeaf: Hex;
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
  /** The root of the claimed leaves (equal to `claimedRoot`, else the trace is malformed). */
  readonly rootOfClaimedLeaves: Hex;
  readonly replayedRoot: Hex;
  readonly firstDivergence: Divergence | null;
}

const MERKLE_DEPTH_ESTIMATE = 16;

const STEP_FIELDS = ["pos", "layer", "op", "part"] as const;

/**
 * Audits `claimed` against a re-execution on `model`. Only a leaf can convict: the step labels and the
 * root are not evidence of anything by themselves, so the labels must be the ones the re-execution
 * derives and the root must be the root of the listed leaves, else the trace is TRACE_MALFORMED naming
 * the field (and nobody is accused). A divergence is reported only where a claimed leaf differs from
 * the re-executed one. Fails with TRACE_MODEL_MISMATCH when the trace names another model.
 */
export function auditTrace(
  model: IntModel,
  claimed: ClaimedTrace,
  hash: Hash32 = keccak256,
): Verdict<TraceAudit> {
  const malformed = (field: string, message: string) =>
    fail<TraceAudit>("TRACE_MALFORMED", `field ${field}: ${message}`, { field });
  const root = modelRoot(model, hash);
  if (root.toLowerCase() !== claimed.modelRoot.toLowerCase())
    return fail(
      "TRACE_MODEL_MISMATCH",
      `the trace was recorded on model ${claimed.modelRoot}, this model is ${root}`,
      { field: "modelRoot", claimed: claimed.modelRoot, model: root },
    );
  const { vocabSize, seqLen } = model.shape;
  if (claimed.tokens.length === 0 || claimed.tokens.length > seqLen)
    return malformed("tokens", `a trace covers 1 to ${seqLen} positions, this one ${claimed.tokens.length}`);
  const bad = claimed.tokens.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= vocabSize);
  if (bad >= 0)
    return malformed(
      `tokens.${bad}`,
      `token ${claimed.tokens[bad]} at position ${bad} is outside the vocabulary (${vocabSize})`,
    );
  if (claimed.steps.length !== claimed.leaves.length)
    return malformed("steps", `${claimed.steps.length} steps but ${claimed.leaves.length} leaves`);
  if (
    !(
      Number.isInteger(claimed.promptTokens) &&
      claimed.promptTokens >= 1 &&
      claimed.promptTokens <= claimed.tokens.length
    )
  )
    return malformed(
      "promptTokens",
      `the prompt is 1 to ${claimed.tokens.length} of the tokens, not ${claimed.promptTokens}`,
    );
  const { temperature, topP, seed } = claimed.sampling;
  if (!(Number.isFinite(temperature) && temperature >= 0 && temperature <= 100))
    return malformed("sampling.temperature", `temperature must be in [0, 100], got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) return malformed("sampling.topP", `top-p must be in (0, 1], got ${topP}`);
  if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff))
    return malformed("sampling.seed", `the seed must be an integer in [0, 2^32), got ${seed}`);

  // Labels are derived from the leaf index, then compared: a label is not evidence.
  const expected = claimed.tokens.length * stepsPerPosition(model.shape);
  if (claimed.steps.length !== expected)
    return malformed(
      "steps",
      `the trace lists ${claimed.steps.length} steps; ${claimed.tokens.length} positions on this model make ${expected}`,
    );
  for (const [i, s] of claimed.steps.entries()) {
    const derived = stepAt(model.shape, i);
    const field = STEP_FIELDS.find((f) => s[f] !== derived[f]);
    if (field)
      return malformed(
        `steps.${i}.${field}`,
        `step ${i} is labelled ${stepLabel(s)} (${field} ${s[field]}); step ${i} of this execution is ${stepLabel(derived)}`,
      );
  }
  const rootOfClaimedLeaves = bytesToHex(merkleRoot(claimed.leaves, hash));
  if (rootOfClaimedLeaves !== claimed.root.toLowerCase())
    return malformed(
      "root",
      `the root ${claimed.root} is not the root of the listed leaves (${rootOfClaimedLeaves})`,
    );

  // The listed tokens must be the ones the SAMPLE leaves commit to (each generated token is the one
  // chosen after the position before it).
  const per = stepsPerPosition(model.shape);
  for (let p = claimed.promptTokens; p < claimed.tokens.length; p++) {
    const sample = (p - 1) * per + per - 1;
    const expectedLeaf = leafHash(stepAt(model.shape, sample), tokenBytes(claimed.tokens[p] as number), hash);
    if (!equalBytes(expectedLeaf, claimed.leaves[sample] as Uint8Array))
      return malformed(
        `tokens.${p}`,
        `token ${claimed.tokens[p]} at position ${p} is not the token step ${sample} committed to`,
      );
  }

  const context: ExecutionContext = {
    prompt: claimed.tokens.slice(0, claimed.promptTokens),
    sampling: claimed.sampling,
  };
  const replayed = replayExecution(model, context, claimed.tokens.length).steps;
  const replayedLeaves = replayed.map((s) => leafHash(s.id, s.output, hash));
  const index = firstDivergence(claimed.leaves, replayedLeaves);
  let divergence: Divergence | null = null;
  if (index >= 0) {
    const mine = replayed[index] as (typeof replayed)[number];
    const mm = matmulOf(model, mine.id);
    const rows = mm ? chunkRows(mm.w.cols) : 0;
    const cost = mm ? disputeCost(mm.w.cols, rows, mm.r1 - mm.r0, MERKLE_DEPTH_ESTIMATE) : null;
    divergence = {
      index,
      step: stepLabel(mine.id),
      claimedLeaf: bytesToHex(claimed.leaves[index] as Uint8Array),
      replayedLeaf: bytesToHex(replayedLeaves[index] as Uint8Array),
      inputs: inputsOf(mine.id, model.shape, claimed.promptTokens).map(stepLabel),
      chunk:
        mm && cost
          ? { rows, chunks: Math.ceil((mm.r1 - mm.r0) / rows), constraints: cost.constraints, gas: cost.gas }
          : null,
    };
  }
  return ok({
    valid: divergence === null,
    leaves: claimed.leaves.length,
    replayedLeaves: replayedLeaves.length,
    claimedRoot: claimed.root,
    rootOfClaimedLeaves,
    replayedRoot: bytesToHex(merkleRoot(replayedLeaves, hash)),
    firstDivergence: divergence,
  });
}
