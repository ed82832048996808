import fc from "fast-check";
import { encodeAbiParameters } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GameState, openGame, resolveGame } from "../protocol/dispute/game.ts";
import { applyAction, type PlayerView, solve } from "../protocol/dispute/solver.ts";
import { bytesToHex, type Hex, hexToBytes } from "../protocol/encoding/hex.ts";
import { keccak256, keccakUtf8 } from "../protocol/encoding/keccak.ts";
import { ok } from "../protocol/errors.ts";
import { attackBond, DEFAULT_OTR_PARAMS } from "../protocol/params/otr.ts";
import { receiptDigest } from "../protocol/receipt/receipt.ts";
import { signReceipt } from "../protocol/receipt/verifyReceipt.ts";
import { createRng } from "../protocol/rng/prng.ts";
import { leafOfSigned } from "../protocol/rollup/sequencer.ts";
import { TraceTree } from "../protocol/verifiable/trace.ts";
import { devReceipt, ENCLAVE_KEY, registerTheDevWorker, WORKER } from "../testing/devWorker.ts";
import { type LocalChain, startAnvil } from "./anvil.ts";
import {
  advanceTime,
  becomeSequencer,
  confirm,
  nextBlockMs,
  pinBlockTimes,
  send,
  withHeadroom,
} from "./clients.ts";
import { CONTRACTS_DIR, compileContracts } from "./compile.ts";
import { type ChainClients, clientsFor, type Deployment, deployContract, deployCore } from "./deploy.ts";
import { deployDisputeGame, disputeCall, resolveOnChain, sendDisputeAction } from "./disputeClient.ts";
import { mirrorGame } from "./gameMirror.ts";
import { disputeGameAbi, registryAbi, rollupAbi } from "./generated/contracts.ts";
import { refusedOnChain } from "./revert.ts";

const SEED = keccakUtf8("oracle seed");
const STEPS = 256; // 1 prompt token + 2 output tokens: 512 leaves, depth 9, dissections of 16
const LEAVES = 512;
const TOKEN = 10n ** 18n;
const D = DEFAULT_OTR_PARAMS.dispute;

let chain: LocalChain;
let owner: ChainClients; // deployer, worker operator and sequencer
let challenger: ChainClients;
let griefer: ChainClients;
let d: Deployment;
let game: Hex;
let batches = 0;

/** The oracle's correct leaf i (FormulaStepVerifier): keccak256(abi.encode(seed, i)). */
const correctLeaf = (i: number) =>
  keccak256(hexToBytes(encodeAbiParameters([{ type: "bytes32" }, { type: "uint256" }], [SEED, BigInt(i)])));
const honestTree = new TraceTree(
  Array.from({ length: LEAVES }, (_, i) => correctLeaf(i)),
  keccak256,
);
const cheatTree = (from: number) =>
  new TraceTree(
    Array.from({ length: LEAVES }, (_, i) => (i < from ? correctLeaf(i) : keccakUtf8Bytes(`bad ${i}`))),
    keccak256,
  );
const keccakUtf8Bytes = (s: string) => hexToBytes(keccakUtf8(s));

const nowMs = async (c: ChainClients) => Number((await c.public.getBlock()).timestamp) * 1000;

beforeAll(async () => {
  chain = await startAnvil();
  owner = clientsFor(chain.rpcUrl, chain.chainId, chain.keys[0] as Hex);
  await pinBlockTimes(owner);
  challenger = clientsFor(chain.rpcUrl, chain.chainId, chain.keys[2] as Hex);
  griefer = clientsFor(chain.rpcUrl, chain.chainId, chain.keys[3] as Hex);
  d = await deployCore(owner, {
    unbondingDelaySeconds: 3600n,
    minStake: { worker: TOKEN, evaluator: TOKEN, fisherman: 0n },
    challengeWindowSeconds: 86_400n,
    minSequencerBond: TOKEN,
    proverShareBps: 5_000n,
  });
  // Enough stake for a slash in every game of the property.
  await registerTheDevWorker(owner, d, chain.keys[1] as Hex, {
    stake: 100n * D.workerSlash,
    validSeconds: 30n * 86_400n,
    stepsPerPosition: STEPS,
  });
  await becomeSequencer(owner, d, TOKEN);
  const doubles = compileContracts(CONTRACTS_DIR, ["test/doubles"]);
  const oracle = doubles.FormulaStepVerifier;
  if (!oracle) throw new Error("FormulaStepVerifier did not compile");
  game = await deployDisputeGame(
    owner,
    d,
    await deployContract(owner, oracle.abi, oracle.bytecode, [SEED]),
    D,
  );
}, 60_000);

