/**
 * The worker adversaries on a devnet (issue: "each adversary is caught and pays as the spec says,
 * asserted on chain"): workers whose forward pass is faulted, that run a cheaper model, that run
 * nothing, whose enclave key leaked (half their receipts forged), or that withhold their contexts serve requests with valid, signed
 * receipts; the fisherman re-executes the posted batch, disputes the receipt whose trace root differs,
 * the cheat cannot defend it, and the game resolves on chain: the receipt is voided, the worker's
 * stake slashed by the spec's workerSlash, the fisherman credited; honest receipts become final. And
 * the other way round: a lying challenger against an honest worker's receipt loses — the worker
 * defends it from the context it kept, proves the attacked leaf on chain, keeps its stake and wins the
 * liar's bonds, killed and restarted meanwhile with a retention the game outlasts (it keeps the disputed
 * context and forgets a later one); when a reorganisation takes the game's resolution off the chain, it
 * resolves the game again, and again after a restart between its resolution and the loss. A worker that also withholds what it served (404 on its traces) is
 * disputed all the same: the fisherman re-executes from the gateway's copy of the request, which the gateway gives only
 * to registered checkers who sign for it. The fisherman is killed (-9) once it has a game open and restarted: it plays its open
 * games on from SQLite and the chain and checks the batches it had not reached.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEventLogs } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { send } from "../../src/chain/clients.ts";
import { clientsFor, publicClientFor } from "../../src/chain/deploy.ts";
import { playTurn } from "../../src/chain/disputePlayer.ts";
import {
  disputeGameAbi,
  registryAbi,
  rollupAbi,
  spotChecksAbi,
} from "../../src/chain/generated/contracts.ts";
import { deployedFrom } from "../../src/chain/logs.ts";
import { encodeStepEvidence } from "../../src/chain/stepEvidence.ts";
import { loadCheckpoint, quantizeCheckpoint } from "../../src/engine/llama2c/modelFiles.ts";
import {
  type Devnet,
  type DevnetProcess,
  spawnRole,
  startDevnet,
  stopProcess,
} from "../../src/node/devnet/devnet.ts";
import type { AnswerReceipt } from "../../src/node/devnet/receiptCheck.ts";
import { signRoleMessage } from "../../src/node/roleAuth.ts";
import { cheatsOn } from "../../src/node/services/worker/adversaries.ts";
import { traceStepEvidence } from "../../src/protocol/dispute/traceStep.ts";
import { attackBond, DEVNET_OTR_PARAMS } from "../../src/protocol/params/otr.ts";
import { validateSignedReceipt } from "../../src/protocol/receipt/receipt.ts";
import type { ExecutionContext } from "../../src/protocol/verifiable/replay.ts";
import { OP, treeDepth } from "../../src/protocol/verifiable/trace.ts";
import { verifiableGeneration } from "../../src/protocol/verifiable/verifiableGeneration.ts";
import { killAndRestart } from "../../src/testing/killAndRestart.ts";
import { withReorganisation } from "../../src/testing/reorganisation.ts";

let devnet: Devnet;

beforeAll(async () => {
  devnet = await startDevnet({
    dir: mkdtempSync(join(tmpdir(), "verinfer-adversary-")),
    workers: 6,
    adversary: "none",
    adversaries: ["none", "wrong-output", "downgrade", "lazy", "leaked-key", "withholding"],
    gatewayPort: 0,
    rpcPort: 0,
    evaluators: 0,
  });
}, 180_000);

let restartedFisherman: DevnetProcess | null = null;
let restartedWorker: DevnetProcess | null = null;

afterAll(async () => {
  if (restartedFisherman) await stopProcess(restartedFisherman.child);
  if (restartedWorker) await stopProcess(restartedWorker.child);
  await devnet?.stop();
});

/** A view call on the devnet's chain. */
const read = (
  address: `0x${string}`,
  abi: readonly unknown[],
  functionName: string,
  args: readonly unknown[],
) =>
  publicClientFor(devnet.rpcUrl, devnet.deployment.chainId).readContract({
    address,
    abi,
    functionName,
    args,
  } as never) as Promise<unknown>;

