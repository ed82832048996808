/**
 * End to end on anvil with the real one-step check: a worker registered with dev-TEE evidence serves
 * ts-int generations, the protocol's sequencer batches their signed receipts and posts the batch, and
 * disputes are played through viem by the protocol's solver on both sides with time advanced by
 * advanceTime. A worker whose output was altered (a fault in its forward pass, so its trace and its
 * tokens both follow from it) is convicted by TraceStepVerifier at the first wrong step and slashed; a
 * lying challenger against an honest worker loses its bonds to the worker.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PRESETS } from "../engine/llama2c/generateModel.ts";
import { generatedIntModel } from "../engine/llama2c/modelFiles.ts";
import { type GameState, openGame, resolveGame } from "../protocol/dispute/game.ts";
import { applyAction, type PlayerView, solve } from "../protocol/dispute/solver.ts";
import { traceStepEvidence, traceStepVerifier } from "../protocol/dispute/traceStep.ts";
import { bytesToHex, type Hex } from "../protocol/encoding/hex.ts";
import { keccak256 } from "../protocol/encoding/keccak.ts";
import { attackBond, DEFAULT_OTR_PARAMS } from "../protocol/params/otr.ts";
import type { SignedReceipt } from "../protocol/receipt/receipt.ts";
import {
  checkReceipt,
  pureSecp256k1,
  type RegistrySnapshot,
  signReceipt,
} from "../protocol/receipt/verifyReceipt.ts";
import { type SealedBatch, Sequencer } from "../protocol/rollup/sequencer.ts";
import type { IntModel } from "../protocol/verifiable/intModel.ts";
import { modelRoot } from "../protocol/verifiable/modelCommitment.ts";
import type { ExecutionContext } from "../protocol/verifiable/replay.ts";
import { OP, stepsPerPosition } from "../protocol/verifiable/trace.ts";
import {
  type VerifiableGeneration,
  verifiableGeneration,
} from "../protocol/verifiable/verifiableGeneration.ts";
import { devReceipt, devRegistry, ENCLAVE_KEY, registerTheDevWorker, WORKER } from "../testing/devWorker.ts";
import { type LocalChain, startAnvil } from "./anvil.ts";
import { advanceTime, becomeSequencer, nextBlockMs, pinBlockTimes, send } from "./clients.ts";
import { type ChainClients, clientsFor, coreParamsOf, type Deployment, deployCore } from "./deploy.ts";
import { sendDisputeAction } from "./disputeClient.ts";
import { playTurn } from "./disputePlayer.ts";
import { mirrorGame } from "./gameMirror.ts";
import { disputeGameAbi, registryAbi, rollupAbi } from "./generated/contracts.ts";
import { revertReason } from "./revert.ts";
import { encodeStepEvidence } from "./stepEvidence.ts";

const D = DEFAULT_OTR_PARAMS.dispute;
const model: IntModel = generatedIntModel(PRESETS.tiny!, 7);
const OUTPUT_TOKENS = 3;
const contexts: ExecutionContext[] = [
  { prompt: [1, 72, 105], sampling: { temperature: 0.8, topP: 0.9, seed: 5 } },
  { prompt: [1, 300], sampling: { temperature: 0, topP: 1, seed: 0 } },
  { prompt: [1, 40, 41, 42], sampling: { temperature: 1, topP: 1, seed: 8 } },
];
/** The cheat: one activation of layer 1's W2 output at the last prompt position, enough to change the output. */
const FAULT = { pos: 2, layer: 1, op: OP.W2, index: 5, delta: 40_000 };

let chain: LocalChain;
let owner: ChainClients; // deployer, worker operator, sequencer
let fisherman: ChainClients;
let liar: ChainClients;
let d: Deployment;
let game: Hex;
let registry: RegistrySnapshot;
const sequencer = new Sequencer({ ...DEFAULT_OTR_PARAMS.rollup, maxBatchReceipts: 16 }, 4096);
const served: { generation: VerifiableGeneration; honest: VerifiableGeneration; signed: SignedReceipt }[] =
  [];

const nowMs = async () => Number((await owner.public.getBlock()).timestamp) * 1000;
const read = (address: Hex, abi: readonly unknown[], functionName: string, args: readonly unknown[]) =>
  owner.public.readContract({ address, abi, functionName, args } as never) as Promise<unknown>;

