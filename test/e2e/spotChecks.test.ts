/**
 * Spot-checks on the devnet: with ρ = 100% every posted receipt is selected; the fisherman fixes each
 * batch's seed and opens the obligations, and each worker proves the selected slice of its receipt
 * with the committed Groth16 setup and submits it before the deadline: every obligation is Proven on
 * chain, and the client's answers did not wait for any of it (proofs are off the request path). A lazy
 * worker that cannot prove its obligation is reported by the fisherman once the deadline has passed
 * (`slashMissing`) and slashed on chain, the fisherman paid its reporter's share.
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeFunctionData, type Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { send } from "../../src/chain/clients.ts";
import { clientsFor, publicClientFor } from "../../src/chain/deploy.ts";
import { rollupAbi, spotChecksAbi, verinferTokenAbi } from "../../src/chain/generated/contracts.ts";
import { batchInfo } from "../../src/chain/postedBatches.ts";
import { revertReason } from "../../src/chain/revert.ts";
import { depositStake, stakeState } from "../../src/chain/stake.ts";
import { type Devnet, type DevnetProcess, startDevnet, stopProcess } from "../../src/node/devnet/devnet.ts";
import type { AnswerReceipt } from "../../src/node/devnet/receiptCheck.ts";
import { addressOfKey } from "../../src/node/roleAuth.ts";
import { DEVNET_OTR_PARAMS } from "../../src/protocol/params/otr.ts";
import { validateSignedReceipt } from "../../src/protocol/receipt/receipt.ts";
import { killAndRestart } from "../../src/testing/killAndRestart.ts";

let devnet: Devnet;

beforeAll(async () => {
  devnet = await startDevnet({
    dir: mkdtempSync(join(tmpdir(), "verinfer-spotchecks-")),
    workers: 3,
    adversary: "none",
    adversaries: ["none", "none", "lazy"],
    gatewayPort: 0,
    rpcPort: 0,
    evaluators: 0,
    rhoPpm: 1_000_000,
  });
}, 180_000);

let restarted: DevnetProcess | null = null;
let restartedAgain: DevnetProcess | null = null;
let restartedFisherman: DevnetProcess | null = null;
afterAll(async () => {
  for (const p of [restarted, restartedAgain, restartedFisherman]) if (p) await stopProcess(p.child);
  await devnet?.stop();
});

/** The fisherman running now. */
const liveFisherman = () => restartedFisherman ?? (devnet.fisherman as DevnetProcess);

/** The fisherman's log lines so far (and, once it was restarted, the restarted one's). */
const fishermanLog = () =>
  ["fisherman", "fisherman-restarted"]
    .filter((name) => name === "fisherman" || restartedFisherman)
    .flatMap((name) => readFileSync(join(devnet.dir, "logs", `${name}.log`), "utf8").split("\n"))
    .filter((l) => l.startsWith("{"))
    .map(
      (l) =>
        JSON.parse(l) as {
          msg: string;
          time: number;
          batch?: number;
          position?: number;
          verdict?: string;
          fromBatch?: number;
        },
    );

/** The fisherman's passes that failed since `t` (ms). */
const failedPassesSince = (t: number) =>
  fishermanLog().filter((l) => l.time >= t && l.msg === "fisherman pass failed; will retry");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (ok: () => boolean) => {
  for (let i = 0; i < 40 && !ok(); i++) await sleep(250);
};
const chain = () => publicClientFor(devnet.rpcUrl, devnet.deployment.chainId);
const rpc = (method: string, params: unknown[] = []) =>
  chain().request({ method, params } as never) as Promise<unknown>;

/** SpotChecks.Status: None, Open, Proven. */
const NONE = 0;
const OPEN = 1;
const PROVEN = 2;
const status = async (batch: bigint, position: number) =>
  Number(
    (
      (await chain().readContract({
        address: devnet.deployment.spotChecks as Hex,
        abi: spotChecksAbi,
        functionName: "obligation",
        args: [batch, position],
      } as never)) as { status: number }
    ).status,
  );