afterAll(async () => {
  await chain?.stop();
});

/** Posts a batch of one receipt whose trace root is `tree`'s. */
async function postReceipt(tree: TraceTree, i: number) {
  const receipt = devReceipt(i, BigInt(chain.chainId), d.rollup, {
    traceRoot: bytesToHex(tree.root),
    inputTokens: 1,
    outputTokens: 2,
  });
  const signed = signReceipt(receipt, ENCLAVE_KEY);
  const digest = receiptDigest(receipt);
  const root = bytesToHex(leafOfSigned(0, bytesToHex(digest), signed.signature));
  const index = batches++;
  await send(owner, d.rollup, rollupAbi, "postBatch", [BigInt(index), root, 1, "0x"]);
  return { signed, index };
}

/** A receipt of `tree` posted, then challenged at its root by the challenger: its batch, game and subject. */
async function challengeReceipt(tree: TraceTree, i: number) {
  const { signed, index } = await postReceipt(tree, i);
  const { chainId: _c, settlement: _s, ...struct } = signed.receipt;
  const gameId = (await owner.public.readContract({
    address: game,
    abi: disputeGameAbi,
    functionName: "gameCount",
  })) as bigint;
  await send(
    challenger,
    game,
    disputeGameAbi,
    "challenge",
    [BigInt(index), 0, struct, signed.signature, []],
    attackBond(D, 9),
  );
  const subject = {
    traceRoot: signed.receipt.traceRoot,
    leafCount: LEAVES,
    worker: owner.wallet.account.address,
  };
  return { index, gameId, subject, signed };
}

