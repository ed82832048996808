/**
 * The circuit computes exactly intOps.ts's matmulRows and slice.ts's commitment: its one public signal
 * equals sliceCommitment of the values the TypeScript engine computed (the commitment covers the
 * outputs, so equal commitments mean equal outputs) — on random slices at the spec's bounds (negative
 * values, saturation, rounding ties, every shift) and on real steps of a ts-int generation.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { wtns } from "snarkjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PRESETS } from "../engine/llama2c/generateModel.ts";
import { generatedIntModel } from "../engine/llama2c/modelFiles.ts";
import { createRng, type Rng } from "../protocol/rng/prng.ts";
import {
  SLICE_INPUTS,
  SLICE_OPS,
  SLICE_ROWS,
  type SliceValues,
  sliceCommitment,
  sliceOf,
  sliceValues,
  tracedSlice,
} from "../protocol/spotcheck/slice.ts";
import type { IntModel, QuantMatrix } from "../protocol/verifiable/intModel.ts";
import { replayExecution } from "../protocol/verifiable/replay.ts";
import { BUILD_DIR, type CompiledCircuit, ensureCompiled, TEMPLATE } from "./circuit.ts";
import { circuitInput, computeWitness } from "./witness.ts";

let circuit: CompiledCircuit;
let dir: string;
beforeAll(async () => {
  circuit = await ensureCompiled();
  dir = mkdtempSync(join(tmpdir(), "verinfer-zk-"));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The circuit's commitment for a slice (witness signal 1, the only public output). */
async function circuitCommitment(v: SliceValues): Promise<bigint> {
  const file = join(dir, "w.wtns");
  await computeWitness(circuit, circuitInput(v), file);
  return (await wtns.exportJson(file))[1] as bigint;
}

const int = (rng: Rng, lo: number, hi: number) => lo + rng.int(hi - lo + 1);

/** A random matrix of SLICE_ROWS rows over n columns, values drawn by `q`, scales by `scale`. */
function matrix(n: number, q: () => number, scale: () => number): QuantMatrix {
  return {
    rows: SLICE_ROWS,
    cols: n,
    q: Int8Array.from({ length: SLICE_ROWS * n }, q),
    scale: Int32Array.from({ length: SLICE_ROWS }, scale),
  };
}

describe("the circuit equals the TypeScript engine", () => {
  it("on random slices: full range, negative values, every shift, short inputs", async () => {
    const rng = createRng(11);
    for (let i = 0; i < 6; i++) {
      const n = i % 3 === 2 ? int(rng, 1, SLICE_INPUTS) : SLICE_INPUTS;
      const w = matrix(
        n,
        () => int(rng, -127, 127),
        () => rng.int(2 ** 22),
      );
      const a = Int16Array.from({ length: n }, () => int(rng, -32767, 32767));
      const v = sliceValues(w, a, i % 11, 0);
      expect(await circuitCommitment(v)).toBe(sliceCommitment(v));
    }
  }, 120_000);

  it("at the bounds: saturation both ways, the largest accumulator, zero rows", async () => {
    const n = SLICE_INPUTS;
    // Row 0 saturates upward, row 1 downward, row 2 is a zero row (scale 0).
    const w: QuantMatrix = {
      rows: 3,
      cols: n,
      q: Int8Array.from({ length: 3 * n }, (_, i) => (i < n ? 127 : i < 2 * n ? -127 : 0)),
      scale: Int32Array.of(2 ** 22 - 1, 2 ** 22 - 1, 0),
    };
    for (const k of [0, 10, 15]) {
      const a = new Int16Array(n).fill(32767);
      const v = sliceValues(w, a, k, 0);
      expect(Math.abs(v.y[0] as number)).toBe(2 ** 24 - 1);
      expect(v.y[1]).toBe(-(2 ** 24 - 1));
      expect(await circuitCommitment(v)).toBe(sliceCommitment(v));
    }
  }, 120_000);

  it("on rounding ties of both shifts, positive and negative", async () => {
    // acc = ±128 + 256·m is a tie of the first rounding (half up: −128 rounds to 0, +128 to 1); with
    // scale 2^15 and k = 0, p = t·2^15 is a tie of the second for odd t.
    for (const acc of [128, -128, 384, -384, 127, -129]) {
      const w = matrix(
        1,
        () => 1,
        () => 2 ** 15,
      );
      const v = sliceValues(w, Int16Array.of(acc), 0, 0);
      expect(await circuitCommitment(v)).toBe(sliceCommitment(v));
    }
  }, 120_000);
});

function modelOf(seed: number): IntModel {
  return generatedIntModel(PRESETS.tiny as NonNullable<(typeof PRESETS)["tiny"]>, seed);
}

describe("real steps of a ts-int generation", () => {
  it("every slice operation, the slice's outputs equal the trace's", async () => {
    const model = modelOf(5);
    const context = { prompt: [1, 17, 42], sampling: { temperature: 0.8, topP: 0.9, seed: 3 } };
    const { steps } = replayExecution(model, context, 5);
    const rng = createRng(2);
    for (const [i, { op }] of SLICE_OPS.entries()) {
      // A selector that picks this operation: the slice ids come from successive remainders.
      let id = sliceOf(model.shape, 5, BigInt(rng.int(2 ** 30)));
      while (id.op !== op) id = sliceOf(model.shape, 5, BigInt(rng.int(2 ** 30)) * BigInt(i + 1));
      const outputs = steps.map((s) => s.output);
      const { values: v, outputIndex } = tracedSlice(model, outputs, id);
      const output = outputs[outputIndex] as Uint8Array;
      const traced = new DataView(output.buffer, output.byteOffset);
      expect(v.y).toEqual(v.y.map((_, r) => traced.getInt32(4 * (id.row0 + r), true)));
      expect(await circuitCommitment(v)).toBe(sliceCommitment(v));
    }
  }, 180_000);
});

describe("compiling", () => {
  it("several compiles of one instance at once each end with whole files, and leave nothing behind", async () => {
    // As a devnet's workers on a fresh checkout do (they once read each other's half-written files).
    const shape = { n: 16, rows: SLICE_ROWS };
    const name = `concurrent_${process.pid}`;
    const compiled = await Promise.all([1, 2, 3].map(() => ensureCompiled(shape, TEMPLATE, name)));
    try {
      for (const c of compiled) expect(c).toEqual(compiled[0]);
      const c = compiled[0] as CompiledCircuit;
      expect(readFileSync(join(BUILD_DIR, `${name}.source`), "utf8")).toBe(c.sourceHash);
      // The compiled circuit works: it computes a witness.
      const v = sliceValues(
        matrix(
          16,
          () => 3,
          () => 1 << 16,
        ),
        Int16Array.from({ length: 16 }, (_, i) => i - 8),
        2,
        0,
      );
      await computeWitness(c, circuitInput(v, shape), join(dir, "c.wtns"));
      expect((await wtns.exportJson(join(dir, "c.wtns"))).length).toBeGreaterThan(1);
      expect(readdirSync(BUILD_DIR).filter((f) => f.startsWith(`.${name}-`))).toEqual([]);
    } finally {
      for (const f of readdirSync(BUILD_DIR).filter((f) => f.startsWith(name)))
        rmSync(join(BUILD_DIR, f), { recursive: true, force: true });
    }
  }, 180_000);
});
