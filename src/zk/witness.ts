/**
 * Circuit inputs and witnesses of a slice. The circuit takes exactly N inputs and R rows: a shorter
 * input and its weight rows are zero-padded, as the commitment (slice.ts) pads them.
 */
import { wtns } from "snarkjs";
import { VerinferError } from "../errors.ts";
import { SLICE_MAX_SHIFT, type SliceValues } from "../protocol/spotcheck/slice.ts";
import { type CircuitShape, type CompiledCircuit, SPOTCHECK_CIRCUIT } from "./circuit.ts";

/** The circuit's input signals for a slice, as decimal strings. */
export function circuitInput(v: SliceValues, c: CircuitShape = SPOTCHECK_CIRCUIT): Record<string, unknown> {
  if (v.a.length > c.n)
    throw new VerinferError("INPUT_INVALID", `a slice input of ${v.a.length} values exceeds ${c.n}`);
  if (v.q.length !== c.rows)
    throw new VerinferError("INPUT_INVALID", `a slice has ${c.rows} rows, got ${v.q.length}`);
  if (!Number.isInteger(v.k) || v.k < 0 || v.k > SLICE_MAX_SHIFT)
    throw new VerinferError("INPUT_INVALID", `input shift ${v.k} outside 0..${SLICE_MAX_SHIFT}`);
  const padded = (values: ArrayLike<number>) =>
    Array.from({ length: c.n }, (_, j) => String(j < values.length ? values[j] : 0));
  return {
    k: String(v.k),
    a: padded(v.a),
    q: v.q.map(padded),
    scale: v.scale.map(String),
  };
}

/** Computes the witness of `input` into the file `out` (the circuit's own constraints checked as it goes). */
export async function computeWitness(
  c: CompiledCircuit,
  input: Record<string, unknown>,
  out: string,
): Promise<void> {
  await wtns.calculate(input, c.wasm, out);
}
