import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PRESETS } from "../../engine/llama2c/generateModel.ts";
import { generatedIntModel } from "../../engine/llama2c/modelFiles.ts";
import { bytesToHex, type Hex } from "../encoding/hex.ts";
import { keccak256 } from "../encoding/keccak.ts";
import { attackBond, DEFAULT_OTR_PARAMS, type DisputeParams, dissectBond } from "../params/otr.ts";
import type { IntModel } from "../verifiable/intModel.ts";
import { IntTransformer } from "../verifiable/intTransformer.ts";
import { type ExecutionContext, replayExecution } from "../verifiable/replay.ts";
import { paramsHashOf, promptHashOf, traceLeafCount } from "../verifiable/requestCommitments.ts";
import { leafHash, OP, TraceTree } from "../verifiable/trace.ts";
import {
  attack,
  dissect,
  type GameOutcome,
  type GameState,
  gameDeadline,
  oneStep,
  openGame,
  resolveGame,
  type StepVerifier,
} from "./game.ts";
import { proveOutputMismatch } from "./outputMismatch.ts";
import { applyAction, type PlayerView, solve } from "./solver.ts";
import { traceStepEvidence, traceStepVerifier } from "./traceStep.ts";

const model: IntModel = generatedIntModel(PRESETS.tiny!, 3);
const context: ExecutionContext = { prompt: [1, 72, 105], sampling: { temperature: 0.7, topP: 1, seed: 9 } };
const OUTPUT_TOKENS = 3;
const positions = context.prompt.length + OUTPUT_TOKENS - 1;
const leafCount = traceLeafCount(model.shape, context.prompt.length, OUTPUT_TOKENS);
const PARAMS: DisputeParams = DEFAULT_OTR_PARAMS.dispute;

/** A worker's (or fisherman's) trace: honest, or with a fault at one step. */
function traceOf(fault?: IntTransformer["fault"]) {
  const t = new IntTransformer(model);
  t.fault = fault ?? null;
  const { steps } = replayExecution(model, context, positions, t);
  const outputs = steps.map((s) => s.output);
  const tree = new TraceTree(
    steps.map((s) => leafHash(s.id, s.output)),
    keccak256,
  );
  return { outputs, tree, root: bytesToHex(tree.root) };
}

const honest = traceOf();
const subjectOf = (root: Hex) => ({
  traceRoot: root,
  leafCount,
  worker: "0x00000000000000000000000000000000000000aa" as Hex,
  promptHash: bytesToHex(promptHashOf(context.prompt)),
  paramsHash: bytesToHex(paramsHashOf(context.sampling)),
});

function viewOf(me: Hex, trace: ReturnType<typeof traceOf>): PlayerView {
  return {
    me,
    tree: trace.tree,
    stepEvidence: (i) => traceStepEvidence(model, context, trace.outputs, (j) => trace.tree.proof(j), i),
  };
}

/** Plays the game: every player's solver acts each tick (in order), time advances, until resolved. */
function play(state: GameState, players: readonly PlayerView[], verify: StepVerifier, tick = 60_000) {
  let now = state.claims[0]!.createdAt;
  const rejected: string[] = [];
  for (let round = 0; round < 10_000; round++) {
    for (const p of players)
      for (const a of solve(state, p, now)) {
        if (a.type === "resolve") continue;
        const v = applyAction(state, a, p.me, now, verify, keccak256);
        if (!v.ok) rejected.push(`${p.me} ${a.type}: ${v.error.code}`);
      }
    const outcome = resolveGame(state, now);
    if (outcome) return { outcome, now, rejected };
    now += tick;
  }
  throw new Error("the game did not end");
}

const WORKER = "0x00000000000000000000000000000000000000aa" as Hex;
const FISHER = "0x00000000000000000000000000000000000000bb" as Hex;
const GRIEFER = "0x00000000000000000000000000000000000000cc" as Hex;
const THIRD = "0x00000000000000000000000000000000000000dd" as Hex;

const total = (o: GameOutcome, to: Hex | "burn") =>
  o.payouts.filter((p) => p.to === to).reduce((s, p) => s + p.amount, 0n);

