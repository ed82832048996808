/**
 * Verifiers are sound: an honest worker is never convicted. Whatever single field of an honest trace is
 * changed, the audit says valid (the field means nothing), TRACE_MALFORMED naming the field, or a
 * divergence whose claimed and re-executed leaves differ; and whatever evidence a challenger hands a
 * one-step or chunk check of an honest claim, the verdict is never TRACE_MISMATCH.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PRESETS } from "../../engine/llama2c/generateModel.ts";
import { generatedIntModel } from "../../engine/llama2c/modelFiles.ts";
import { bytesToHex } from "../encoding/hex.ts";
import { auditTrace, type ClaimedTrace } from "./auditTrace.ts";
import type { IntModel } from "./intModel.ts";
import { modelRoot } from "./modelCommitment.ts";
import {
  checkMatmulChunk,
  checkStep,
  type ExecutionContext,
  inputsOf,
  matmulOf,
  replayExecution,
} from "./replay.ts";
import { leafHash, merkleRoot, type StepId, stepAt, stepLabel } from "./trace.ts";

const models = [1, 2].map((seed): IntModel => {
  return generatedIntModel(PRESETS.tiny!, seed);
});
const VOCAB = PRESETS.tiny!.vocabSize;

/** An honest worker's trace: the prompt, then `generated` tokens sampled with `sampling`. */
function honestTrace(model: IntModel, run: Run): ClaimedTrace {
  const context = { prompt: run.prompt, sampling: run.sampling };
  const { steps, tokens } = replayExecution(model, context, run.prompt.length + run.generated);
  const leaves = steps.map((s) => leafHash(s.id, s.output));
  return {
    root: bytesToHex(merkleRoot(leaves)),
    modelRoot: modelRoot(model),
    tokens,
    promptTokens: run.prompt.length,
    sampling: run.sampling,
    steps: steps.map((s) => s.id),
    leaves,
  };
}

interface Run {
  readonly prompt: number[];
  readonly generated: number;
  readonly sampling: ExecutionContext["sampling"];
}

const runArb: fc.Arbitrary<Run> = fc.record({
  prompt: fc.array(fc.integer({ min: 0, max: VOCAB - 1 }), { minLength: 1, maxLength: 3 }),
  generated: fc.integer({ min: 0, max: 2 }),
  sampling: fc.record({
    temperature: fc.constantFrom(0, 0.8, 1.5),
    topP: fc.constantFrom(1, 0.9),
    seed: fc.integer({ min: 0, max: 5 }),
  }),
});
const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

/** One change to one field of a trace. */
type Mutation =
  | { kind: "root" | "modelRoot"; bytes: Uint8Array }
  | { kind: "token"; at: number; value: number }
  | { kind: "tokens-longer" | "tokens-shorter" }
  | { kind: "promptTokens"; value: number }
  | { kind: "sampling"; key: "temperature" | "topP" | "seed"; value: number }
  | { kind: "label"; at: number; key: "pos" | "layer" | "op" | "part"; value: number }
  | { kind: "steps-drop" | "steps-dup"; at: number }
  | { kind: "leaf"; at: number; bit: number }
  // Not a single field: a worker whose step output was wrong, with a consistent root (a real cheat).
  | { kind: "cheat"; at: number; bit: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom("root" as const, "modelRoot" as const), bytes: hash32 }),
  fc.record({
    kind: fc.constant("token" as const),
    at: fc.nat(),
    value: fc.integer({ min: -2, max: VOCAB + 2 }),
  }),
  fc.record({ kind: fc.constantFrom("tokens-longer" as const, "tokens-shorter" as const) }),
  fc.record({ kind: fc.constant("promptTokens" as const), value: fc.integer({ min: -1, max: 7 }) }),
  fc.record({
    kind: fc.constant("sampling" as const),
    key: fc.constantFrom("temperature" as const, "topP" as const, "seed" as const),
    value: fc.oneof(fc.double({ min: -1, max: 3, noNaN: true }), fc.integer({ min: -2, max: 9 })),
  }),
  fc.record({
    kind: fc.constant("label" as const),
    at: fc.nat(),
    key: fc.constantFrom("pos" as const, "layer" as const, "op" as const, "part" as const),
    value: fc.integer({ min: 0, max: 300 }),
  }),
  fc.record({ kind: fc.constantFrom("steps-drop" as const, "steps-dup" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constantFrom("leaf" as const, "cheat" as const),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 255 }),
  }),
);

