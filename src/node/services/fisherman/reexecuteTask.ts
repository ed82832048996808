/**
 * Worker-thread task: the fisherman's re-execution of sampled receipts on the verifiable engine,
 * answering each one's trace root. Off the fisherman's main thread, a re-execution (a tiny model's
 * 40 ms, stories15M's seconds) no longer holds up its game moves, obligations and HTTP; and at the
 * workers' lowered niceness it takes no more of cores it shares with them than their own generations
 * do. At niceness 0 beside workers at 10, it got about nine times their share of a core, and the
 * clients' answers waited on it (docs/reproductions/otr.md). Loaded by src/parallel's pool.
 */
import { setPriority } from "node:os";
import { fastKeccak256 } from "../../../crypto/nativeSecp256k1.ts";
import type { Hex } from "../../../protocol/encoding/hex.ts";
import type { IntModel } from "../../../protocol/verifiable/intModel.ts";
import type { ExecutionContext } from "../../../protocol/verifiable/replay.ts";
import { verifiableGeneration } from "../../../protocol/verifiable/verifiableGeneration.ts";

/** What the thread starts with: the model (copied into the thread once) and its niceness. */
export interface ReexecuteData {
  readonly model: IntModel;
  /** 0–19; Linux keeps a niceness per thread, so only this thread yields. */
  readonly nice: number;
}

/** One receipt to re-execute: its request's context and the number of tokens it claims. */
export interface ReexecuteJob {
  readonly context: ExecutionContext;
  readonly outputTokens: number;
}

export function setup({ model, nice }: ReexecuteData) {
  if (nice > 0) setPriority(0, nice);
  const keccak = fastKeccak256();
  return (jobs: readonly ReexecuteJob[]): Hex[] =>
    jobs.map(
      (job) => verifiableGeneration(model, job.context, job.outputTokens, null, keccak).fields.traceRoot,
    );
}