/** Plays one game with the protocol's solver on chain and in TypeScript; returns both outcomes. */
async function play(honest: "worker" | "challenger", divergeAt: number, grief: boolean, seed: number) {
  const rng = createRng(seed);
  const cheat = cheatTree(divergeAt);
  const workerTree = honest === "worker" ? honestTree : cheat;
  const challengerTree = honest === "worker" ? cheat : honestTree;
  const players: [PlayerView, ChainClients][] = [
    [{ me: owner.wallet.account.address, tree: workerTree, stepEvidence: () => "0x" }, owner],
    [{ me: challenger.wallet.account.address, tree: challengerTree, stepEvidence: () => "0x" }, challenger],
  ];
  const credits = async (who: Hex) =>
    (await owner.public.readContract({
      address: game,
      abi: disputeGameAbi,
      functionName: "credits",
      args: [who],
    })) as bigint;
  const before = new Map<string, bigint>();
  for (const who of [owner, challenger, griefer])
    before.set(who.wallet.account.address, await credits(who.wallet.account.address));
  const stakeBefore = (await owner.public.readContract({
    address: d.registry,
    abi: registryAbi,
    functionName: "atRisk",
    args: [WORKER],
  })) as bigint;
  // Open on chain, then mirror in TypeScript at the same time.
  const { index, gameId, subject } = await challengeReceipt(workerTree, seed);
  const opened = openGame(subject, D, challenger.wallet.account.address, await nowMs(owner));
  if (!opened.ok) throw new Error(opened.error.message);
  const state: GameState = opened.value;
  const verify = (i: number) => ok(i >= LEAVES ? new Uint8Array(32) : correctLeaf(i));
  for (let round = 0; round < 200; round++) {
    let acted = false;
    for (const [view, client] of players) {
      for (const action of solve(state, view, await nowMs(owner))) {
        if (action.type === "resolve") continue;
        // A one-step the chain refuses (the cheat's) is refused in TypeScript too.
        // The chain judges a move at the time of the block it would land in: the mirror does the same.
        const at = await nextBlockMs(owner);
        let sent = true;
        try {
          const { claims } = await mirrorGame(owner, game, gameId, subject, D);
          await sendDisputeAction(client, game, { state, claims }, gameId, action, () => "0x");
        } catch {
          sent = false;
        }
        const applied = applyAction(state, action, view.me, at, verify, keccak256);
        expect(applied.ok, `${action.type} on chain ${sent}, in TypeScript ${applied.ok}`).toBe(sent);
        acted ||= sent;
        // A griefer attacks a correct child of each fresh dissection by the honest worker.
        if (sent && grief && action.type === "dissect" && honest === "worker" && rng.float() < 0.6) {
          const dissection = state.claims.length - 1;
          const child = rng.int(action.children.length);
          const g = { type: "attack" as const, parent: dissection, child };
          const at = await nextBlockMs(owner);
          let ok2 = true;
          try {
            const { claims } = await mirrorGame(owner, game, gameId, subject, D);
            await sendDisputeAction(griefer, game, { state, claims }, gameId, g, () => "0x");
          } catch {
            ok2 = false;
          }
          expect(applyAction(state, g, griefer.wallet.account.address, at, verify, keccak256).ok).toBe(ok2);
        }
      }
    }
    const t = await nowMs(owner);
    if (resolveGame(state, t)) break;
    await advanceTime(owner, acted ? 60 : 900);
  }
  // Past every deadline: resolve on chain in slices of 3 claims, and in TypeScript. The mirror rebuilt
  // from the events is the game the test played.
  await advanceTime(owner, 3600);
  const mirrored = await mirrorGame(owner, game, gameId, subject, D);
  expect(mirrored.state?.claims).toEqual(state.claims);
  await resolveOnChain(owner, game, gameId, mirrored.claims, 3);
  const outcome = resolveGame(state, await nowMs(owner));
  if (!outcome) throw new Error("the TypeScript game is not resolvable");
  const onChain = (await owner.public.readContract({
    address: game,
    abi: disputeGameAbi,
    functionName: "game",
    args: [gameId],
  })) as {
    rootCountered: boolean;
  };
  const countered: boolean[] = [];
  for (let i = 0; i < state.claims.length; i++) {
    const [, , claimCountered] = (await owner.public.readContract({
      address: game,
      abi: disputeGameAbi,
      functionName: "claimState",
      args: [gameId, BigInt(i)],
    })) as readonly [number, boolean, boolean, Hex];
    countered.push(claimCountered);
  }
  const ethPayouts = new Map<string, bigint>();
  for (const p of outcome.payouts)
    if (p.to !== "burn" && !p.reason.includes("slash"))
      ethPayouts.set(p.to.toLowerCase(), (ethPayouts.get(p.to.toLowerCase()) ?? 0n) + p.amount);
  const chainPayouts = new Map<string, bigint>();
  for (const who of [owner, challenger, griefer]) {
    const a = who.wallet.account.address;
    const delta = (await credits(a)) - (before.get(a) ?? 0n);
    if (delta > 0n) chainPayouts.set(a.toLowerCase(), delta);
  }
  const status = await owner.public.readContract({
    address: d.rollup,
    abi: rollupAbi,
    functionName: "status",
    args: [BigInt(index), 0],
  });
  const stakeAfter = (await owner.public.readContract({
    address: d.registry,
    abi: registryAbi,
    functionName: "atRisk",
    args: [WORKER],
  })) as bigint;
  const slashed = stakeBefore - stakeAfter;
  return {
    outcome,
    onChain,
    countered,
    ethPayouts,
    chainPayouts,
    status,
    claims: state.claims.length,
    slashed,
  };
}

describe("DisputeGame.sol = the TypeScript game, both played by the protocol's solver", () => {
  it("property: the same countered claims, bond payouts, receipt status and slash in every game", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("worker" as const, "challenger" as const),
        fc.integer({ min: 0, max: LEAVES - 1 }),
        fc.boolean(),
        fc.nat({ max: 1_000_000 }),
        async (honest, divergeAt, grief, seed) => {
          const r = await play(honest, divergeAt, grief, seed);
          expect(r.onChain.rootCountered).toBe(r.outcome.rootCountered);
          expect(r.outcome.rootCountered).toBe(honest === "challenger");
          expect(r.countered.slice(1)).toEqual(r.outcome.countered.slice(1));
          expect(r.chainPayouts).toEqual(r.ethPayouts);
          // Rollup: voided (4) when the worker lost; otherwise posted (1) again until its 1-day window ends.
          expect(Number(r.status)).toBe(honest === "challenger" ? 4 : 1);
          expect(r.slashed).toBe(honest === "challenger" ? D.workerSlash : 0n);
          // Every game bisects all the way down (a dissection per level, at least).
          expect(r.claims).toBeGreaterThanOrEqual(6);
        },
      ),
      {
        numRuns: 8,
        seed: 3,
        examples: [
          ["challenger", 0, false, 1],
          ["challenger", LEAVES - 1, false, 2],
          ["worker", 257, true, 3],
        ],
      },
    );
  }, 180_000);
});