/** A JSON-RPC call to the devnet's chain. */
const rpc = (method: string, params: unknown[] = []): Promise<unknown> =>
  publicClientFor(devnet.rpcUrl, devnet.deployment.chainId).request({ method, params } as never);

describe("devnet adversaries", () => {
  it("wrong output, downgrade, lazy and a leaked key's forgeries are each disputed by the fisherman, voided and slashed on chain; honest receipts become final", async () => {
    const cheaters = devnet.workers.filter((w) => w.adversary !== "none");
    expect(cheaters.map((w) => w.adversary)).toEqual([
      "wrong-output",
      "downgrade",
      "lazy",
      "leaked-key",
      "withholding",
    ]);
    const stakeOf = async (w: string) =>
      ((await read(devnet.deployment.registry, registryAbi, "participant", [w])) as unknown[])[5] as bigint;
    const before = new Map<string, bigint>();
    for (const c of cheaters) before.set(c.address, await stakeOf(c.address));
    const fisherman = devnet.fisherman?.address as `0x${string}`;
    const game = devnet.deployment.disputeGame as `0x${string}`;
    const workerOf = (a: AnswerReceipt) => (a.receipt as { worker: string }).worker;
    /** A receipt its worker's cheat made (a leaked key forges half of them; the TEE serves the rest). */
    const forgedBy = (a: AnswerReceipt, c: (typeof cheaters)[number]) =>
      c.address === workerOf(a) && cheatsOn(c.adversary, a.requestId);
    const forged = (a: AnswerReceipt) => cheaters.some((c) => forgedBy(a, c));

    // Requests until every cheat has served one (routing spreads them over the four workers).
    const answers: AnswerReceipt[] = [];
    while (!cheaters.every((c) => answers.some((a) => forgedBy(a, c)))) {
      const response = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          messages: [{ role: "user", content: `request ${answers.length}` }],
          max_tokens: 6,
        }),
      });
      expect(response.status).toBe(200);
      answers.push(((await response.json()) as { verinfer: AnswerReceipt }).verinfer);
      // A guard only: the leaked key forges half of its worker's receipts, and that worker may get one
      // request in ten (80 once ended a run with its 9 all honest).
      if (answers.length > 200) throw new Error("a cheat was never routed to");
    }
    // The withholding worker gives out nothing of what it cheated on; the gateway's copy of each request
    // goes only to registered checkers who sign for it.
    const withholder = cheaters.find((c) => c.adversary === "withholding") as (typeof cheaters)[number];
    const withheld = answers.find((a) => forgedBy(a, withholder)) as AnswerReceipt;
    expect((await fetch(`${withholder.url}/v1/traces/${withheld.requestId}`)).status).toBe(404);
    const path = `/v1/requests/${withheld.requestId}`;
    const asked = (headers: Record<string, string>) => fetch(`${devnet.gatewayUrl}${path}`, { headers });
    const unsigned = await asked({});
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { error: { code: string } }).error.code).toBe("NODE_AUTH_INVALID");
    const stranger = devnet.keys[7] as `0x${string}`; // funded, but neither fisherman nor evaluator
    expect((await asked(signRoleMessage(stranger, "GET", path, "", Date.now()))).status).toBe(401);
    const copy = await asked(signRoleMessage(devnet.keys[8] as `0x${string}`, "GET", path, "", Date.now()));
    expect(copy.status).toBe(200);
    expect(((await copy.json()) as { requestId: string }).requestId.toLowerCase()).toBe(
      withheld.requestId.toLowerCase(),
    );
    // kill -9 the fisherman once it has a game open; restarted, it plays its open games on from SQLite
    // and the chain, and checks the batches it had not reached.
    const openGames = async (url: string) =>
      ((await (await fetch(`${url}/v1/disputes`)).json()) as { games: { status: string }[] }).games.filter(
        (g) => g.status === "open",
      ).length;
    const first = devnet.fisherman as DevnetProcess;
    for (let i = 0; i < 120 && (await openGames(first.url)) === 0; i++)
      await new Promise((r) => setTimeout(r, 250));
    first.child.kill("SIGKILL");
    restartedFisherman = await spawnRole(
      "fisherman",
      first.config,
      join(devnet.dir, "logs", "fisherman-2.log"),
    );
    const settled = new Map<string, AnswerReceipt>();
    for (let i = 0; i < 240 && settled.size < answers.length; i++) {
      for (const a of answers) {
        const r = (await (
          await fetch(`${devnet.gatewayUrl}/v1/receipts/${a.requestId}`)
        ).json()) as AnswerReceipt;
        if (r.status === "final" || r.status === "voided") settled.set(a.requestId, r);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(settled.size).toBe(answers.length);
    for (const a of settled.values()) {
      const cheat = forged(a);
      expect(a.status, workerOf(a)).toBe(cheat ? "voided" : "final");
      const onChain = Number(
        await read(devnet.deployment.rollup, rollupAbi, "status", [BigInt(a.batch ?? 0), a.position]),
      );
      expect(onChain).toBe(cheat ? 4 : 3); // Voided : Final
    }
    // Each cheating receipt cost its worker the spec's slash; the fisherman was paid from it and the bonds
    // (at most its whole stake: the registry slashes what is there). A cheat proves no spot-check either:
    // a receipt of its that the 1% draw picked costs it the missing proof's slash too, as taken on chain.
    const spotChecks = devnet.deployment.spotChecks as `0x${string}`;
    const spotSlashes = (
      (await publicClientFor(devnet.rpcUrl, devnet.deployment.chainId).getContractEvents({
        address: spotChecks,
        abi: spotChecksAbi,
        fromBlock: deployedFrom(devnet.deployment),
      })) as unknown as { eventName: string; args: { worker?: string; amount?: bigint } }[]
    ).filter((l) => l.eventName === "ObligationSlashed" || l.eventName === "BindingBroken");
    for (const c of cheaters) {
      const served = BigInt(answers.filter((a) => forgedBy(a, c)).length);
      const had = before.get(c.address) as bigint;
      const owed = served * DEVNET_OTR_PARAMS.dispute.workerSlash;
      const spot = spotSlashes
        .filter((l) => l.args.worker?.toLowerCase() === c.address.toLowerCase())
        .reduce((sum, l) => sum + (l.args.amount ?? 0n), 0n);
      const left = had - spot;
      expect(had - (await stakeOf(c.address)), c.adversary).toBe(spot + (owed < left ? owed : left));
    }
    // The bonds the games credited the fisherman (its own back, and the cheats') are withdrawn, not
    // left in the contract: the fisherman's next bonds need that ETH.
    const credited = async () => (await read(game, disputeGameAbi, "credits", [fisherman])) as bigint;
    for (let i = 0; i < 40 && (await credited()) > 0n; i++) await new Promise((r) => setTimeout(r, 250));
    expect(await credited()).toBe(0n);
    // By the fisherman before its crash or after its restart (games may all resolve at the crash).
    // (It logs once its withdrawal is confirmed, which the chain shows a moment before.)
    const withdrawn = () =>
      ["fisherman.log", "fisherman-2.log"]
        .flatMap((f) => readFileSync(join(devnet.dir, "logs", f), "utf8").split("\n"))
        .filter((l) => l.includes('"msg":"dispute bonds withdrawn"'))
        .reduce((sum, l) => sum + BigInt((JSON.parse(l) as { wei: string }).wei), 0n);
    for (let i = 0; i < 40 && withdrawn() === 0n; i++) await new Promise((r) => setTimeout(r, 250));
    expect(withdrawn()).toBeGreaterThan(0n);
    const disputes = (await (await fetch(`${restartedFisherman.url}/v1/disputes`)).json()) as {
      games: { status: string }[];
      sampling: { configured: number; rate: number; secondsPerReexecution: number | null };
    };
    // This traffic is far under what the fisherman re-executes in a window: it re-executed at its
    // configured rate, every receipt.
    expect(disputes.sampling).toMatchObject({ configured: 1, share: 0.8, rate: 1 });
    expect(disputes.sampling.secondsPerReexecution).toBeGreaterThan(0);
    const cheatReceipts = answers.filter(forged).length;
    expect(disputes.games.map((g) => g.status)).toEqual(Array(cheatReceipts).fill("won"));
  }, 400_000);

  it("a lying challenger against an honest receipt loses: the worker defends it, keeps its stake, wins the bonds", async () => {
    const honest = devnet.workers.find((w) => w.adversary === "none") as Devnet["workers"][number];
    const game = devnet.deployment.disputeGame as `0x${string}`;
    const liar = clientsFor(devnet.rpcUrl, devnet.deployment.chainId, devnet.keys[7] as `0x${string}`);
    const model = quantizeCheckpoint(loadCheckpoint(join(devnet.dir, "model", "tiny.bin")), "tiny");
    const honestAnswer = async (content: string) => {
      for (;;) {
        const response = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ messages: [{ role: "user", content }], max_tokens: 4 }),
        });
        const ext = ((await response.json()) as { verinfer: AnswerReceipt }).verinfer;
        if ((ext.receipt as { worker: string }).worker === honest.address) return ext;
      }
    };
    // An honest receipt, fresh in its window; and one the worker served after it, which nobody disputes.
    const a = await honestAnswer("defend me");
    const after = await honestAnswer("forget me");
    let posted: AnswerReceipt = a;
    while (posted.status !== "posted") {
      await new Promise((r) => setTimeout(r, 200));
      posted = (await (
        await fetch(`${devnet.gatewayUrl}/v1/receipts/${a.requestId}`)
      ).json()) as AnswerReceipt;
    }
    const signed = validateSignedReceipt({ receipt: posted.receipt, signature: posted.signature });
    if (!signed.ok) throw new Error(signed.error.message);
    const r = signed.value.receipt;
    const { context } = (await (await fetch(`${honest.url}/v1/traces/${r.requestId}`)).json()) as {
      context: ExecutionContext;
    };
    // The liar's "re-execution" differs at one step.
    const lie = verifiableGeneration(model, context, r.outputTokens, {
      pos: 1,
      layer: 0,
      op: OP.SWIGLU,
      index: 2,
      delta: 1,
    });
    expect(lie.fields.traceRoot).not.toBe(r.traceRoot);
    const stakeBefore = (
      (await read(devnet.deployment.registry, registryAbi, "participant", [honest.address])) as unknown[]
    )[5];
    const { chainId: _c, settlement: _s, ...fields } = r;
    const challenge = await send(
      liar,
      game,
      disputeGameAbi,
      "challenge",
      [BigInt(posted.batch ?? 0), posted.position, fields, signed.value.signature, posted.proof],
      attackBond(DEVNET_OTR_PARAMS.dispute, treeDepth(lie.outputs.length)),
    );
    // The game's id from the challenge's own GameOpened event: the fisherman opens games against the
    // cheaters' receipts meanwhile, so the count read before the challenge can name one of those (the
    // liar then played the fisherman's game and never its own, and this test failed now and then).
    const [opened] = parseEventLogs({
      abi: disputeGameAbi,
      eventName: "GameOpened",
      logs: (await liar.public.getTransactionReceipt({ hash: challenge })).logs,
    });
    if (!opened) throw new Error(`the challenge ${challenge} opened no game`);
    const gameId = (opened.args as { game: bigint }).game;
    // kill -9 the defending worker once it has taken the game up; restarted from its store and resume
    // point, it must find the game again (its resume point never passes a game it still plays). It comes
    // back keeping contexts for 8 s only, a retention the game outlasts.
    const log = join(devnet.dir, "logs", `worker-${devnet.workers.indexOf(honest) + 1}.log`);
    const defending = () => existsSync(log) && readFileSync(log, "utf8").includes("defending it");
    for (let i = 0; i < 60 && !defending(); i++) await new Promise((res) => setTimeout(res, 250));
    expect(defending()).toBe(true);
    const defender = await killAndRestart(honest, devnet.dir, "worker-defender-restarted", undefined, {
      contextRetentionSeconds: 8,
    });
    restartedWorker = defender;
    // Its sweeps forget the later request once 8 s have passed; the disputed one, served before it, is
    // kept while its game is played (the liar has not moved yet: the game cannot have been resolved).
    const traceStatus = async (requestId: string) =>
      (await fetch(`${defender.url}/v1/traces/${requestId}`)).status;
    for (let i = 0; i < 120 && (await traceStatus(after.requestId)) !== 404; i++)
      await new Promise((res) => setTimeout(res, 250));
    expect(await traceStatus(after.requestId)).toBe(404);
    expect(await traceStatus(a.requestId)).toBe(200);
    const gameOnChain = async () =>
      (await read(game, disputeGameAbi, "game", [gameId])) as { resolved: boolean; rootCountered: boolean };
    expect((await gameOnChain()).resolved).toBe(false);
    const evidence = (i: number) =>
      traceStepEvidence(model, context, lie.outputs, (j) => lie.tree.proof(j), i);
    /** The liar plays until the game is resolved (whether the worker's root was countered), or `until`. */
    const playLiar = async (until = () => false) => {
      for (let i = 0; i < 240 && !until(); i++) {
        const turn = await playTurn(
          liar,
          game,
          gameId,
          { traceRoot: r.traceRoot, leafCount: lie.outputs.length, worker: r.worker },
          DEVNET_OTR_PARAMS.dispute,
          { me: liar.wallet.account.address, tree: lie.tree, stepEvidence: evidence },
          (j) => encodeStepEvidence(model, j, evidence(j)),
        );
        if (turn.resolved) return turn.rootCountered;
        const onChain = await gameOnChain();
        if (onChain.resolved) return onChain.rootCountered;
        await new Promise((res) => setTimeout(res, 500));
      }
      return null;
    };
    const restartedLog = () =>
      readFileSync(join(devnet.dir, "logs", "worker-defender-restarted.log"), "utf8");
    const againLog = () =>
      readFileSync(join(devnet.dir, "logs", "worker-defender-restarted-again.log"), "utf8");
    // Played until the worker has proven the attacked leaf on chain, which decides the game.
    expect(await playLiar(() => /"moves":\["oneStep"\]/.test(restartedLog()))).toBeNull();
    // Its resolution, once the clocks ran out, and the worker's withdrawal of the bonds, are then taken off
    // the chain by a reorganisation, after the worker saw them. The liar stays away from then on: the
    // worker, watching the games it saw resolved, must resolve it again, or its bonds stay in the game.
    let seen = "";
    await withReorganisation(rpc, async () => {
      expect(await playLiar()).toBe(false);
      for (let i = 0; i < 60 && !/"msg":"dispute bonds withdrawn"/.test(restartedLog()); i++)
        await new Promise((res) => setTimeout(res, 250));
      seen = restartedLog();
    });
    expect(seen).toMatch(/"msg":"dispute resolved"/);
    expect(seen).toMatch(/"msg":"dispute bonds withdrawn"/);
    // At once (the snapshot before the worker resolves it again): that second resolution is taken off the
    // chain too, after the worker saw it and was killed and restarted. Restarted, it watches the games over
    // its receipts resolved shortly before its start, and resolves this one a third time.
    await withReorganisation(rpc, async () => {
      expect((await gameOnChain()).resolved).toBe(false);
      for (let i = 0; i < 120 && !/"msg":"dispute resolved"/.test(restartedLog().slice(seen.length)); i++)
        await new Promise((res) => setTimeout(res, 500));
      expect(await gameOnChain()).toMatchObject({ resolved: true, rootCountered: false });
      expect(restartedLog().slice(seen.length)).toMatch(
        /no longer on chain \(reorganised\): defending it again/,
      );
      // It withdrew the bonds again (the first withdrawal was lost with the resolution), and counts one.
      const withdrawals = () =>
        [...restartedLog().matchAll(/"wei":"(\d+)","msg":"dispute bonds withdrawn"/g)].map((m) =>
          BigInt(m[1] ?? 0),
        );
      for (let i = 0; i < 60 && withdrawals().length < 2; i++)
        await new Promise((res) => setTimeout(res, 250));
      expect(withdrawals()).toHaveLength(2);
      expect(restartedLog()).toMatch(/withdrawal of dispute bonds is no longer on chain \(reorganised\)/);
      const counted = (await (await fetch(`${defender.url}/health`)).json()) as {
        disputeBondsWithdrawnWei: string;
      };
      expect(BigInt(counted.disputeBondsWithdrawnWei)).toBe(withdrawals()[1]);
      restartedWorker = await killAndRestart(defender, devnet.dir, "worker-defender-restarted-again");
      for (let i = 0; i < 120 && !/resolved recently: watched/.test(againLog()); i++)
        await new Promise((res) => setTimeout(res, 250));
      expect(againLog()).toMatch(/resolved recently: watched/);
    });
    expect((await gameOnChain()).resolved).toBe(false);
    for (let i = 0; i < 60 && !(await gameOnChain()).resolved; i++)
      await new Promise((res) => setTimeout(res, 500));
    expect(await gameOnChain()).toMatchObject({ resolved: true, rootCountered: false }); // the worker's root stands
    expect(againLog()).toMatch(/no longer on chain \(reorganised\): defending it again/);
    // The restart picked up from its saved block, not from the deployment's, and still defended.
    expect(restartedLog()).toMatch(/"msg":"resuming from the saved block"/);
    expect(restartedLog()).toMatch(/"msg":"defence moves mined"/);
    expect(restartedLog()).toMatch(/kept for less than the protocol's horizon/);
    expect(restartedLog()).toMatch(/"msg":"forgot served requests past the dispute horizon"/);
    expect(
      (
        (await read(devnet.deployment.registry, registryAbi, "participant", [honest.address])) as unknown[]
      )[5],
    ).toBe(stakeBefore);
    expect((await read(game, disputeGameAbi, "credits", [liar.wallet.account.address])) as bigint).toBe(0n);
    // The worker withdraws, again, the bonds the game credited its operator: its own back and the liar's.
    const credited = () => read(game, disputeGameAbi, "credits", [honest.operator]) as Promise<bigint>;
    for (let i = 0; i < 30 && (await credited()) > 0n; i++) await new Promise((res) => setTimeout(res, 500));
    expect(await credited()).toBe(0n);
    // Counted once the withdrawal is read back mined (a moment after the credits read 0).
    const health = async () =>
      (await (await fetch(`${restartedWorker?.url}/health`)).json()) as {
        disputes: { gameId: string; rootCountered: boolean }[];
        disputeBondsWithdrawnWei: string;
      };
    for (let i = 0; i < 20 && (await health()).disputeBondsWithdrawnWei === "0"; i++)
      await new Promise((res) => setTimeout(res, 250));
    expect((await health()).disputes).toContainEqual({ gameId: String(gameId), rootCountered: false });
    expect(BigInt((await health()).disputeBondsWithdrawnWei)).toBeGreaterThan(0n);
  }, 300_000);
});
