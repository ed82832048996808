/**
 * Verifiers are sound: an honest worker is never convicted. Whatever single field of an honest trace is
 * changed, the audit says valid (the field means nothing), TRACE_MALFORMED naming the field, or a
 * divergence whose claimed and re-executed leaves differ; and whatever evidence a challenger hands a
 * one-step or chunk check of an honest claim, the verdict is never TRACE_MISMATCH.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseCheckpoint } from "../../engine/llama2c/checkpoint.ts";
import { generateCheckpoint, PRESETS } from "../../engine/llama2c/generateModel.ts";
import { bytesToHex } from "../encoding/hex.ts";
import { auditTrace, type ClaimedTrace } from "./auditTrace.ts";
import { type IntModel, quantizeModel } from "./intModel.ts";
import { IntTransformer } from "./intTransformer.ts";
import { modelRoot } from "./modelCommitment.ts";
import { checkMatmulChunk, checkStep, inputsOf, matmulOf, recordSteps } from "./replay.ts";
import { leafHash, merkleRoot, type StepId, stepAt, stepLabel, type TraceRecorder } from "./trace.ts";

const models = [1, 2].map((seed): IntModel => {
  const ck = parseCheckpoint(generateCheckpoint(PRESETS.tiny!, seed));
  if (!ck.ok) throw new Error(ck.error.message);
  const m = quantizeModel(ck.value.config, ck.value.weights);
  if (!m.ok) throw new Error(m.error.message);
  return m.value;
});
const VOCAB = PRESETS.tiny!.vocabSize;

function honestTrace(model: IntModel, tokens: number[]): ClaimedTrace {
  const t = new IntTransformer(model);
  t.reset(true);
  for (const [pos, token] of tokens.entries()) t.forward(token, pos);
  const rec = t.trace as TraceRecorder;
  return {
    root: bytesToHex(rec.root()),
    modelRoot: modelRoot(model),
    tokens,
    steps: rec.ids,
    leaves: rec.leaves,
  };
}

const tokensArb = fc.array(fc.integer({ min: 0, max: VOCAB - 1 }), { minLength: 1, maxLength: 4 });
const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

/** One change to one field of a trace. */
type Mutation =
  | { kind: "root" | "modelRoot"; bytes: Uint8Array }
  | { kind: "token"; at: number; value: number }
  | { kind: "tokens-longer" | "tokens-shorter" }
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
  "tokens-shorter": /^(tokens|steps)$/,
  label: /^steps\.\d+\.(pos|layer|op|part)$/,
  "steps-drop": /^steps$/,
  "steps-dup": /^steps$/,
  leaf: /^root$/,
  cheat: /^$/,
};

describe("trace audit soundness", () => {
  it("an unmodified trace is always valid", () => {
    fc.assert(
      fc.property(fc.constantFrom(...models), tokensArb, (model, tokens) => {
        expect(auditTrace(model, honestTrace(model, tokens))).toMatchObject({
          ok: true,
          value: { valid: true },
        });
      }),
      { numRuns: 25, seed: 1 },
    );
  });

  it("a single changed field gives valid, TRACE_MALFORMED naming it, or a divergence whose leaves differ", () => {
    fc.assert(
      fc.property(fc.constantFrom(...models), tokensArb, mutationArb, (model, tokens, m) => {
        const honest = honestTrace(model, tokens);
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
        // A conviction only where the committed leaf really differs from the re-execution, and only for
        // a change to what the execution was (a token) or to what it claims (a leaf under its root).
        expect(["token", "cheat"]).toContain(m.kind);
        expect(d.claimedLeaf).not.toBe(d.replayedLeaf);
        expect(stepLabel(stepAt(model.shape, d.index))).toBe(d.step);
      }),
      { numRuns: 150, seed: 2 },
    );
  });

  it("the pos label of one step changed: TRACE_MALFORMED naming it, no divergent step", () => {
    const model = models[0] as IntModel;
    const t = honestTrace(model, [1, 72, 101, 108]);
    const steps = t.steps.map((s, i) => (i === 100 ? { ...s, pos: s.pos + 1 } : s));
    expect(auditTrace(model, { ...t, steps })).toMatchObject({
      ok: false,
      error: { code: "TRACE_MALFORMED", meta: { field: "steps.100.pos" } },
    });
  });

  it("derives every step from its leaf index", () => {
    for (const model of models) {
      const steps = recordSteps(model, [1, 5, 9]);
      expect(steps.map((_, i) => stepLabel(stepAt(model.shape, i)))).toEqual(
        steps.map((s) => stepLabel(s.id)),
      );
    }
  });
});

describe("one-step and chunk check soundness", () => {
  const model = models[0] as IntModel;
  const tokens = [1, 72, 101];
  const steps = recordSteps(model, tokens);
  const leaves = steps.map((s) => leafHash(s.id, s.output));
  const index = new Map(steps.map((s, i) => [stepLabel(s.id), i]));
  const producersOf = (id: StepId) =>
    inputsOf(id, model.shape.nLayers).map((p) => index.get(stepLabel(p)) as number);

  /** A challenger's evidence for step `i`: honest, then changed in one way. */
  const evidenceChange = fc.oneof(
    fc.constant({ kind: "none" as const }),
    fc.record({ kind: fc.constant("drop-input" as const) }),
    fc.record({ kind: fc.constant("extra-input" as const) }),
    fc.record({ kind: fc.constant("flip-input" as const), at: fc.nat(), byte: fc.nat() }),
    fc.record({ kind: fc.constant("flip-input-leaf" as const), at: fc.nat(), byte: fc.nat() }),
    // The token is bound (the request's committed tokens); what a checker can be handed is one outside the model.
    fc.record({
      kind: fc.constant("token" as const),
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
        let token = tokens[s.id.pos] as number;
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
        if (change.kind === "token" && s.id.op === 0) token = change.value;
        const v = checkStep(model, s.id, inputs, inputLeaves, token, leaves[i] as Uint8Array);
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
