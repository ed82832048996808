/**
 * The on-chain one-step check against the TypeScript one (dispute/traceStep.ts), on anvil: every leaf of
 * real ts-int generations (greedy, sampled, top-p; a shared and a separate classifier with several logit
 * parts) and random traces whose vectors sit at the spec's bounds (saturated activations and residuals,
 * every shift, late positions), recomputed by both, must give the same leaf; evidence that does not fit
 * reverts with a named error.
 */

import { decodeAbiParameters, encodeAbiParameters, type Hex, keccak256 as viemKeccak } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PRESETS } from "../engine/llama2c/generateModel.ts";
import { generatedIntModel } from "../engine/llama2c/modelFiles.ts";
import { traceStepEvidence, traceStepVerifier } from "../protocol/dispute/traceStep.ts";
import { bytesToHex } from "../protocol/encoding/hex.ts";
import { keccak256 } from "../protocol/encoding/keccak.ts";
import { createRng, type Rng } from "../protocol/rng/prng.ts";
import type { IntModel, TransformerShape } from "../protocol/verifiable/intModel.ts";
import { modelRoot } from "../protocol/verifiable/modelCommitment.ts";
import type { ExecutionContext } from "../protocol/verifiable/replay.ts";
import { paramsHashOf, promptHashOf } from "../protocol/verifiable/requestCommitments.ts";
import { leafHash, OP, stepAt, stepsPerPosition, TraceTree } from "../protocol/verifiable/trace.ts";
import { verifiableGeneration } from "../protocol/verifiable/verifiableGeneration.ts";
import { type LocalChain, startAnvil } from "./anvil.ts";
import { type ChainClients, clientsFor } from "./deploy.ts";
import { traceStepVerifierAbi } from "./generated/contracts.ts";
import { revertReason } from "./revert.ts";
import { encodeStepEvidence, STEP_EVIDENCE_ABI, tokenIds } from "./stepEvidence.ts";
import { deployStepVerifier, stepTableCodeHashes } from "./stepVerifier.ts";

let chain: LocalChain;
let c: ChainClients;
let verifier: Hex;

beforeAll(async () => {
  chain = await startAnvil();
  c = clientsFor(chain.rpcUrl, chain.chainId, chain.keys[0] as Hex);
  verifier = await deployStepVerifier(c);
}, 60_000);
afterAll(() => chain?.stop());

function modelOf(shape: TransformerShape, seed: number): IntModel {
  return generatedIntModel(shape, seed);
}

const TINY = modelOf(PRESETS.tiny as TransformerShape, 3); // shared classifier, one logit part
/** A separate classifier cut into two parts (the second one short), one kv head per two heads. */
const SPLIT = modelOf(
  {
    dim: 32,
    hiddenDim: 80,
    nLayers: 1,
    nHeads: 4,
    nKvHeads: 2,
    vocabSize: 1500,
    seqLen: 16,
    sharedClassifier: false,
  },
  5,
);

/** A trace: every step's output, its tree, and the receipt facts the game's Subject carries. */
interface Trace {
  readonly model: IntModel;
  readonly context: ExecutionContext;
  readonly outputs: readonly Uint8Array[];
  readonly tree: TraceTree;
}

function subjectOf(t: Trace) {
  return {
    traceRoot: bytesToHex(t.tree.root),
    leafCount: BigInt(t.outputs.length),
    worker: "0x00000000000000000000000000000000000000aa" as Hex,
    modelId: viemKeccak("0x01"),
    weightsHash: modelRoot(t.model),
    promptHash: bytesToHex(promptHashOf(t.context.prompt)),
    paramsHash: bytesToHex(paramsHashOf(t.context.sampling)),
    batch: 0n,
    position: 0,
  };
}

function generation(model: IntModel, context: ExecutionContext, outputTokens: number): Trace {
  const { outputs, tree } = verifiableGeneration(model, context, outputTokens);
  return { model, context, outputs, tree };
}