function mutate(t: ClaimedTrace, m: Mutation): ClaimedTrace {
  const n = t.leaves.length;
  switch (m.kind) {
    case "root":
    case "modelRoot":
      return { ...t, [m.kind]: bytesToHex(m.bytes) };
    case "token":
      return { ...t, tokens: t.tokens.map((x, i) => (i === m.at % t.tokens.length ? m.value : x)) };
    case "tokens-longer":
      return { ...t, tokens: [...t.tokens, 1] };
    case "tokens-shorter":
      return { ...t, tokens: t.tokens.slice(0, -1) };
    case "promptTokens":
      return { ...t, promptTokens: m.value };
    case "sampling":
      return { ...t, sampling: { ...t.sampling, [m.key]: m.value } };
    case "label":
      return { ...t, steps: t.steps.map((s, i) => (i === m.at % n ? { ...s, [m.key]: m.value } : s)) };
    case "steps-drop":
      return { ...t, steps: t.steps.filter((_, i) => i !== m.at % n) };
    case "steps-dup":
      return { ...t, steps: t.steps.flatMap((s, i) => (i === m.at % n ? [s, s] : [s])) };
    case "leaf":
    case "cheat": {
      const leaves = t.leaves.map((l, i) => {
        if (i !== m.at % n) return l;
        const c = Uint8Array.from(l);
        c[m.bit % 32] = (c[m.bit % 32] as number) ^ (1 << (m.bit % 8));
        return c;
      });
      return m.kind === "leaf" ? { ...t, leaves } : { ...t, leaves, root: bytesToHex(merkleRoot(leaves)) };
    }
  }
}

/** The top-level field a mutation touches, as a TRACE_MALFORMED verdict may name it. */
const FIELD: Record<Mutation["kind"], RegExp> = {
  root: /^root$/,
  modelRoot: /^modelRoot$/,
  token: /^tokens(\.\d+)?$/,
  "tokens-longer": /^(tokens|steps)$/,
  "tokens-shorter": /^(tokens|steps|promptTokens)$/,
  promptTokens: /^(promptTokens|tokens\.\d+)$/,
  sampling: /^sampling\.(temperature|topP|seed)$/,
  label: /^steps\.\d+\.(pos|layer|op|part)$/,
  "steps-drop": /^steps$/,
  "steps-dup": /^steps$/,
  leaf: /^root$/,
  cheat: /^$/,
};

describe("trace audit soundness", () => {
  it("an unmodified trace is always valid", () => {
    fc.assert(
      fc.property(fc.constantFrom(...models), runArb, (model, run) => {
        expect(auditTrace(model, honestTrace(model, run))).toMatchObject({
          ok: true,
          value: { valid: true },
        });
      }),
      { numRuns: 25, seed: 1 },
    );
  });

  it("a single changed field gives valid, TRACE_MALFORMED naming it, or a divergence whose leaves differ", () => {
    fc.assert(
      fc.property(fc.constantFrom(...models), runArb, mutationArb, (model, run, m) => {
        const honest = honestTrace(model, run);
        const v = auditTrace(model, mutate(honest, m));
        if (!v.ok) {
          if (v.error.code === "TRACE_MODEL_MISMATCH") expect(m.kind).toBe("modelRoot");
          else {
            expect(v.error.code).toBe("TRACE_MALFORMED");
            expect(String(v.error.meta.field)).toMatch(FIELD[m.kind]);
            expect(v.error.message).toContain(`field ${v.error.meta.field}`);
          }
          return;
        }
        const d = v.value.firstDivergence;
        if (d === null) return;
        // A conviction only where the committed leaf really differs from the re-execution, and only for a
        // change to what the execution was (its prompt, the sampling parameters: in a receipt these are
        // bound by promptHash and paramsHash) or to what it claims (a leaf under its own root).
        expect(["token", "promptTokens", "sampling", "cheat"]).toContain(m.kind);
        expect(d.claimedLeaf).not.toBe(d.replayedLeaf);
        expect(stepLabel(stepAt(model.shape, d.index))).toBe(d.step);
      }),
      { numRuns: 150, seed: 2 },
    );
  });

  it("the pos label of one step changed: TRACE_MALFORMED naming it, no divergent step", () => {
    const model = models[0] as IntModel;
    const t = honestTrace(model, {
      prompt: [1, 72, 101, 108],
      generated: 1,
      sampling: { temperature: 0, topP: 1, seed: 0 },
    });
    const steps = t.steps.map((s, i) => (i === 100 ? { ...s, pos: s.pos + 1 } : s));
    expect(auditTrace(model, { ...t, steps })).toMatchObject({
      ok: false,
      error: { code: "TRACE_MALFORMED", meta: { field: "steps.100.pos" } },
    });
  });

  it("derives every step from its leaf index", () => {
    for (const model of models) {
      const steps = replayExecution(
        model,
        { prompt: [1, 5, 9], sampling: { temperature: 1, topP: 1, seed: 3 } },
        5,
      ).steps;
      expect(steps.map((_, i) => stepLabel(stepAt(model.shape, i)))).toEqual(
        steps.map((s) => stepLabel(s.id)),
      );
    }
  });
});