describe("dispute game: k-ary dissection down to a one-step check", () => {
  it("a dishonest worker loses to an honest fisherman: slashed, bonds and bounty to the fisherman", () => {
    const cheat = traceOf({ pos: 3, layer: 1, op: OP.W2, index: 5, delta: 1 });
    const subject = subjectOf(cheat.root);
    const state = openGame(subject, PARAMS, FISHER, 0);
    if (!state.ok) throw new Error(state.error.message);
    const verify = traceStepVerifier(model, subject, keccak256);
    const { outcome, rejected } = play(state.value, [viewOf(WORKER, cheat), viewOf(FISHER, honest)], verify);
    expect(outcome.rootCountered).toBe(true);
    // The cheater's one-step attempt was refused: the leaf it committed is not the step's output.
    expect(rejected).toContain(`${WORKER} oneStep: DISPUTE_STEP_NOT_COUNTERED`);
    // ⌈depth / 4⌉ dissections on the path: each level bound to the one above.
    const dissections = state.value.claims.filter((c) => c.kind === "dissect");
    expect(dissections).toHaveLength(Math.ceil(state.value.depth / 4));
    const bounty = (PARAMS.workerSlash * BigInt(PARAMS.challengerShareBps)) / 10_000n;
    expect(total(outcome, FISHER)).toBe(
      bounty +
        state.value.claims.filter((c) => c.claimant === FISHER).reduce((s, c) => s + c.bond, 0n) +
        BigInt(dissections.length) * dissectBond(PARAMS),
    );
    expect(total(outcome, "burn")).toBe(PARAMS.workerSlash - bounty);
  });

  it("an honest worker beats a wrong challenger and griefers, and anyone can defend the honest branch", () => {
    const wrong = traceOf({ pos: 1, layer: 0, op: OP.ATTN, index: 2, delta: 3 });
    const subject = subjectOf(honest.root);
    const state = openGame(subject, PARAMS, FISHER, 0);
    if (!state.ok) throw new Error(state.error.message);
    const verify = traceStepVerifier(model, subject, keccak256);
    // The worker is offline; a third party with the same (honest) trace defends it.
    const { outcome } = play(state.value, [viewOf(FISHER, wrong), viewOf(THIRD, honest)], verify);
    expect(outcome.rootCountered).toBe(false);
    expect(total(outcome, "burn")).toBe(0n);
    // Every bond the wrong challenger posted went to the defender of the honest branch.
    const lost = state.value.claims.filter((c) => c.claimant === FISHER).reduce((s, c) => s + c.bond, 0n);
    expect(total(outcome, FISHER)).toBe(0n);
    expect(total(outcome, THIRD)).toBeGreaterThanOrEqual(lost);
  });

  it("an absent defender loses by the clock; a one-step past its extension is too late", () => {
    const subject = subjectOf(honest.root);
    const state = openGame(subject, PARAMS, FISHER, 0);
    if (!state.ok) throw new Error(state.error.message);
    expect(resolveGame(state.value, PARAMS.maxClockMs)).toBeNull();
    const outcome = resolveGame(state.value, PARAMS.maxClockMs + 1);
    expect(outcome?.rootCountered).toBe(true);
    expect(dissect(state.value, 1, [], WORKER, PARAMS.maxClockMs + 1, keccak256)).toMatchObject({
      ok: false,
      error: { code: "DISPUTE_TOO_LATE" },
    });
  });

  it("refuses moves that do not fit: children that do not hash to the node, duplicates, wrong kinds", () => {
    const subject = subjectOf(honest.root);
    const state = openGame(subject, PARAMS, FISHER, 0);
    if (!state.ok) throw new Error(state.error.message);
    const g = state.value;
    const children = Array.from({ length: 16 }, (_, j) => bytesToHex(honest.tree.node(g.depth - 4, j)));
    const bad = [...children];
    bad[3] = `0x${"11".repeat(32)}`;
    expect(dissect(g, 1, bad, WORKER, 10, keccak256)).toMatchObject({
      ok: false,
      error: { code: "DISPUTE_MOVE_INVALID", message: /hash to .*not to the attacked/ },
    });
    expect(dissect(g, 1, children.slice(1), WORKER, 10, keccak256)).toMatchObject({ ok: false });
    const d = dissect(g, 1, children, WORKER, 10, keccak256);
    expect(d.ok).toBe(true);
    expect(dissect(g, 1, children, THIRD, 11, keccak256)).toMatchObject({
      ok: false,
      error: { code: "DISPUTE_DUPLICATE" },
    });
    expect(attack(g, 2, 5, GRIEFER, 12).ok).toBe(true);
    expect(attack(g, 2, 5, FISHER, 13)).toMatchObject({ ok: false, error: { code: "DISPUTE_DUPLICATE" } });
    expect(attack(g, 2, 16, FISHER, 13)).toMatchObject({
      ok: false,
      error: { code: "DISPUTE_MOVE_INVALID" },
    });
    expect(attack(g, 1, 0, FISHER, 13)).toMatchObject({ ok: false, error: { code: "DISPUTE_MOVE_INVALID" } });
    expect(oneStep(g, 1, {}, traceStepVerifier(model, subject, keccak256), WORKER, 14)).toMatchObject({
      ok: false,
      error: { code: "DISPUTE_MOVE_INVALID" },
    });
  });

  it("property: an honest defender never loses, and an honest challenger always beats a cheat, whatever the griefers do", () => {
    const faults = fc.record({
      pos: fc.integer({ min: 0, max: positions - 1 }),
      layer: fc.integer({ min: 0, max: 1 }),
      op: fc.constantFrom(OP.Q, OP.ATTN, OP.W1, OP.RESID2, OP.SWIGLU),
      index: fc.integer({ min: 0, max: 40 }),
      delta: fc.constantFrom(-2, 1, 7),
    });
    fc.assert(
      fc.property(faults, faults, fc.boolean(), (cheatFault, griefFault, workerCheats) => {
        const cheat = traceOf(cheatFault);
        const griefer = traceOf(griefFault);
        const subject = subjectOf(workerCheats ? cheat.root : honest.root);
        const state = openGame(subject, PARAMS, workerCheats ? FISHER : GRIEFER, 0);
        if (!state.ok) throw new Error(state.error.message);
        const verify = traceStepVerifier(model, subject, keccak256);
        const players = workerCheats
          ? [viewOf(WORKER, cheat), viewOf(GRIEFER, griefer), viewOf(FISHER, honest)]
          : [viewOf(WORKER, honest), viewOf(GRIEFER, griefer)];
        const { outcome } = play(state.value, players, verify);
        expect(outcome.rootCountered).toBe(workerCheats);
      }),
      { numRuns: 25, seed: 8 },
    );
  });

  it("bonds grow with what a move forces on the other side, and an honest defense is paid for by the attackers", () => {
    expect(attackBond(PARAMS, 0)).toBeGreaterThan(attackBond(PARAMS, 4));
    expect(attackBond(PARAMS, 4)).toBeGreaterThanOrEqual(dissectBond(PARAMS));
    // N griefers each attacking a different correct child: the defender posts one dissection per attack
    // and every attacker's bond covers it (the resource ratio honest : attacker ≤ 1).
    const subject = subjectOf(honest.root);
    const state = openGame(subject, PARAMS, GRIEFER, 0);
    if (!state.ok) throw new Error(state.error.message);
    const g = state.value;
    const top = Array.from({ length: 16 }, (_, j) => bytesToHex(honest.tree.node(g.depth - 4, j)));
    dissect(g, 1, top, WORKER, 1, keccak256);
    for (let j = 0; j < 16; j++) attack(g, 2, j, GRIEFER, 2);
    const verify = traceStepVerifier(model, subject, keccak256);
    const { outcome } = play(g, [viewOf(WORKER, honest)], verify);
    expect(outcome.rootCountered).toBe(false);
    const honestSpend = g.claims.filter((c) => c.claimant === WORKER).reduce((s, c) => s + c.bond, 0n);
    const attackerSpend = g.claims.filter((c) => c.claimant === GRIEFER).reduce((s, c) => s + c.bond, 0n);
    expect(honestSpend).toBeLessThanOrEqual(attackerSpend);
    expect(total(outcome, WORKER)).toBe(honestSpend + attackerSpend);
    expect(gameDeadline(g)).toBeLessThan(2 * PARAMS.maxClockMs + PARAMS.oneStepExtensionMs);
  });
});

