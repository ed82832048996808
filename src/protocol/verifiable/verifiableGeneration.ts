/**
 * A request run on the verifiable engine through the protocol's own replay (no engine loop): every
 * step's output, the trace tree and the receipt fields it determines. Fishermen and disputing workers
 * regenerate a served request's trace with it; a cheating devnet worker runs it with a fault.
 */
import { bytesToHex, type Hex } from "../encoding/hex.ts";
import { keccak256 } from "../encoding/keccak.ts";
import type { Receipt } from "../receipt/receipt.ts";
import type { IntModel } from "./intModel.ts";
import { type Fault, IntTransformer } from "./intTransformer.ts";
import { modelRoot } from "./modelCommitment.ts";
import { decodeToken, type ExecutionContext, replayExecution } from "./replay.ts";
import { paramsHashOf, promptHashOf } from "./requestCommitments.ts";
import { type Hash32, leafHash, OP, TraceTree } from "./trace.ts";

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

const weightsRoots = new WeakMap<IntModel, Hex>();

/**
 * A model's weights root, computed once per model: it hashes every weight (≈ 25 ms of a tiny model's
 * 60 ms re-execution with the pure keccak), and a fisherman re-executes thousands of requests on one
 * model. Models are never changed once loaded; any keccak-256 implementation gives the same root.
 */
export function weightsRoot(model: IntModel, hash: Hash32 = keccak256): Hex {
  let root = weightsRoots.get(model);
  if (!root) {
    root = modelRoot(model, hash);
    weightsRoots.set(model, root);
  }
  return root;
}

/**
 * Runs a request on the verifiable engine, honestly or with a fault injected at one step (a cheating
 * worker whose trace and output both follow from the fault), and derives the receipt's commitments.
 * `hash`: the keccak-256 to hash the trace with (the shell passes a native one: the same hashes, faster).
 */
export function verifiableGeneration(
  model: IntModel,
  context: ExecutionContext,
  outputTokens: number,
  fault: Fault | null = null,
  hash: Hash32 = keccak256,
): VerifiableGeneration {
  const t = new IntTransformer(model, hash);
  t.fault = fault;
  const { steps } = replayExecution(model, context, context.prompt.length + outputTokens - 1, t);
  const generated = steps
    .filter((s) => s.id.op === OP.SAMPLE && s.id.pos + 1 >= context.prompt.length)
    .map((s) => decodeToken(s.output));
  const tree = new TraceTree(
    steps.map((s) => leafHash(s.id, s.output, hash)),
    hash,
  );
  return {
    outputs: steps.map((s) => s.output),
    tree,
    generated,
    fields: {
      weightsHash: weightsRoot(model, hash),
      promptHash: bytesToHex(promptHashOf(context.prompt)),
      paramsHash: bytesToHex(paramsHashOf(context.sampling)),
      outputHash: bytesToHex(promptHashOf(generated)),
      traceRoot: bytesToHex(tree.root),
      inputTokens: context.prompt.length,
      outputTokens,
    },
  };
}