beforeAll(async () => {
  chain = await startAnvil();
  owner = clientsFor(chain.rpcUrl, chain.chainId, chain.keys[0] as Hex);
  await pinBlockTimes(owner);
  fisherman = clientsFor(chain.rpcUrl, chain.chainId, chain.keys[2] as Hex);
  liar = clientsFor(chain.rpcUrl, chain.chainId, chain.keys[3] as Hex);
  d = await deployCore(owner, coreParamsOf(DEFAULT_OTR_PARAMS));
  game = d.disputeGame as Hex;
  const stake = 10n * D.workerSlash;
  await registerTheDevWorker(owner, d, chain.keys[1] as Hex, {
    stake,
    validSeconds: 30n * 86_400n,
    stepsPerPosition: stepsPerPosition(model.shape),
    weightsHash: modelRoot(model),
    maxDisputePositions: 16, // every one-step of this small model's traces up to 16 positions fits a block
  });
  await becomeSequencer(owner, d, DEFAULT_OTR_PARAMS.rollup.sequencerBond);
  // The worker serves three requests; the second one's forward pass is faulted (its output altered).
  registry = devRegistry(BigInt(chain.chainId), d.rollup, stake, 0n, true, modelRoot(model));
  for (const [i, context] of contexts.entries()) {
    const honest = verifiableGeneration(model, context, OUTPUT_TOKENS);
    const generation = i === 1 ? verifiableGeneration(model, context, OUTPUT_TOKENS, FAULT) : honest;
    const receipt = devReceipt(i, BigInt(chain.chainId), d.rollup, generation.fields);
    served.push({ generation, honest, signed: signReceipt(receipt, ENCLAVE_KEY) });
  }
}, 120_000);

afterAll(() => chain?.stop());

/** A party of the game: its trace of the disputed request and its chain account. */
interface Party {
  readonly client: ChainClients;
  readonly generation: VerifiableGeneration;
  readonly context: ExecutionContext;
}

function viewOf(p: Party): PlayerView {
  const g = p.generation;
  return {
    me: p.client.wallet.account.address,
    tree: g.tree,
    stepEvidence: (i) => traceStepEvidence(model, p.context, g.outputs, (j) => g.tree.proof(j), i),
  };
}

/**
 * The sequencer admits the served receipts `receipts` (checked against the registry), seals them into a
 * batch and posts it; returns the batch (posted now, so its challenge window is open).
 */
async function postBatchOf(receipts: readonly number[]): Promise<SealedBatch> {
  for (const i of receipts) {
    const { signed } = served[i]!;
    const admitted = sequencer.admit(signed, checkReceipt(signed, registry, pureSecp256k1), i);
    if (!admitted.ok) throw new Error(admitted.error.message);
  }
  const batch = sequencer.flush(receipts.length) as SealedBatch;
  await send(owner, d.rollup, rollupAbi, "postBatch", [
    BigInt(batch.index),
    batch.root,
    batch.count,
    bytesToHex(batch.data),
  ]);
  return batch;
}

/**
 * `challenger` disputes receipt `position` of the batch; both parties then play their solvers' moves on
 * chain (mirrored in the TypeScript game, which must accept exactly what the chain accepts) until every
 * deadline has passed; the game is resolved on chain. Returns what moved.
 */
