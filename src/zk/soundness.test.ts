/**
 * Under-constrained circuits are the most common ZK bug, so these tests attack the circuit: every
 * witness a malicious prover could choose differently must violate a constraint.
 *
 * - Out-of-range inputs (an int16 past ±2^15, an int8 weight past ±2^7, a scale of 2^22, a shift of 16)
 *   fail the range checks.
 * - Mutants: the only values the circuit takes on the prover's word are its two quotient hints (the
 *   rounding quotients t and y0; every other signal is a product or sum of constrained ones, or a bit of
 *   circomlib's decompositions). Each mutant template replaces one hint by an off-by-one or a truncated
 *   (round-toward-zero) quotient; circom then builds the rest of the witness around the wrong value, and
 *   the constraints must refuse it on inputs where the hint matters.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SLICE_INPUTS, SLICE_ROWS, type SliceValues, sliceValues } from "../protocol/spotcheck/slice.ts";
import type { QuantMatrix } from "../protocol/verifiable/intModel.ts";
import { BUILD_DIR, type CompiledCircuit, ensureCompiled, TEMPLATE } from "./circuit.ts";
import { circuitInput, computeWitness } from "./witness.ts";

let dir: string;
let circuit: CompiledCircuit;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "verinfer-zk-soundness-"));
  circuit = await ensureCompiled();
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An honest slice over `n` inputs whose rows exercise rounding in both shifts and saturation. */
function honest(n: number): SliceValues {
  const w: QuantMatrix = {
    rows: SLICE_ROWS,
    cols: n,
    q: Int8Array.from({ length: SLICE_ROWS * n }, (_, i) => ((i * 37) % 255) - 127),
    scale: Int32Array.of(3_000_001, 2 ** 22 - 1, 2 ** 15),
  };
  const a = Int16Array.from({ length: n }, (_, j) => ((j * 7919) % 65535) - 32767);
  return sliceValues(w, a, 3, 0);
}

/**
 * A slice that ties both roundings in row 0 (acc = 128: t = 1 half up; p = 2^13 with k = 2: y0 = 1 half
 * up) and saturates row 1 upward and row 2 downward, so every hint mutant meets a case it gets wrong.
 */
function ties(n: number): SliceValues {
  const w: QuantMatrix = {
    rows: SLICE_ROWS,
    cols: n,
    q: Int8Array.from({ length: SLICE_ROWS * n }, (_, i) =>
      i === 0 ? 1 : i < n ? 0 : i < 2 * n ? 127 : -127,
    ),
    scale: Int32Array.of(2 ** 13, 2 ** 22 - 1, 2 ** 22 - 1),
  };
  const v = sliceValues(
    w,
    Int16Array.from({ length: n }, (_, j) => (j === 0 ? 128 : 32767)),
    2,
    0,
  );
  if (v.y[0] !== 1 || v.y[1] !== 2 ** 24 - 1 || v.y[2] !== -(2 ** 24 - 1))
    throw new Error("not the intended slice");
  return v;
}

const witnessFails = async (c: CompiledCircuit, input: Record<string, unknown>) => {
  let failure: unknown = null;
  try {
    await computeWitness(c, input, join(dir, "bad.wtns"));
  } catch (error) {
    failure = error;
  }
  return failure !== null;
};

describe("range checks refuse out-of-range inputs", () => {
  const v = honest(SLICE_INPUTS);
  const cases: [string, (input: Record<string, unknown>) => void][] = [
    ["an input of 2^15", (i) => ((i.a as string[])[5] = String(2 ** 15))],
    ["an input below −2^15", (i) => ((i.a as string[])[0] = String(-(2 ** 15) - 1))],
    ["a weight of 128", (i) => ((i.q as string[][])[1] as string[]).splice(2, 1, "128")],
    ["a weight of −129", (i) => ((i.q as string[][])[0] as string[]).splice(0, 1, "-129")],
    ["a scale of 2^22", (i) => ((i.scale as string[])[2] = String(2 ** 22))],
    ["a negative scale", (i) => ((i.scale as string[])[0] = "-1")],
    ["a shift of 16", (i) => (i.k = "16")],
  ];
  it("the honest slice passes", async () => {
    expect(await witnessFails(circuit, circuitInput(v))).toBe(false);
  }, 60_000);
  for (const [name, tamper] of cases)
    it(`refuses ${name}`, async () => {
      const input = circuitInput(v);
      tamper(input);
      expect(await witnessFails(circuit, input)).toBe(true);
    }, 60_000);
});

describe("mutated quotient hints are refused", () => {
  const HINTS = {
    t: "signal t <-- (acc + 128 + (1 << 40)) \\ 256 - (1 << 32);",
    y0: "signal y0 <-- (pShifted + 32768 + (1 << 80)) \\ 65536 - (1 << 64);",
  };
  const mutants: [string, string, string][] = [
    ["t + 1", HINTS.t, "signal t <-- (acc + 128 + (1 << 40)) \\ 256 - (1 << 32) + 1;"],
    ["t − 1", HINTS.t, "signal t <-- (acc + 128 + (1 << 40)) \\ 256 - (1 << 32) - 1;"],
    ["t rounded half down", HINTS.t, "signal t <-- (acc + 127 + (1 << 40)) \\ 256 - (1 << 32);"],
    ["y0 + 1", HINTS.y0, "signal y0 <-- (pShifted + 32768 + (1 << 80)) \\ 65536 - (1 << 64) + 1;"],
    ["y0 − 1", HINTS.y0, "signal y0 <-- (pShifted + 32768 + (1 << 80)) \\ 65536 - (1 << 64) - 1;"],
    ["y0 rounded half down", HINTS.y0, "signal y0 <-- (pShifted + 32767 + (1 << 80)) \\ 65536 - (1 << 64);"],
  ];
  const source = readFileSync(TEMPLATE, "utf8");
  it("the hints the mutants replace are the template's", () => {
    for (const hint of Object.values(HINTS)) expect(source).toContain(hint);
  });
  const shape = { n: 16, rows: SLICE_ROWS };
  for (const [name, hint, mutant] of mutants)
    it(`refuses the witness with ${name}`, async () => {
      const mutants = join(BUILD_DIR, "mutants");
      mkdirSync(mutants, { recursive: true });
      const file = join(mutants, `${name.replace(/\W+/g, "_")}.circom`);
      writeFileSync(file, source.replace(hint, mutant));
      const c = await ensureCompiled(shape, file, `mutant_${name.replace(/\W+/g, "_")}`);
      const honestInput = circuitInput(ties(shape.n), shape);
      // The honest circuit takes these inputs; each mutant must fail on them (ties included).
      expect(await witnessFails(await ensureCompiled(shape), honestInput)).toBe(false);
      expect(await witnessFails(c, honestInput)).toBe(true);
    }, 120_000);
});
