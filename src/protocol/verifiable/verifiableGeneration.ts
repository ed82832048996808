/**
 * A request run on the verifiable engine through the protocol's own replay (no engine loop): every
 * step's output, the trace tree and the receipt fields it determines. Fishermen and disputing workers
 * regenerate a served request's trace with it; a cheating devnet worker runs it with a fault.
 */
import { bytesToHex } from "../encoding/hex.ts";
import type { Receipt } from "../receipt/receipt.ts";
import type { IntModel } from "./intModel.ts";
import { type Fault, IntTransformer } from "./intTransformer.ts";
import { modelRoot } from "./modelCommitment.ts";
import { decodeToken, type ExecutionContext, replayExecution } from "./replay.ts";
import { paramsHashOf, promptHashOf } from "./requestCommitments.ts";
import { leafHash, OP, TraceTree } from "./trace.ts";

/** A ts-int generation: its trace and what its receipt commits to. */
export interface VerifiableGeneration {
  readonly outputs: readonly Uint8Array[];
  readonly tree: TraceTree;
  /** The tokens sampled after the prompt. */
  readonly generated: readonly number[];
  /** The receipt fields the generation determines (engine spec v2 §5, requestCommitments.ts). */
  readonly fields: Pick<
    Receipt,
    "weightsHash" | "promptHash" | "paramsHash" | "outputHash" | "traceRoot" | "inputTokens" | "outputTokens"
  >;
}

/**
 * Runs a request on the verifiable engine, honestly or with a fault injected at one step (a cheating
 * worker whose trace and output both follow from the fault), and derives the receipt's commitments.
 */
export function verifiableGeneration(
  model: IntModel,
  context: ExecutionContext,
  outputTokens: number,
  fault: Fault | null = null,
): VerifiableGeneration {
  const t = new IntTransformer(model);
  t.fault = fault;
  const { steps } = replayExecution(model, context, context.prompt.length + outputTokens - 1, t);
  const generated = steps
    .filter((s) => s.id.op === OP.SAMPLE && s.id.pos + 1 >= context.prompt.length)
    .map((s) => decodeToken(s.output));
  const tree = new TraceTree(steps.map((s) => leafHash(s.id, s.output)));
  return {
    outputs: steps.map((s) => s.output),
    tree,
    generated,
    fields: {
      weightsHash: modelRoot(model),
      promptHash: bytesToHex(promptHashOf(context.prompt)),
      paramsHash: bytesToHex(paramsHashOf(context.sampling)),
      outputHash: bytesToHex(promptHashOf(generated)),
      traceRoot: bytesToHex(tree.root),
      inputTokens: context.prompt.length,
      outputTokens,
    },
  };
}