async function dispute(
  batch: SealedBatch,
  position: number,
  served_: number,
  worker: Party,
  challenger: Party,
) {
  const { signed } = served[served_]!;
  const { chainId, settlement, ...receipt } = signed.receipt;
  const gameId = (await read(game, disputeGameAbi, "gameCount", [])) as bigint;
  const credit = async (c: ChainClients) =>
    (await read(game, disputeGameAbi, "credits", [c.wallet.account.address])) as bigint;
  const before = { worker: await credit(worker.client), challenger: await credit(challenger.client) };
  const stakeBefore = (await read(d.registry, registryAbi, "atRisk", [WORKER])) as bigint;
  const leafCount = worker.generation.outputs.length;
  const subject = {
    traceRoot: signed.receipt.traceRoot,
    leafCount,
    worker: worker.client.wallet.account.address,
    promptHash: signed.receipt.promptHash,
    paramsHash: signed.receipt.paramsHash,
  };
  const opened = openGame(subject, D, challenger.client.wallet.account.address, 0);
  if (!opened.ok) throw new Error(opened.error.message);
  await send(
    challenger.client,
    game,
    disputeGameAbi,
    "challenge",
    [BigInt(batch.index), position, receipt, signed.signature, batch.tree.proof(position)],
    attackBond(D, opened.value.depth),
  );
  const state: GameState = { ...opened.value };
  // Re-open at the chain's time so both games run on the same clock.
  const reopened = openGame(subject, D, challenger.client.wallet.account.address, await nowMs());
  if (!reopened.ok) throw new Error(reopened.error.message);
  Object.assign(state, reopened.value);
  const verify = traceStepVerifier(model, subject, keccak256);
  const parties = [worker, challenger];
  const refusedOneSteps: string[] = [];
  for (let round = 0; round < 100; round++) {
    let acted = false;
    for (const party of parties) {
      const view = viewOf(party);
      for (const action of solve(state, view, await nowMs())) {
        if (action.type === "resolve") continue;
        // The chain judges a move at the time of the block it would land in: the mirror does the same.
        const at = await nextBlockMs(owner);
        let sent = true;
        try {
          const { claims } = await mirrorGame(owner, game, gameId, subject, D);
          await sendDisputeAction(party.client, game, { state, claims }, gameId, action, (i) =>
            encodeStepEvidence(model, i, view.stepEvidence(i) as ReturnType<typeof traceStepEvidence>),
          );
        } catch (error) {
          sent = false;
          if (action.type === "oneStep") refusedOneSteps.push(revertReason(error) ?? String(error));
        }
        const applied = applyAction(state, action, view.me, at, verify, keccak256);
        expect(applied.ok, `${action.type}: on chain ${sent}, in TypeScript ${applied.ok}`).toBe(sent);
        acted ||= sent;
      }
    }
    if (resolveGame(state, await nowMs())) break;
    await advanceTime(owner, acted ? 60 : 1800);
  }
  await advanceTime(owner, 3600);
  // Both parties resolve at once, as nodes do: one wins the race, and losing it is no refused move.
  const turns = await Promise.all(
    parties.map((party) =>
      playTurn(party.client, game, gameId, subject, D, viewOf(party), (i) =>
        encodeStepEvidence(model, i, viewOf(party).stepEvidence(i) as ReturnType<typeof traceStepEvidence>),
      ),
    ),
  );
  for (const t of turns) expect(t).toMatchObject({ failed: [], resolved: true });
  expect(turns.some((t) => t.sent.includes("resolve"))).toBe(true);
  const outcome = resolveGame(state, await nowMs());
  const onChain = (await read(game, disputeGameAbi, "game", [gameId])) as { rootCountered: boolean };
  return {
    outcome,
    rootCountered: onChain.rootCountered,
    status: Number(await read(d.rollup, rollupAbi, "status", [BigInt(batch.index), position])),
    slashed: stakeBefore - ((await read(d.registry, registryAbi, "atRisk", [WORKER])) as bigint),
    workerGain: (await credit(worker.client)) - before.worker,
    challengerGain: (await credit(challenger.client)) - before.challenger,
    claims: state.claims.length,
    oneSteps: state.oneSteps.length,
    refusedOneSteps,
  };
}

describe("end to end on anvil: ts-int receipts, a played dispute, the one-step check on chain", () => {
  it("a fisherman re-executes the batch, disputes the altered receipt and wins: the worker is slashed", async () => {
    // The fisherman replays every receipt of the posted batch and disputes the one whose trace differs.
    const disputed = served.findIndex((s) => s.generation.fields.traceRoot !== s.honest.fields.traceRoot);
    expect(disputed).toBe(1);
    expect(served[1]!.generation.generated).not.toEqual(served[1]!.honest.generated); // the output was altered
    const context = contexts[1]!;
    const batch = await postBatchOf([0, 1]);
    const r = await dispute(
      batch,
      1,
      1,
      { client: owner, generation: served[1]!.generation, context },
      { client: fisherman, generation: served[1]!.honest, context },
    );
    expect(r.rootCountered).toBe(true);
    expect(r.outcome?.rootCountered).toBe(true);
    expect(r.status).toBe(4); // voided
    expect(r.slashed).toBe(D.workerSlash);
    // The cheat tried to defend its wrong leaf; TraceStepVerifier recomputed the right one and refused.
    expect(r.refusedOneSteps.join(" ")).toMatch(/DisputeStepNotCountered/);
    expect(r.challengerGain).toBeGreaterThan(0n);
    expect(r.workerGain).toBe(0n);
    expect(r.oneSteps).toBe(0);
  }, 600_000);

  it("a lying challenger against an honest worker loses: no slash, its bonds go to the worker", async () => {
    const context = contexts[2]!;
    const lie = verifiableGeneration(model, context, OUTPUT_TOKENS, {
      pos: 3,
      layer: 0,
      op: OP.SWIGLU,
      index: 2,
      delta: 1,
    });
    const batch = await postBatchOf([2]);
    const r = await dispute(
      batch,
      0,
      2,
      { client: owner, generation: served[2]!.generation, context },
      { client: liar, generation: lie, context },
    );
    expect(r.rootCountered).toBe(false);
    expect(r.outcome?.rootCountered).toBe(false);
    expect(r.status).toBe(3); // final: the dispute is settled for the worker and the window has passed
    expect(r.slashed).toBe(0n);
    expect(r.workerGain).toBeGreaterThan(0n);
    expect(r.challengerGain).toBe(0n);
    expect(r.refusedOneSteps).toEqual([]);
    expect(r.oneSteps).toBe(1); // the worker proved the attacked leaf on chain
  }, 600_000);
});
