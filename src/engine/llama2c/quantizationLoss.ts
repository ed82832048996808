/**
 * What the verifiable integer engine costs in quality against the float32 path on one checkpoint:
 * both engines are teacher-forced with the float engine's greedy tokens from BOS, and at every position
 * we compare the argmax and the logits (integer logits are Q16).
 */

import { VerinferError } from "../../errors.ts";
import { IntTransformer } from "../../protocol/verifiable/intTransformer.ts";
import type { Checkpoint } from "./checkpoint.ts";
import { FloatTransformer } from "./floatTransformer.ts";
import { quantizeCheckpoint } from "./modelFiles.ts";

/** The comparison over `positions` positions. */
export interface QuantizationLoss {
  readonly positions: number;
  /** Positions where both engines pick the same greedy token. */
  readonly greedyAgreement: number;
  readonly meanAbsLogitError: number;
  readonly maxAbsLogitError: number;
  /** Mean |float logit|, to read the errors against. */
  readonly meanAbsLogit: number;
}

const BOS = 1;

/** Compares the integer engine with the float engine on `checkpoint` (named `source` in errors) over `positions` positions. */
export function quantizationLoss(
  checkpoint: Checkpoint,
  source: string,
  positions: number,
  onPosition?: (done: number) => void,
): QuantizationLoss {
  if (!Number.isInteger(positions) || positions < 1 || positions > checkpoint.config.seqLen)
    throw new VerinferError(
      "GENERATION_INVALID",
      `positions must be an integer from 1 to the model's context (${checkpoint.config.seqLen}), got ${positions}`,
    );
  const float = new FloatTransformer(checkpoint);
  const integer = new IntTransformer(quantizeCheckpoint(checkpoint, source));
  let token = BOS;
  let agree = 0;
  let errorSum = 0;
  let errorMax = 0;
  let magnitude = 0;
  let n = 0;
  for (let pos = 0; pos < positions; pos++) {
    const lf = float.forward(token, pos);
    const li = integer.forward(token, pos);
    let bestFloat = 0;
    let bestInt = 0;
    for (let i = 0; i < lf.length; i++) {
      const f = lf[i] as number;
      if (f > (lf[bestFloat] as number)) bestFloat = i;
      if ((li[i] as number) > (li[bestInt] as number)) bestInt = i;
      const e = Math.abs(f - (li[i] as number) / 65536);
      errorSum += e;
      errorMax = Math.max(errorMax, e);
      magnitude += Math.abs(f);
      n++;
    }
    if (bestFloat === bestInt) agree++;
    token = bestFloat;
    onPosition?.(pos + 1);
  }
  return {
    positions,
    greedyAgreement: agree,
    meanAbsLogitError: errorSum / n,
    maxAbsLogitError: errorMax,
    meanAbsLogit: magnitude / n,
  };
}