const evidenceOf = (t: Trace, index: number) =>
  traceStepEvidence(t.model, t.context, t.outputs, (j) => t.tree.proof(j), index);

/** The leaf TypeScript's one-step check recomputes (throws when it refuses the evidence). */
function tsLeaf(t: Trace, index: number): Hex {
  const subject = { ...subjectOf(t), leafCount: t.outputs.length };
  const v = traceStepVerifier(t.model, subject, keccak256)(index, evidenceOf(t, index));
  if (!v.ok) throw new Error(`${v.error.code}: ${v.error.message}`);
  return bytesToHex(v.value);
}

function chainLeaf(t: Trace, index: number, evidence?: Hex): Promise<Hex> {
  return c.public.readContract({
    address: verifier,
    abi: traceStepVerifierAbi,
    functionName: "correctLeaf",
    args: [subjectOf(t), BigInt(index), evidence ?? encodeStepEvidence(t.model, index, evidenceOf(t, index))],
  }) as Promise<Hex>;
}

async function expectAllLeavesEqual(t: Trace, indices: readonly number[]) {
  for (const i of indices) {
    const [ts, sol] = [tsLeaf(t, i), await chainLeaf(t, i)];
    expect(sol, `leaf ${i} (${JSON.stringify(stepAt(t.model.shape, i))})`).toBe(ts);
  }
}

const every = (t: Trace) => Array.from({ length: t.outputs.length }, (_, i) => i);

