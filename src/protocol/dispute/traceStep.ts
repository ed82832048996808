/**
 * The one-step check of a verifiable engine's trace (docs/spec/otr.md §4.3): the correct leaf at an
 * index, recomputed from the step's inputs, each proven by a Merkle path against the receipt's trace
 * root, with the execution context (prompt tokens, sampling parameters) checked against the receipt's
 * promptHash and paramsHash. Leaves past the trace's end are padding and must be zero. The same code
 * runs in a fisherman, in a worker defending itself, and (in Solidity) in the contract.
 */
import { bytesToHex, type Hex, hexToBytes, isHexOfLength } from "../encoding/hex.ts";
import { fail, ok } from "../errors.ts";
import type { IntModel } from "../verifiable/intModel.ts";
import { computeStep, type ExecutionContext, inputsOf } from "../verifiable/replay.ts";
import { paramsHashOf, promptHashOf } from "../verifiable/requestCommitments.ts";
import {
  type Hash32,
  indexOfStep,
  leafHash,
  stepAt,
  stepLabel,
  verifyMerkleProof,
} from "../verifiable/trace.ts";
import type { StepVerifier } from "./game.ts";

/** What the receipt binds for a one-step check. */
export interface TraceSubject {
  readonly traceRoot: Hex;
  readonly leafCount: number;
  readonly promptHash: Hex;
  readonly paramsHash: Hex;
}

/** Evidence for one leaf: the context, and each input step's output with its Merkle path. */
export interface TraceStepEvidence {
  readonly context: ExecutionContext;
  readonly inputs: readonly { readonly output: Hex; readonly proof: readonly Hex[] }[];
}

const malformed = (message: string, field: string) => fail<never>("TRACE_MALFORMED", message, { field });

/** The verifier for one receipt's trace on a registered model. */
export function traceStepVerifier(model: IntModel, subject: TraceSubject, hash: Hash32): StepVerifier {
  const root = hexToBytes(subject.traceRoot, 32);
  return (index, raw) => {
    if (index >= subject.leafCount) return ok(new Uint8Array(32)); // padding
    const evidence = raw as TraceStepEvidence;
    if (typeof evidence !== "object" || evidence === null || !Array.isArray(evidence.inputs))
      return malformed("one-step evidence needs a context and a list of inputs", "evidence");
    const { context } = evidence;
    if (!Array.isArray(context?.prompt) || typeof context.sampling !== "object" || context.sampling === null)
      return malformed("one-step evidence needs the prompt tokens and the sampling parameters", "context");
    if (bytesToHex(promptHashOf(context.prompt, hash)) !== subject.promptHash.toLowerCase())
      return malformed("the prompt tokens do not hash to the receipt's promptHash", "context.prompt");
    if (bytesToHex(paramsHashOf(context.sampling, hash)) !== subject.paramsHash.toLowerCase())
      return malformed("the sampling parameters do not hash to the receipt's paramsHash", "context.sampling");
    const step = stepAt(model.shape, index);
    const producers = inputsOf(step, model.shape, context.prompt.length);
    if (evidence.inputs.length !== producers.length)
      return malformed(
        `${stepLabel(step)} takes ${producers.length} inputs, ${evidence.inputs.length} were given`,
        "inputs",
      );
    const outputs: Uint8Array[] = [];
    for (const [i, producer] of producers.entries()) {
      const input = evidence.inputs[i] as TraceStepEvidence["inputs"][number];
      if (
        typeof input.output !== "string" ||
        !/^0x[0-9a-fA-F]*$/.test(input.output) ||
        !Array.isArray(input.proof)
      )
        return malformed(`input ${i} needs its output bytes and a Merkle path`, `inputs.${i}`);
      if (!input.proof.every((h) => isHexOfLength(h, 32)))
        return malformed(`input ${i}'s Merkle path must be 32-byte hashes`, `inputs.${i}.proof`);
      const output = hexToBytes(input.output);
      const leaf = leafHash(producer, output, hash);
      const at = indexOfStep(model.shape, producer);
      if (
        !verifyMerkleProof(
          root,
          leaf,
          at,
          input.proof.map((h) => hexToBytes(h)),
          hash,
        )
      )
        return malformed(
          `input ${i} (${stepLabel(producer)}, leaf ${at}) is not proven against the trace root`,
          `inputs.${i}`,
        );
      outputs.push(output);
    }
    try {
      return ok(leafHash(step, computeStep(model, step, outputs, context), hash));
    } catch (error) {
      return malformed(
        `the inputs of ${stepLabel(step)} do not fit the model: ${(error as Error).message}`,
        "inputs",
      );
    }
  };
}

/** Builds the evidence for leaf `index` from a full trace (what an honest party submits). */
export function traceStepEvidence(
  model: IntModel,
  context: ExecutionContext,
  outputs: readonly Uint8Array[],
  proofOf: (index: number) => readonly Uint8Array[],
  index: number,
): TraceStepEvidence {
  const step = stepAt(model.shape, index);
  return {
    context,
    inputs: inputsOf(step, model.shape, context.prompt.length).map((producer) => {
      const at = indexOfStep(model.shape, producer);
      return { output: bytesToHex(outputs[at] as Uint8Array), proof: proofOf(at).map(bytesToHex) };
    }),
  };
}
