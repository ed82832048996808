/**
 * What a verifiable worker's receipt commits to about the request, so that a dispute's one-step check
 * can rebuild the execution context (spec v2 §5, docs/spec/otr.md §4.1):
 *
 *   promptHash = keccak256(prompt token ids as u32 little-endian, BOS first)
 *   paramsHash = keccak256(temperature in thousandths u32 ‖ top-p in 2^-16 u32 ‖ seed u32)   (big-endian)
 *   leaves     = stepsPerPosition × (inputTokens + outputTokens − 1)
 *
 * where outputTokens counts every token sampled after the prompt, an end-of-sequence token included,
 * so the trace's length follows from the receipt alone.
 */
import { keccak256 } from "../encoding/keccak.ts";
import type { ExecutionContext } from "./replay.ts";
import { stepsPerPosition } from "./trace.ts";

/** keccak256 of the prompt's token ids (u32 little-endian). */
export function promptHashOf(prompt: readonly number[], hash = keccak256): Uint8Array {
  const bytes = new Uint8Array(4 * prompt.length);
  const view = new DataView(bytes.buffer);
  prompt.forEach((t, i) => {
    view.setUint32(4 * i, t, true);
  });
  return hash(bytes);
}

/** The sampling parameters in the integer units sampling uses. */
export function samplingUnits(s: ExecutionContext["sampling"]) {
  return {
    temperatureMilli: Math.round(s.temperature * 1000),
    topP16: Math.round(s.topP * 65536),
    seed: s.seed,
  };
}

/** keccak256 of the sampling parameters in integer units. */
export function paramsHashOf(s: ExecutionContext["sampling"], hash = keccak256): Uint8Array {
  const u = samplingUnits(s);
  const bytes = new Uint8Array(12);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, u.temperatureMilli);
  view.setUint32(4, u.topP16);
  view.setUint32(8, u.seed);
  return hash(bytes);
}

/** The number of leaves of a verifiable worker's trace for a receipt's token counts. */
export function traceLeafCount(
  shape: { readonly nLayers: number; readonly vocabSize: number },
  inputTokens: number,
  outputTokens: number,
): number {
  return stepsPerPosition(shape) * (inputTokens + Math.max(outputTokens, 1) - 1);
}