describe("one-step and chunk check soundness", () => {
  const model = models[0] as IntModel;
  // Two prompt positions and two sampled ones: every kind of step, SAMPLE on logits included.
  const context: ExecutionContext = { prompt: [1, 72], sampling: { temperature: 0.8, topP: 0.9, seed: 4 } };
  const steps = replayExecution(model, context, 4).steps;
  const leaves = steps.map((s) => leafHash(s.id, s.output));
  const index = new Map(steps.map((s, i) => [stepLabel(s.id), i]));
  const producersOf = (id: StepId) =>
    inputsOf(id, model.shape, context.prompt.length).map((p) => index.get(stepLabel(p)) as number);

  /** A challenger's evidence for step `i`: honest, then changed in one way. */
  const evidenceChange = fc.oneof(
    fc.constant({ kind: "none" as const }),
    fc.record({ kind: fc.constant("drop-input" as const) }),
    fc.record({ kind: fc.constant("extra-input" as const) }),
    fc.record({ kind: fc.constant("flip-input" as const), at: fc.nat(), byte: fc.nat() }),
    fc.record({ kind: fc.constant("flip-input-leaf" as const), at: fc.nat(), byte: fc.nat() }),
    // The context is bound (the receipt's promptHash and paramsHash); what a checker can be handed is a
    // prompt that names no tokens of the model.
    fc.record({
      kind: fc.constant("prompt" as const),
      value: fc.oneof(
        fc.integer({ min: -3, max: -1 }),
        fc.integer({ min: VOCAB, max: VOCAB + 3 }),
        fc.constant(0.5),
      ),
    }),
    fc.record({ kind: fc.constant("truncate-input" as const), at: fc.nat() }),
  );

  it("an honest step's claim is never TRACE_MISMATCH, whatever evidence comes with it", () => {
    fc.assert(
      fc.property(fc.nat({ max: steps.length - 1 }), evidenceChange, (i, change) => {
        const s = steps[i] as (typeof steps)[number];
        const ps = producersOf(s.id);
        let inputs = ps.map((p) => (steps[p] as (typeof steps)[number]).output);
        let inputLeaves = ps.map((p) => leaves[p] as Uint8Array);
        let ctx = context;
        const flip = (arr: Uint8Array[], at: number, byte: number) =>
          arr.map((b, k) => {
            if (k !== at % arr.length) return b;
            const c = Uint8Array.from(b);
            c[byte % c.length] = (c[byte % c.length] as number) ^ 0xff;
            return c;
          });
        if (change.kind === "drop-input") inputs = inputs.slice(1);
        if (change.kind === "extra-input") inputs = [...inputs, new Uint8Array(4)];
        if (change.kind === "flip-input" && inputs.length) inputs = flip(inputs, change.at, change.byte);
        if (change.kind === "flip-input-leaf" && inputs.length)
          inputLeaves = flip(inputLeaves, change.at, change.byte);
        if (change.kind === "truncate-input" && inputs.length)
          inputs = inputs.map((b, k) => (k === change.at % inputs.length ? b.subarray(0, b.length - 1) : b));
        if (change.kind === "prompt")
          ctx = { ...context, prompt: [change.value, ...context.prompt.slice(1)] };
        const v = checkStep(model, s.id, inputs, inputLeaves, ctx, leaves[i] as Uint8Array);
        if (!v.ok) expect(v.error.code, `${stepLabel(s.id)} ${change.kind}`).toBe("TRACE_MALFORMED");
        if (change.kind === "none") expect(v.ok).toBe(true);
      }),
      { numRuns: 400, seed: 3 },
    );
  });

  it("an honest matmul output is never TRACE_MISMATCH in any chunk, whatever input or range is given", () => {
    const matmuls = steps.map((s, i) => ({ s, i })).filter(({ s }) => matmulOf(model, s.id) !== null);
    fc.assert(
      fc.property(
        fc.constantFrom(...matmuls),
        fc.integer({ min: -2, max: 600 }),
        fc.integer({ min: -2, max: 600 }),
        fc.option(fc.nat(), { nil: null }),
        ({ s, i }, r0, r1, flipByte) => {
          const [p] = producersOf(s.id) as [number];
          const input = Uint8Array.from((steps[p] as (typeof steps)[number]).output);
          if (flipByte !== null)
            input[flipByte % input.length] = (input[flipByte % input.length] as number) ^ 0x55;
          const v = checkMatmulChunk(
            model,
            s.id,
            {
              input,
              inputLeaf: leaves[p] as Uint8Array,
              claimedOutput: s.output,
              leaf: leaves[i] as Uint8Array,
            },
            r0,
            r1,
          );
          if (!v.ok) expect(v.error.code).toBe("TRACE_MALFORMED");
          const rows =
            (matmulOf(model, s.id) as { r0: number; r1: number }).r1 -
            (matmulOf(model, s.id) as { r0: number }).r0;
          if (flipByte === null && r0 >= 0 && r0 < r1 && r1 <= rows) expect(v.ok).toBe(true);
        },
      ),
      { numRuns: 400, seed: 4 },
    );
  });
});