/** Asks the gateway for a short answer. */
const ask = (content: string) =>
  fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content }], max_tokens: 4 }),
  });

/**
 * Tops the honest workers' stake up to what they registered with, as their operators would. The tests
 * that move the chain's clock (blocks mined by hand run it ahead of the wall clock; a proof's block put
 * past its deadline) make the proofs waiting with it late too: in one CI run both honest workers were
 * slashed below the minimum stake, and the gateway had no worker left for the test after them.
 */
async function restakeHonestWorkers(): Promise<void> {
  const owner = clientsFor(devnet.rpcUrl, devnet.deployment.chainId, devnet.keys[0] as Hex);
  const registered = 2n * DEVNET_OTR_PARAMS.poea.minWorkerStake;
  for (const w of devnet.workers.filter((x) => x.adversary === "none")) {
    const { active, operator } = await stakeState(chain(), devnet.deployment, w.address as Hex);
    if (active >= registered) continue;
    const key = devnet.keys.find((k) => addressOfKey(k).toLowerCase() === operator?.toLowerCase());
    if (!key) throw new Error(`no devnet key operates ${w.address}`);
    await send(owner, devnet.deployment.token as Hex, verinferTokenAbi, "mint", [
      operator,
      registered - active,
    ]);
    await depositStake(
      clientsFor(devnet.rpcUrl, devnet.deployment.chainId, key),
      devnet.deployment,
      w.address as Hex,
      registered - active,
    );
  }
}

/** The SpotChecks calls waiting in anvil's pool. */
async function pooled(): Promise<
  { hash: Hex; from: Hex; functionName: string; batch: bigint; position: number }[]
> {
  type Pooled = { hash: Hex; from: Hex; to: string | null; input: Hex };
  const pool = (await rpc("txpool_content")) as { pending: Record<string, Record<string, Pooled>> };
  return Object.values(pool.pending)
    .flatMap((byNonce) => Object.values(byNonce))
    .filter((tx) => tx.to?.toLowerCase() === (devnet.deployment.spotChecks as string).toLowerCase())
    .map((tx) => {
      const call = decodeFunctionData({ abi: spotChecksAbi, data: tx.input });
      const [batch, position] = (call.args ?? []) as unknown as [bigint, number];
      return {
        hash: tx.hash,
        from: tx.from,
        functionName: call.functionName,
        batch,
        position: Number(position),
      };
    });
}

/** Mines a block at a time (clients sending meanwhile) until `done`; at most `blocks` blocks. */
async function mineUntil(done: () => Promise<boolean>, blocks = 600): Promise<void> {
  for (let i = 0; !(await done()); i++) {
    expect(i, "mined blocks without reaching the state the test waits for").toBeLessThan(blocks);
    if (i % 10 === 0) void ask(`by hand ${i}`).catch(() => {});
    await rpc("anvil_mine", ["0x1"]);
    await sleep(200);
  }
}

/** The first call to `functionName` (from `from`, if given) to wait in the pool, blocks mined by hand until one does. */
async function pendingCall(functionName: string, from?: Hex) {
  let found: Awaited<ReturnType<typeof pooled>>[number] | undefined;
  await mineUntil(async () => {
    found = (await pooled()).find(
      (tx) => tx.functionName === functionName && (!from || tx.from.toLowerCase() === from.toLowerCase()),
    );
    return found !== undefined;
  });
  return found as NonNullable<typeof found>;
}

/** Runs `f` with blocks mined by the test only (interval mining off), then a block a second again. */
async function byHand<T>(f: () => Promise<T>): Promise<T> {
  await rpc("evm_setIntervalMining", [0]);
  try {
    return await f();
  } finally {
    await rpc("evm_setIntervalMining", [1]);
  }
}