describe("TraceStepVerifier.sol: the one-step check on chain equals the TypeScript one", () => {
  it("pins the tables it reads to fixedMath.ts's", async () => {
    const pinned = await Promise.all(
      (["EXP2_CODEHASH", "SIGMOID_LOW_CODEHASH", "SIGMOID_HIGH_CODEHASH"] as const).map((functionName) =>
        c.public.readContract({ address: verifier, abi: traceStepVerifierAbi, functionName }),
      ),
    );
    const h = stepTableCodeHashes();
    expect(pinned).toEqual([h.exp2, h.sigmoidLow, h.sigmoidHigh]);
  });

  it("every leaf of a sampled ts-int generation (shared classifier)", async () => {
    const t = generation(TINY, { prompt: [1, 72, 105], sampling: { temperature: 0.7, topP: 1, seed: 9 } }, 3);
    await expectAllLeavesEqual(t, every(t));
  }, 120_000);

  it("every leaf of a top-p generation with a separate two-part classifier, and greedy SAMPLE steps", async () => {
    const topP = generation(
      SPLIT,
      { prompt: [1, 700], sampling: { temperature: 1.3, topP: 0.6, seed: 4 } },
      4,
    );
    await expectAllLeavesEqual(topP, every(topP));
    const greedy = generation(SPLIT, { prompt: [1], sampling: { temperature: 0, topP: 1, seed: 0 } }, 3);
    const per = stepsPerPosition(SPLIT.shape);
    await expectAllLeavesEqual(greedy, [per - 1, 2 * per - 1, 3 * per - 1]);
  }, 120_000);

  it("random traces at the spec's bounds: saturated vectors, every shift, late positions", async () => {
    const rng = createRng(11);
    for (const model of [TINY, SPLIT]) {
      const positions = model.shape.seqLen;
      const t = randomTrace(model, positions, rng);
      const per = stepsPerPosition(model.shape);
      // A spread of steps, with the last position's (the longest attention) included.
      const picks = new Set<number>();
      for (let k = 0; k < per; k++) picks.add((positions - 1) * per + k);
      for (let k = 0; k < 3 * per; k++) picks.add(rng.int(t.outputs.length));
      await expectAllLeavesEqual(t, [...picks]);
    }
  }, 240_000);

  it("padding leaves are zero; evidence that does not fit reverts with a named error and accuses nobody", async () => {
    const t = generation(TINY, { prompt: [1, 72], sampling: { temperature: 0.9, topP: 1, seed: 2 } }, 2);
    const subject = subjectOf(t);
    const padding = encodeStepEvidence(TINY, 0, evidenceOf(t, 0));
    expect(await chainLeaf(t, t.outputs.length + 3, padding)).toBe(`0x${"00".repeat(32)}`);
    const wq = stepsPerPosition(TINY.shape) + 3; // position 1, layer 0, Q: reads ATT_QUANT and weight rows
    const good = evidenceOf(t, wq);
    const encoded = encodeStepEvidence(TINY, wq, good);
    const why = (evidence: Hex, s = subject) => revertOf(t, wq, evidence, s);
    const tampered = { ...good, inputs: [{ ...good.inputs[0]!, output: flip(good.inputs[0]!.output) }] };
    expect(await why(encodeStepEvidence(TINY, wq, tampered))).toMatch(
      /StepEvidenceMalformed.*not proven against the trace root/,
    );
    const otherPrompt = { ...good, context: { ...good.context, prompt: [1, 73] } };
    expect(await why(encodeStepEvidence(TINY, wq, otherPrompt))).toMatch(
      /prompt does not hash to promptHash/,
    );
    const otherParams = {
      ...good,
      context: { ...good.context, sampling: { ...good.context.sampling, seed: 3 } },
    };
    expect(await why(encodeStepEvidence(TINY, wq, otherParams))).toMatch(/do not hash to paramsHash/);
    expect(await why(encoded, { ...subject, weightsHash: modelRoot(SPLIT) })).toMatch(
      /the shape is not the registered model's/,
    );
    expect(await why(encoded, { ...subject, leafCount: subject.leafCount + 1n })).toMatch(
      /not whole positions/,
    );
    const [e] = decodeAbiParameters(STEP_EVIDENCE_ABI, encoded);
    const reencode = (patch: Partial<typeof e>) =>
      encodeAbiParameters(STEP_EVIDENCE_ABI, [{ ...e, ...patch }]);
    expect(await why(reencode({ weights: flip(e.weights) }))).toMatch(
      /weight rows are not the registered model's/,
    );
    expect(await why(reencode({ weights: e.weights.slice(0, -2) as Hex }))).toMatch(
      /weight rows of the wrong size/,
    );
    expect(await why(reencode({ weightsProof: e.weightsProof.slice(1) }))).toMatch(
      /weight rows are not the registered model's/,
    );
    expect(await why(reencode({ inputs: [], inputProofs: [] }))).toMatch(/wrong number of inputs/);
    expect(await why(reencode({ inputProofs: [e.inputProofs[0]!.slice(1)] }))).toMatch(
      /not proven against the trace root/,
    );
    expect(
      await why(reencode({ shape: e.shape.map((v, i) => (i === 3 ? 5 : v)) as unknown as typeof e.shape })),
    ).toMatch(/not a model shape/);
    expect(await why("0x1234")).toMatch(/evidence too short/);
  }, 60_000);

  it("top-p hints are checked: any other boundary or token reverts (SampleHintInvalid), none changes the token", async () => {
    const t = generation(SPLIT, { prompt: [1], sampling: { temperature: 1.3, topP: 0.6, seed: 4 } }, 2);
    const sample = stepsPerPosition(SPLIT.shape) - 1;
    const encoded = encodeStepEvidence(SPLIT, sample, evidenceOf(t, sample));
    expect(await chainLeaf(t, sample, encoded)).toBe(tsLeaf(t, sample));
    const [e] = decodeAbiParameters(STEP_EVIDENCE_ABI, encoded);
    const [boundary, token] = [0, 1].map((j) =>
      Number.parseInt(e.hints.slice(2 + 8 * j, 10 + 8 * j), 16),
    ) as [number, number];
    const why = (hints: number[]) =>
      revertOf(
        t,
        sample,
        encodeAbiParameters(STEP_EVIDENCE_ABI, [{ ...e, hints: tokenIds(hints) }]),
        subjectOf(t),
      );
    const rng = createRng(5);
    const others = (avoid: number) =>
      Array.from({ length: 12 }, () => rng.int(SPLIT.shape.vocabSize)).filter((x) => x !== avoid);
    for (const b of others(boundary)) expect(await why([b, token])).toMatch(/^SampleHintInvalid/);
    for (const x of others(token)) expect(await why([boundary, x])).toMatch(/^SampleHintInvalid/);
    expect(await why([boundary])).toMatch(/two 4-byte ids/);
    expect(await why([boundary, token, token])).toMatch(/two 4-byte ids/);
    expect(await why([SPLIT.shape.vocabSize, token])).toMatch(/no weight/);
  });
});

