/**
 * The cheats a devnet worker can play (`--adversary`), each a receipt that is validly signed by a
 * registered, attested, staked worker — so it passes every check the gateway can make — but commits
 * to a trace that re-execution does not reproduce, which a fisherman disputes and wins:
 *
 * - `wrong-output`: the forward pass is faulted at one step; tokens, trace and receipt follow from it.
 * - `downgrade`: the request runs on a cheaper model (other weights) while the receipt claims the
 *   registered weights (with an honest TEE the receipt would name the real weights and the gateway
 *   refuses it at admission, RECEIPT_MODEL_MISMATCH; this is the compromised-TEE variant).
 * - `lazy`: nothing runs; the answer is seeded noise under a made-up trace root.
 * - `leaked-key`: the enclave's key has leaked. The TEE keeps serving honestly, but whoever holds the
 *   key answers half the requests (chosen by request id) with seeded noise under a made-up trace root,
 *   signed with the worker's registered, attested key: the signature and the attestation say nothing
 *   about where a receipt was made, so only re-execution (or a spot-check) tells the two apart.
 * - `withholding`: `wrong-output`'s faulted pass, and the worker keeps what it served to itself: its
 *   /v1/traces answers 404 for the requests it cheated on, hoping nobody can re-execute them. The
 *   fisherman re-executes from the gateway's copy of the request instead.
 */
import type { Hex } from "../../../protocol/encoding/hex.ts";
import { bytesToHex } from "../../../protocol/encoding/hex.ts";
import { keccakUtf8 } from "../../../protocol/encoding/keccak.ts";
import type { Receipt } from "../../../protocol/receipt/receipt.ts";
import { createRng } from "../../../protocol/rng/prng.ts";
import type { IntModel } from "../../../protocol/verifiable/intModel.ts";
import type { Fault } from "../../../protocol/verifiable/intTransformer.ts";
import { modelRoot } from "../../../protocol/verifiable/modelCommitment.ts";
import type { ExecutionContext } from "../../../protocol/verifiable/replay.ts";
import { paramsHashOf, promptHashOf } from "../../../protocol/verifiable/requestCommitments.ts";
import { OP } from "../../../protocol/verifiable/trace.ts";
import { verifiableGeneration } from "../../../protocol/verifiable/verifiableGeneration.ts";

/** The adversaries a devnet worker can play. */
export const WORKER_ADVERSARIES = [
  "none",
  "wrong-output",
  "downgrade",
  "lazy",
  "leaked-key",
  "withholding",
] as const;
export type WorkerAdversary = (typeof WORKER_ADVERSARIES)[number];

/** One activation of layer 0's W2 output at position 1 pushed far off (changes the tokens after it). */
const WRONG_OUTPUT_FAULT: Fault = { pos: 1, layer: 0, op: OP.W2, index: 5, delta: 400_000 };

/** The receipt fields a generation determines. */
export type GenerationFields = Pick<
  Receipt,
  "weightsHash" | "promptHash" | "paramsHash" | "outputHash" | "traceRoot" | "inputTokens" | "outputTokens"
>;

/** Whether a worker playing `adversary` cheats on this request (a leaked key is used for half of them). */
export function cheatsOn(adversary: WorkerAdversary, requestId: Hex): boolean {
  if (adversary === "leaked-key") return createRng(keccakUtf8(`leaked key ${requestId}`)).float() < 0.5;
  return adversary !== "none";
}

/** Whether the worker's own TEE is honest (it defends its receipts and proves its spot-checks). */
export const teeHonest = (adversary: WorkerAdversary) => adversary === "none" || adversary === "leaked-key";

/** What a cheat signs and answers instead of the honest result. */
export function cheat(
  adversary: Exclude<WorkerAdversary, "none">,
  models: { readonly registered: IntModel; readonly cheap: () => IntModel },
  context: ExecutionContext,
  outputTokens: number,
  requestId: Hex,
): { fields: GenerationFields; generated: number[] } {
  switch (adversary) {
    case "wrong-output":
    case "withholding": {
      const g = verifiableGeneration(models.registered, context, outputTokens, WRONG_OUTPUT_FAULT);
      return { fields: g.fields, generated: [...g.generated] };
    }
    case "downgrade": {
      const g = verifiableGeneration(models.cheap(), context, outputTokens);
      return {
        fields: { ...g.fields, weightsHash: modelRoot(models.registered) },
        generated: [...g.generated],
      };
    }
    case "lazy":
    case "leaked-key": {
      const rng = createRng(requestId);
      const vocab = models.registered.shape.vocabSize;
      const generated = Array.from({ length: outputTokens }, () => 3 + rng.int(vocab - 3));
      return {
        fields: {
          weightsHash: modelRoot(models.registered),
          promptHash: bytesToHex(promptHashOf(context.prompt)),
          paramsHash: bytesToHex(paramsHashOf(context.sampling)),
          outputHash: bytesToHex(promptHashOf(generated)),
          traceRoot: keccakUtf8(`no trace: ${requestId}`),
          inputTokens: context.prompt.length,
          outputTokens,
        },
        generated,
      };
    }
  }
}