describe("dispute moves sent from a node", () => {
  it("are mined when their block comes seconds after the gas estimate, whose later deadline costs a store", async () => {
    const { gameId, subject } = await challengeReceipt(honestTree, 9_999);
    const mirrored = await mirrorGame(owner, game, gameId, subject, D);
    if (!mirrored.state) throw new Error("no game");
    const view = { me: owner.wallet.account.address, tree: honestTree, stepEvidence: () => "0x" };
    const [dissect] = solve(mirrored.state, view, await nowMs(owner));
    if (dissect?.type !== "dissect") throw new Error(`expected a dissection, got ${dissect?.type}`);
    const call = disputeCall(mirrored.state, mirrored.claims, gameId, dissect, () => "0x");
    const request = { address: game, abi: disputeGameAbi, ...call, account: owner.wallet.account } as never;
    // Estimated in the challenge's block, as a node does in the second it sees the challenge.
    const estimate = await owner.public.estimateContractGas({
      ...(request as object),
      blockTag: "latest",
    } as never);
    const latest = async () => Number((await owner.public.getBlock()).timestamp);
    // Mined 30 s after the estimate's block (a slow node, a busy chain): the bare estimate runs out.
    await owner.public.request({
      method: "evm_setNextBlockTimestamp",
      params: [(await latest()) + 30],
    } as never);
    const bare = await owner.wallet.writeContract({ ...(request as object), gas: estimate } as never);
    expect((await owner.public.waitForTransactionReceipt({ hash: bare })).status).toBe("reverted");
    await owner.public.request({
      method: "evm_setNextBlockTimestamp",
      params: [(await latest()) + 30],
    } as never);
    const limit = (await owner.public.getBlock()).gasLimit;
    const padded = await owner.wallet.writeContract({
      ...(request as object),
      gas: withHeadroom(estimate, limit),
    } as never);
    expect((await owner.public.waitForTransactionReceipt({ hash: padded })).status).toBe("success");
  }, 60_000);

  it("tell a challenge the contract refuses (not retried) from one that did not reach the chain (retried)", async () => {
    const { index, signed } = await challengeReceipt(honestTree, 9_998);
    const { chainId: _c, settlement: _s, ...struct } = signed.receipt;
    const args = [BigInt(index), 0, struct, signed.signature, []];
    // Disputed already: refused when estimated.
    const twice = await send(challenger, game, disputeGameAbi, "challenge", args, attackBond(D, 9)).catch(
      (e) => e,
    );
    expect(refusedOnChain(twice)).toBe(true);
    // Mined and reverted (sent with too little gas to run).
    const hash = await challenger.wallet.writeContract({
      address: game,
      abi: disputeGameAbi,
      functionName: "challenge",
      args,
      value: attackBond(D, 9),
      gas: 60_000n,
    } as never);
    expect(refusedOnChain(await confirm(challenger, "challenge", hash).catch((e) => e))).toBe(true);
    // No chain there: not a refusal.
    const nowhere = clientsFor("http://127.0.0.1:9", chain.chainId, chain.keys[2] as Hex);
    const offline = await send(nowhere, game, disputeGameAbi, "challenge", args, attackBond(D, 9)).catch(
      (e) => e,
    );
    expect(offline).toBeInstanceOf(Error);
    expect(refusedOnChain(offline)).toBe(false);
  }, 60_000);

  it("take a quarter more gas than estimated and 25,000, within the block's limit", () => {
    expect(withHeadroom(100_000n, 30_000_000n)).toBe(150_000n);
    expect(withHeadroom(29_000_000n, 30_000_000n)).toBe(30_000_000n);
    expect(withHeadroom(31_000_000n, 30_000_000n)).toBe(31_000_000n);
  });
});