/** The revert of a correctLeaf call, as "ErrorName: message" text (or "did not revert"). */
async function revertOf(t: Trace, index: number, evidence: Hex, subject: ReturnType<typeof subjectOf>) {
  try {
    await c.public.readContract({
      address: verifier,
      abi: traceStepVerifierAbi,
      functionName: "correctLeaf",
      args: [subject, BigInt(index), evidence],
    });
  } catch (error) {
    return revertReason(error) ?? String(error);
  }
  return `did not revert (${t.outputs.length} leaves)`;
}

const flip = (hex: Hex): Hex => (hex.slice(0, -2) + (hex.endsWith("00") ? "01" : "00")) as Hex;

/** Random output bytes for every step of `positions` positions, at the bounds each step's readers assume. */
function randomTrace(model: IntModel, positions: number, rng: Rng): Trace {
  const s = model.shape;
  const kvDim = (s.dim / s.nHeads) * s.nKvHeads;
  const bound = (bits: number) => {
    const m = 2 ** bits - 1;
    const k = rng.int(6);
    return k === 0
      ? m
      : k === 1
        ? -m
        : k === 2
          ? 0
          : k === 3
            ? rng.int(2 * 65536) - 65536
            : rng.int(2 * m + 1) - m;
  };
  const int32s = (n: number, bits: number) => {
    const out = new Uint8Array(4 * n);
    const view = new DataView(out.buffer);
    for (let i = 0; i < n; i++) view.setInt32(4 * i, bound(bits), true);
    return out;
  };
  const quant = (n: number) => {
    const out = new Uint8Array(1 + 2 * n);
    out[0] = rng.int(17);
    const view = new DataView(out.buffer);
    for (let i = 0; i < n; i++) view.setInt16(1 + 2 * i, rng.int(2 * 32767 + 1) - 32767, true);
    return out;
  };
  const prompt = [1, rng.int(s.vocabSize)];
  const context: ExecutionContext = { prompt, sampling: { temperature: 0.8, topP: 0.7, seed: 3 } };
  const per = stepsPerPosition(s);
  const outputs: Uint8Array[] = [];
  for (let i = 0; i < positions * per; i++) {
    const id = stepAt(s, i);
    const residualStream = id.op === OP.EMBED || id.op === OP.RESID1 || id.op === OP.RESID2;
    const quantized = [OP.ATT_QUANT, OP.ATTN_QUANT, OP.FFN_QUANT, OP.SWIGLU_QUANT, OP.FINAL_QUANT].includes(
      id.op as 2,
    );
    const n =
      id.op === OP.K || id.op === OP.V || id.op === OP.K_ROPE
        ? kvDim
        : [OP.W1, OP.W3, OP.SWIGLU, OP.SWIGLU_QUANT].includes(id.op as 14)
          ? s.hiddenDim
          : id.op === OP.LOGITS
            ? Math.min(1024, s.vocabSize - 1024 * id.part)
            : s.dim;
    if (id.op === OP.SAMPLE) {
      const token = new Uint8Array(4);
      new DataView(token.buffer).setUint32(0, rng.int(s.vocabSize), true);
      outputs.push(token);
    } else outputs.push(quantized ? quant(n) : int32s(n, residualStream ? 30 : 24));
  }
  return { model, context, outputs, tree: new TraceTree(outputs.map((o, i) => leafHash(stepAt(s, i), o))) };
}