/**
 * Waits until obligation (`batch`, `position`) is no longer open, then expects it Proven (not slashed)
 * and its worker to have logged `said` about it (it logs a proof once it has seen it mined, which can be
 * after this test did).
 */
async function expectProvenSaying(batch: bigint, position: number, said: string[]): Promise<void> {
  for (let i = 0; i < 120 && (await status(batch, position)) === OPEN; i++) await sleep(500);
  expect(await status(batch, position)).toBe(PROVEN);
  await until(() => workerSaid(batch, position).length >= said.length);
  expect(workerSaid(batch, position)).toEqual(said);
}

/**
 * What the workers logged about obligation (`batch`, `position`), in order; a proof sent again that
 * was made before, not now, is "(made before)".
 */
const workerSaid = (batch: bigint, position: number) =>
  readdirSync(join(devnet.dir, "logs"))
    .filter((f) => f.startsWith("worker"))
    .flatMap((f) => readFileSync(join(devnet.dir, "logs", f), "utf8").split("\n"))
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { msg: string; batch?: string; position?: number; madeBefore?: boolean })
    .filter((l) => l.batch === String(batch) && l.position === position)
    .map((l) => (l.madeBefore ? `${l.msg} (made before)` : l.msg));

describe("devnet spot-checks at ρ = 100%", () => {
  it("opens an obligation for every posted receipt and each worker proves it on chain", async () => {
    const honest = new Set(devnet.workers.filter((w) => w.adversary === "none").map((w) => w.address));
    const answers: AnswerReceipt[] = [];
    for (let i = 0; answers.length < 3; i++) {
      const response = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: `prove ${i}` }], max_tokens: 4 }),
      });
      expect(response.status).toBe(200);
      const a = ((await response.json()) as { verinfer: AnswerReceipt }).verinfer;
      if (honest.has((a.receipt as { worker: string }).worker)) answers.push(a);
    }
    const chain = publicClientFor(devnet.rpcUrl, devnet.deployment.chainId);
    const spot = devnet.deployment.spotChecks as `0x${string}`;
    const proven = async () =>
      (
        await chain.getContractEvents({
          address: spot,
          abi: spotChecksAbi,
          eventName: "ObligationProven",
          fromBlock: 0n,
        } as never)
      ).length;
    for (let i = 0; i < 180 && (await proven()) < answers.length; i++)
      await new Promise((r) => setTimeout(r, 500));
    expect(await proven()).toBeGreaterThanOrEqual(answers.length);
    // The fisherman drew each batch's selection off chain with the seed the chain then fixed.
    expect(fishermanLog().filter((l) => /seed fixed on chain is not/.test(l.msg))).toEqual([]);
    // Every obligation is Proven (status 2) at the receipt's own batch and position.
    for (const a of answers) {
      const r = (await (
        await fetch(`${devnet.gatewayUrl}/v1/receipts/${a.requestId}`)
      ).json()) as AnswerReceipt;
      const obligation = (await chain.readContract({
        address: spot,
        abi: spotChecksAbi,
        functionName: "obligation",
        args: [BigInt(r.batch ?? 0), r.position],
      } as never)) as { status: number };
      expect(Number(obligation.status), a.requestId).toBe(2);
    }
    // Each worker records a proof once it has seen its transaction mined, which can be after the event
    // this test saw: its count is read until it catches up.
    const recorded = async () =>
      (
        await Promise.all(
          devnet.workers.map(
            async (w) =>
              (await (await fetch(`${w.url}/health`)).json()) as { spotChecks: { proveMs: number }[] },
          ),
        )
      ).flatMap((h) => h.spotChecks).length;
    for (let i = 0; i < 40 && (await recorded()) < answers.length; i++)
      await new Promise((r) => setTimeout(r, 250));
    expect(await recorded()).toBeGreaterThanOrEqual(answers.length);
  }, 300_000);

  it("a worker that does not prove is reported after the deadline and slashed; the reporter is paid", async () => {
    const lazy = devnet.workers.find((w) => w.adversary === "lazy") as Devnet["workers"][number];
    let served = 0;
    for (let i = 0; served === 0; i++) {
      const response = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: `lazy ${i}` }], max_tokens: 4 }),
      });
      const a = ((await response.json()) as { verinfer: AnswerReceipt }).verinfer;
      if ((a.receipt as { worker: string }).worker === lazy.address) served++;
      expect(i).toBeLessThan(40);
    }
    const chain = publicClientFor(devnet.rpcUrl, devnet.deployment.chainId);
    const slashed = async () =>
      (await chain.getContractEvents({
        address: devnet.deployment.spotChecks as `0x${string}`,
        abi: spotChecksAbi,
        eventName: "ObligationSlashed",
        fromBlock: 0n,
      } as never)) as unknown as { args: { worker: string; amount: bigint; reporter: string } }[];
    // The devnet's proof deadline is 60 s after the batch was posted.
    for (let i = 0; i < 240 && (await slashed()).length === 0; i++)
      await new Promise((r) => setTimeout(r, 500));
    const events = await slashed();
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) {
      expect(e.args.worker.toLowerCase()).toBe(lazy.address.toLowerCase());
      expect(e.args.reporter.toLowerCase()).toBe(devnet.fisherman?.address.toLowerCase());
      expect(e.args.amount).toBeGreaterThan(0n);
    }
    // The fisherman records its report once it has the transaction's receipt, a poll after the event.
    const reported = async () =>
      (
        (await (await fetch(`${devnet.fisherman?.url}/v1/disputes`)).json()) as {
          obligations: { status: string }[];
        }
      ).obligations.some((o) => o.status === "reported");
    for (let i = 0; i < 60 && !(await reported()); i++) await new Promise((r) => setTimeout(r, 500));
    expect(await reported()).toBe(true);
  }, 300_000);

  it("a fisherman that finds an obligation already open follows it: opened by anyone, or by itself before a crash", async () => {
    // The fisherman is paused; someone else opens the obligation of a receipt first (as a fisherman
    // killed between its `open` and recording it would have). Resumed, it must record and follow that
    // obligation: `open` again reverts (ObligationExists), which once failed its every pass thereafter.
    const fisherman = devnet.fisherman as NonNullable<Devnet["fisherman"]>;
    const honest = new Set(devnet.workers.filter((w) => w.adversary === "none").map((w) => w.address));
    fisherman.child.kill("SIGSTOP");
    let resumedAt = 0;
    try {
      let answer: AnswerReceipt | null = null;
      for (let i = 0; answer === null; i++) {
        const response = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ messages: [{ role: "user", content: `first ${i}` }], max_tokens: 4 }),
        });
        const a = ((await response.json()) as { verinfer: AnswerReceipt }).verinfer;
        if (honest.has((a.receipt as { worker: string }).worker)) answer = a;
        expect(i).toBeLessThan(40);
      }
      let r = answer;
      for (let i = 0; i < 60 && (r.status === "provisional" || r.status === "sealed"); i++) {
        await new Promise((done) => setTimeout(done, 250));
        r = (await (
          await fetch(`${devnet.gatewayUrl}/v1/receipts/${answer.requestId}`)
        ).json()) as AnswerReceipt;
      }
      const batch = BigInt(r.batch ?? 0);
      const stranger = clientsFor(devnet.rpcUrl, devnet.deployment.chainId, devnet.keys[7] as Hex);
      const spot = devnet.deployment.spotChecks as Hex;
      for (let i = 0; ; i++) {
        try {
          await send(stranger, spot, spotChecksAbi, "fixSeed", [batch]);
          break;
        } catch (e) {
          if (!/SeedNotYet/.test(revertReason(e) ?? "") || i > 40) throw e;
          await new Promise((done) => setTimeout(done, 500));
        }
      }
      const signed = validateSignedReceipt({ receipt: r.receipt, signature: r.signature });
      if (!signed.ok) throw new Error(signed.error.message);
      const { chainId: _c, settlement: _s, ...receipt } = signed.value.receipt;
      await send(stranger, spot, spotChecksAbi, "open", [batch, r.position, receipt, r.signature, r.proof]);
      fisherman.child.kill("SIGCONT");
      resumedAt = Date.now();
      const followed = () =>
        fishermanLog().some(
          (l) =>
            l.msg === "spot-check obligation already open; following it" &&
            l.batch === Number(batch) &&
            l.position === r.position,
        );
      for (let i = 0; i < 80 && !followed(); i++) await new Promise((done) => setTimeout(done, 250));
      expect(followed()).toBe(true);
      // And its passes go on: none failed since it resumed.
      expect(failedPassesSince(resumedAt)).toEqual([]);
    } finally {
      if (resumedAt === 0) fisherman.child.kill("SIGCONT");
    }
  }, 120_000);

  it("a worker restarted after proving serves valid receipts and proves its new obligations, not the proven ones again", async () => {
    const w = devnet.workers.find((x) => x.adversary === "none") as Devnet["workers"][number];
    const chain = publicClientFor(devnet.rpcUrl, devnet.deployment.chainId);
    const provenBefore = new Set(
      (
        (await chain.getContractEvents({
          address: devnet.deployment.spotChecks as Hex,
          abi: spotChecksAbi,
          eventName: "ObligationProven",
          fromBlock: 0n,
        } as never)) as unknown as { args: { batch: bigint; position: number } }[]
      ).map((e) => `${e.args.batch}:${e.args.position}`),
    );
    expect(provenBefore.size).toBeGreaterThan(0);
    restarted = await killAndRestart(w, devnet.dir, "worker-restarted");
    // The gateway routes to it again once its health check (every 2 s) has seen it down and back up.
    const healthy = async () =>
      (
        (await (await fetch(`${devnet.gatewayUrl}/v1/network`)).json()) as {
          workers: { url: string; healthy: boolean }[];
        }
      ).workers.find((x) => x.url === w.url)?.healthy === true;
    for (let i = 0; i < 20 && (await healthy()); i++) await new Promise((r) => setTimeout(r, 250));
    for (let i = 0; i < 120 && !(await healthy()); i++) await new Promise((r) => setTimeout(r, 250));
    let mine: AnswerReceipt | null = null;
    for (let i = 0; mine === null; i++) {
      expect(i).toBeLessThan(60);
      const response = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: `after ${i}` }], max_tokens: 4 }),
      });
      const a = ((await response.json()) as { verinfer?: AnswerReceipt }).verinfer;
      if (a && (a.receipt as { worker: string }).worker === w.address) mine = a;
    }
    const status = async () => {
      const r = (await (
        await fetch(`${devnet.gatewayUrl}/v1/receipts/${mine?.requestId}`)
      ).json()) as AnswerReceipt;
      if (r.batch === null || r.batch === undefined) return 0;
      const o = (await chain.readContract({
        address: devnet.deployment.spotChecks as Hex,
        abi: spotChecksAbi,
        functionName: "obligation",
        args: [BigInt(r.batch), r.position],
      } as never)) as { status: number };
      return Number(o.status);
    };
    for (let i = 0; i < 180 && (await status()) !== 2; i++) await new Promise((r) => setTimeout(r, 500));
    expect(await status()).toBe(2); // Proven
    // It proved obligations still open only (it records a proof a poll after the event), none proven
    // before its restart, and no pass of it failed on those.
    const recorded = async () =>
      (
        (await (await fetch(`${restarted?.url}/health`)).json()) as {
          spotChecks: { batch: number; position: number }[];
        }
      ).spotChecks.map((x) => `${x.batch}:${x.position}`);
    for (let i = 0; i < 40 && (await recorded()).length === 0; i++)
      await new Promise((r) => setTimeout(r, 250));
    expect((await recorded()).length).toBeGreaterThan(0);
    expect((await recorded()).filter((x) => provenBefore.has(x))).toEqual([]);
    expect(readFileSync(join(devnet.dir, "logs", "worker-restarted.log"), "utf8")).not.toMatch(
      /spot-check pass failed/,
    );
  }, 300_000);

  it("a proof whose send the chain's node dropped is sent again, not made again, before its deadline", async () => {
    // The node drops a worker's proof from its pool, as a node restarting empties its pool.
    const { batch, position } = await byHand(async () => {
      const proof = await pendingCall("prove");
      await rpc("anvil_dropTransaction", [proof.hash]);
      return proof;
    });
    // Its worker found the send gone and sent the proof it had made: one proof made, two sent.
    await expectProvenSaying(batch, position, [
      "spot-check proof not mined (its send was dropped or lost): sending it again",
      "spot-check obligation proven (made before)",
    ]);
  }, 300_000);

  it.each([
    ["", false],
    [" after its worker restarted (the worker keeps its proofs in its store)", true],
  ])(
    "a proof a reorganisation took off the chain%s is sent again, not made again, before its deadline",
    async (_, restart) => {
      // With `restart`, the second honest worker's (the first was restarted by an earlier test).
      const w = devnet.workers.filter((x) => x.adversary === "none")[1] as Devnet["workers"][number];
      const { batch, position } = await byHand(async () => {
        const proof = await pendingCall("prove", restart ? w.operator : undefined);
        const snapshot = (await rpc("evm_snapshot")) as string;
        // The proof is mined and its worker sees it so; then the chain goes back under it (with
        // `restart`, while the worker is down: killed, and started again after).
        await mineUntil(async () => workerSaid(proof.batch, proof.position).length > 0);
        expect(await status(proof.batch, proof.position)).toBe(PROVEN);
        const goBack = async () => {
          await rpc("evm_revert", [snapshot]);
          for (const tx of await pooled()) await rpc("anvil_dropTransaction", [tx.hash]);
          expect(await status(proof.batch, proof.position)).toBe(OPEN);
        };
        if (restart) restartedAgain = await killAndRestart(w, devnet.dir, "worker-restarted-again", goBack);
        else await goBack();
        return proof;
      });
      // Restarted, the worker finds the proof it made in its store, whether it reads the opening again
      // (its cursor was saved before the proof was mined) or not.
      await expectProvenSaying(batch, position, [
        "spot-check obligation proven",
        "a spot-check proof is no longer on chain (reorganised): sending it again",
        "spot-check obligation proven (made before)",
      ]);
    },
    300_000,
  );

  it.each([
    ["", false],
    [" by the fisherman restarted meanwhile: it keeps its notes of what it drew in its store", true],
  ])(
    "obligations whose openings a reorganisation took off the chain, their seed block kept, are opened again%s",
    async (_, restart) => {
      let opened: { batch: bigint; positions: number[] } = { batch: 0n, positions: [] };
      await byHand(async () => {
        // Snapshot under a pending opening of a batch, after that batch's seed block.
        const first = await pendingCall("open");
        const snapshot = (await rpc("evm_snapshot")) as string;
        const { count } = await batchInfo(
          { public: chain() },
          devnet.deployment.rollup as Hex,
          Number(first.batch),
        );
        const all = [...Array(count).keys()];
        const openNow = async () => {
          const held: number[] = [];
          for (const p of all) if ((await status(first.batch, p)) !== NONE) held.push(p);
          return held;
        };
        // Positions opened before the snapshot (earlier in the batch) stay opened.
        const before = new Set(await openNow());
        // The batch's openings are mined (one block each) until the fisherman has moved on to a later
        // batch; then the chain goes back under them, its seed block kept (with `restart`, while the
        // fisherman is down: killed, and started again after).
        const movedOn = async () =>
          (await pooled()).some((tx) => tx.functionName === "open" && tx.batch > first.batch) ||
          fishermanLog().some((l) => /^spot-check obligation/.test(l.msg) && (l.batch ?? 0) > first.batch);
        await mineUntil(movedOn, 60);
        opened = { batch: first.batch, positions: (await openNow()).filter((p) => !before.has(p)) };
        expect(opened.positions.length).toBeGreaterThan(0);
        const goBack = async () => {
          await rpc("evm_revert", [snapshot]);
          for (const tx of await pooled()) await rpc("anvil_dropTransaction", [tx.hash]);
          for (const p of opened.positions)
            expect(await status(first.batch, p), `${p} still open`).toBe(NONE);
        };
        if (restart)
          restartedFisherman = await killAndRestart(
            liveFisherman(),
            devnet.dir,
            "fisherman-restarted",
            goBack,
          );
        else await goBack();
      });
      const reopened = async () => {
        for (const p of opened.positions) if ((await status(opened.batch, p)) === NONE) return false;
        return true;
      };
      for (let i = 0; i < 120 && !(await reopened()); i++) await sleep(500);
      expect(await reopened()).toBe(true);
      expect(
        fishermanLog().some((l) => /drawing them again/.test(l.msg) && l.batch === Number(opened.batch)),
      ).toBe(true);
    },
    300_000,
  );

  it("a proof mined after its deadline is refused: its worker logs the obligation missed, and its passes go on", async () => {
    const late = await byHand(async () => {
      const proof = await pendingCall("prove");
      // The proof's block comes a second after its deadline: SpotChecks refuses it (ProofTooLate).
      const { deadline } = (await chain().readContract({
        address: devnet.deployment.spotChecks as Hex,
        abi: spotChecksAbi,
        functionName: "obligation",
        args: [proof.batch, proof.position],
      } as never)) as { deadline: number };
      await rpc("evm_setNextBlockTimestamp", [deadline + 1]);
      await rpc("anvil_mine", ["0x1"]);
      expect(await status(proof.batch, proof.position)).toBe(OPEN);
      return proof;
    });
    // Its worker says so last (a send of it that an earlier test dropped may have been made again).
    const missed = "spot-check obligation missed: its deadline passed";
    const said = () => workerSaid(late.batch, late.position);
    await until(() => said().includes(missed));
    expect(said().at(-1)).toBe(missed);
    expect(said().filter((m) => m.startsWith("spot-check obligation proven"))).toEqual([]);
    // The refusal ended neither that pass nor the worker's proving: it proves a later obligation, and
    // none of its passes failed.
    const log = readdirSync(join(devnet.dir, "logs"))
      .filter((f) => f.startsWith("worker"))
      .map(
        (f) => () =>
          readFileSync(join(devnet.dir, "logs", f), "utf8")
            .split("\n")
            .filter((l) => l.startsWith("{"))
            .map((l) => JSON.parse(l) as { msg: string; batch?: string; position?: number }),
      )
      .find((lines) => lines().some((l) => l.batch === String(late.batch) && l.position === late.position));
    if (!log) throw new Error("no worker logged the late proof");
    const sinceLate = () =>
      log().slice(
        log().findIndex(
          (l) => l.msg === missed && l.batch === String(late.batch) && l.position === late.position,
        ),
      );
    const provenLater = () =>
      sinceLate().some((l) => l.msg === "spot-check obligation proven" && BigInt(l.batch ?? 0) > late.batch);
    // The blocks mined by hand above made other proofs late as well: their worker may have been slashed
    // below the minimum stake (three misses in one local run), and the gateway would then route nothing
    // to it. Its operator tops it up, as often as the fisherman's reports take it down.
    for (let i = 0; i < 60 && !provenLater(); i++) {
      if (i % 5 === 0) await restakeHonestWorkers();
      await ask(`after late ${i}`);
      await sleep(1000);
    }
    const network = await (await fetch(`${devnet.gatewayUrl}/v1/network`)).text();
    expect(provenLater(), `no later proof; the gateway's workers: ${network}`).toBe(true);
    expect(sinceLate().filter((l) => l.msg === "spot-check pass failed; will retry")).toEqual([]);
  }, 300_000);

  // Last: it moves the chain's clock past a challenge window.
  it("a fisherman back after a batch's window closed skips its obligations and its re-execution (nobody may open either any more) and goes on", async () => {
    const fisherman = liveFisherman();
    const chain = publicClientFor(devnet.rpcUrl, devnet.deployment.chainId);
    await restakeHonestWorkers();
    fisherman.child.kill("SIGSTOP");
    let resumedAt = 0;
    try {
      // Answered once the gateway has read the top-ups (a refusal meanwhile says to ask again).
      let response = await ask("late");
      for (let i = 0; i < 60 && response.status === 503; i++) {
        await sleep(1000);
        response = await ask("late");
      }
      const body = await response.text();
      expect(response.status, body).toBe(200);
      const answer = (JSON.parse(body) as { verinfer: AnswerReceipt }).verinfer;
      let r = answer;
      for (let i = 0; i < 60 && r.status !== "posted"; i++) {
        await new Promise((done) => setTimeout(done, 250));
        r = (await (
          await fetch(`${devnet.gatewayUrl}/v1/receipts/${answer.requestId}`)
        ).json()) as AnswerReceipt;
      }
      expect(r.status).toBe("posted");
      // The batch's window closes while the fisherman is away.
      const window = (await chain.readContract({
        address: devnet.deployment.rollup,
        abi: rollupAbi,
        functionName: "challengeWindow",
      })) as bigint;
      await chain.request({ method: "evm_increaseTime", params: [Number(window) + 1] } as never);
      await chain.request({ method: "evm_mine", params: [] } as never);
      fisherman.child.kill("SIGCONT");
      resumedAt = Date.now();
      const skipped = () =>
        fishermanLog().some(
          (l) => /window closed/.test(l.msg) && l.batch === Number(r.batch) && l.position === r.position,
        );
      for (let i = 0; i < 120 && !skipped(); i++) await new Promise((done) => setTimeout(done, 250));
      expect(skipped()).toBe(true);
      // Without a transaction: its seed was never fixed (a fisherman back from an outage spends no block
      // on each batch the outage closed).
      const seed = (await chain.readContract({
        address: devnet.deployment.spotChecks as Hex,
        abi: spotChecksAbi,
        functionName: "seeds",
        args: [BigInt(Number(r.batch))],
      })) as Hex;
      expect(BigInt(seed)).toBe(0n);
      // Nor is it re-executed: no dispute could open over it any more. Its receipt is counted late.
      const late = () =>
        fishermanLog().some(
          (l) =>
            l.msg === "receipt checked" &&
            l.batch === Number(r.batch) &&
            l.position === r.position &&
            l.verdict === "late",
        );
      // Up to 90 s: its re-execution pass, back with a backlog, reaches the batch after the obligations do
      // (in one CI run, more than 30 s later; locally within 3 s).
      for (let i = 0; i < 360 && !late(); i++) await new Promise((done) => setTimeout(done, 250));
      expect(late()).toBe(true);
      expect(
        fishermanLog().some(
          (l) =>
            /closed before they were re-executed/.test(l.msg) && (l.fromBatch ?? Infinity) <= Number(r.batch),
        ),
      ).toBe(true);
      // Nothing was opened for it, and the fisherman's passes go on: none failed since it resumed.
      const o = (await chain.readContract({
        address: devnet.deployment.spotChecks as Hex,
        abi: spotChecksAbi,
        functionName: "obligation",
        args: [BigInt(r.batch ?? 0), r.position],
      } as never)) as { status: number };
      expect(o.status).toBe(0);
      expect(failedPassesSince(resumedAt)).toEqual([]);
    } finally {
      if (resumedAt === 0) fisherman.child.kill("SIGCONT");
    }
  }, 240_000);
});