describe("output mismatch: a direct fraud proof", () => {
  it("proves a receipt whose output tokens are not the trace's SAMPLE choices, and refuses an honest one", () => {
    const { steps, tokens } = replayExecution(model, context, positions);
    const leaves = steps.map((s) => leafHash(s.id, s.output));
    const tree = new TraceTree(leaves, keccak256);
    const output = [...tokens.slice(context.prompt.length), 0]; // the last sampled token is not fed
    const lastSample = steps.filter((s) => s.id.op === OP.SAMPLE).at(-1)!;
    output[output.length - 1] = new DataView(
      lastSample.output.buffer,
      lastSample.output.byteOffset,
    ).getUint32(0, true);
    const subjectFor = (out: number[]) => ({
      traceRoot: bytesToHex(tree.root),
      outputHash: bytesToHex(promptHashOf(out)),
      inputTokens: context.prompt.length,
      shape: model.shape,
    });
    const sampleIndex = (j: number) => (context.prompt.length - 1 + j + 1) * (leaves.length / positions) - 1;
    const args = (j: number) =>
      [bytesToHex(leaves[sampleIndex(j)]!), tree.proof(sampleIndex(j)).map(bytesToHex)] as const;
    for (let j = 0; j < output.length; j++)
      expect(proveOutputMismatch(subjectFor(output), output, j, ...args(j), keccak256)).toMatchObject({
        ok: false,
        error: { code: "TRACE_MISMATCH_ABSENT" },
      });
    const lied = [...output];
    lied[1] = (lied[1]! + 1) % model.shape.vocabSize;
    expect(proveOutputMismatch(subjectFor(lied), lied, 1, ...args(1), keccak256)).toMatchObject({
      ok: true,
      value: { position: context.prompt.length, claimedToken: lied[1] },
    });
    expect(proveOutputMismatch(subjectFor(lied), output, 1, ...args(1), keccak256)).toMatchObject({
      ok: false,
      error: { code: "TRACE_MALFORMED", meta: { field: "outputTokens" } },
    });
  });
});
