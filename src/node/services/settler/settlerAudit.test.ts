/**
 * The settler in audit mode, on a real chain. It catches a settler that lies: a made-up reward root
 * posted for an epoch whose batch holds receipts, and one posted for an epoch without any, are both
 * reported as disagreeing; an epoch nobody posted for stays empty. And it never flags an honest one:
 * epochs an honest settler posted agree, though the auditor recomputes them after registrations and
 * stakes have changed.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { bytesToHex, type Hex } from "viem";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { advanceTime, becomeSettler, send } from "../../../chain/clients.ts";
import type { DeploymentFile } from "../../../chain/deploymentFile.ts";
import { epochsAbi, scoreCommitsAbi, verinferTokenAbi } from "../../../chain/generated/contracts.ts";
import {
  batchInfo,
  epochAt,
  epochEnd,
  revealEnd,
  type ScoreClock,
  scoreClock,
} from "../../../chain/postedBatches.ts";
import { depositStake } from "../../../chain/stake.ts";
import { keccakUtf8 } from "../../../protocol/encoding/keccak.ts";
import { DEVNET_OTR_PARAMS } from "../../../protocol/params/otr.ts";
import { DEFAULT_POQ_ROUND_PARAMS } from "../../../protocol/params/poq.ts";
import { encodeScores, type ReceiptScore, scoreCommitment } from "../../../protocol/poq/networkEpoch.ts";
import { type DevChain, startDevChain, TOKEN } from "../../../testing/devChain.ts";
import { posterRig } from "../../../testing/posterRig.ts";
import { type TestSettler, testSettler } from "../../../testing/testSettler.ts";
import { thrownCode } from "../../../testing/thrownCode.ts";

let dev: DevChain;
let clock: ScoreClock;

/** Each test gets a chain of its own: epochs, once posted, stay posted. */
beforeEach(async () => {
  dev = await startDevChain({
    rewards: DEVNET_OTR_PARAMS.poea,
    challengeWindowSeconds: BigInt(DEVNET_OTR_PARAMS.rollup.challengeWindowMs / 1000),
  });
  clock = await scoreClock(dev.owner, dev.d.scoreCommits as Hex);
}, 120_000);
afterEach(() => dev?.chain.stop());

const deploymentOf = (x: DevChain): DeploymentFile => ({
  kind: "verinfer.deployment",
  rpcUrl: x.chain.rpcUrl,
  ...x.d,
});
/** The settler (the deployer) bonds and posts a root of its own making for epoch `e`. */
async function postMadeUpRoot(e: number): Promise<void> {
  const epochs = dev.d.epochs as Hex;
  const bond = (await dev.owner.public.readContract({
    address: epochs,
    abi: epochsAbi,
    functionName: "minSettlerBond",
  })) as bigint;
  const held = (await dev.owner.public.readContract({
    address: epochs,
    abi: epochsAbi,
    functionName: "settlerBond",
  })) as bigint;
  if (held < bond) await becomeSettler(dev.owner, dev.d, bond);
  const root = `0x${"11".repeat(32)}` as Hex;
  await send(dev.owner, epochs, epochsAbi, "post", [
    BigInt(e),
    root,
    0n,
    [1n, 0n, 0n],
    [1, 0, 0],
    keccakUtf8("{}"),
  ]);
}

/** Moves the chain past epoch e's reveal phase, with blocks enough for every sampling seed. */
async function passRevealOf(e: number): Promise<void> {
  const now = Number((await dev.owner.public.getBlock()).timestamp);
  await advanceTime(dev.owner, Math.max(1, revealEnd(clock, e) - now + 1));
  await dev.owner.public.request({ method: "anvil_mine", params: ["0x5"] } as never);
}

/** Posts a batch of `receipts` of the dev worker's receipts; returns it and the epoch it was posted in. */
async function postBatch(
  receipts: number,
  rig = posterRig(dev, receipts),
): Promise<{ batch: number; epoch: number }> {
  const before = rig.posted.length;
  rig.seal();
  while (rig.posted.length === before) await rig.poster.step();
  const batch = rig.posted[rig.posted.length - 1] as number;
  return { batch, epoch: epochAt(clock, (await batchInfo(dev.owner, dev.d.rollup, batch)).postedAt) };
}

/** Moves the chain to `time` (seconds), if it is not there yet. */
async function moveTo(time: number): Promise<void> {
  const now = Number((await dev.owner.public.getBlock()).timestamp);
  if (now < time) await advanceTime(dev.owner, time - now);
}

/** Each evaluator (by dev account) commits, then reveals, its scores of epoch e's receipts. */
async function commitAndReveal(e: number, scores: Map<number, ReceiptScore[]>): Promise<void> {
  const salt = `0x${"5a".repeat(32)}` as Hex;
  await moveTo(epochEnd(clock, e));
  for (const [i, s] of scores) {
    const c = dev.clientsOf(i);
    const commitment = scoreCommitment(BigInt(e), c.wallet.account.address, encodeScores(s), salt);
    await send(c, dev.d.scoreCommits as Hex, scoreCommitsAbi, "commit", [BigInt(e), commitment]);
  }
  await moveTo(epochEnd(clock, e) + clock.commitSeconds);
  for (const [i, s] of scores)
    await send(dev.clientsOf(i), dev.d.scoreCommits as Hex, scoreCommitsAbi, "reveal", [
      BigInt(e),
      bytesToHex(encodeScores(s)),
      salt,
    ]);
}

/** Scores of a batch's receipts at positions 0..n-1. */
const scored = (batch: number, values: number[]): ReceiptScore[] =>
  values.map((score, position) => ({ batch, position, score }));

/** Registers dev account i as evaluator (2) or fisherman (3), or adds to its stake, from a faucet mint. */
async function stake(i: number, role: 2 | 3, amount: bigint, register = true): Promise<string> {
  const c = dev.clientsOf(i);
  const who = c.wallet.account.address;
  await send(dev.owner, dev.d.token, verinferTokenAbi, "mint", [who, amount]);
  await depositStake(c, dev.d, who, amount, register ? (role === 2 ? "evaluator" : "fisherman") : undefined);
  return who.toLowerCase();
}

/**
 * Two epochs' scores by dev accounts 3, 6 and 8 of three receipts each: the third evaluator far from the
 * others, so the rounds move trust.
 */
const SCORES_A: [number, number[]][] = [
  [3, [7.5, 6, 9]],
  [6, [7, 6.5, 8.5]],
  [8, [2, 1, 3]],
];
const SCORES_B: [number, number[]][] = [
  [3, [8, 8, 4]],
  [6, [7.5, 8.5, 4.5]],
  [8, [1, 2, 9]],
];

/**
 * A batch of three of `rig`'s receipts, scored by each evaluator (dev account, scores), committed and
 * revealed, and settled by `settler`; returns its epoch.
 */
async function settledBy(
  settler: TestSettler,
  rig: ReturnType<typeof posterRig>,
  scores: [number, number[]][],
): Promise<number> {
  const { batch, epoch } = await postBatch(3, rig);
  await commitAndReveal(epoch, new Map(scores.map(([i, values]) => [i, scored(batch, values)])));
  await passRevealOf(epoch);
  await settler.stepUntil((s) => s.get(epoch) === "posted");
  return epoch;
}

describe("settler audit", () => {
  it("reports made-up roots, for an epoch with receipts and for one without; an unposted epoch stays empty", async () => {
    // Epoch 0 is empty on chain and gets a made-up root.
    await postMadeUpRoot(0);
    // A later epoch holds a posted batch of the dev worker's receipts, and gets a made-up root too.
    await passRevealOf(0);
    const { epoch: withReceipts } = await postBatch(2);
    expect(withReceipts).toBeGreaterThan(0);
    await postMadeUpRoot(withReceipts);
    await passRevealOf(withReceipts);

    const auditor = testSettler(deploymentOf(dev));
    const ready = () => auditor.node.app.inject({ method: "GET", url: "/ready" });
    try {
      // Not ready until a pass has followed the chain; then ready.
      expect((await ready()).statusCode).toBe(503);
      expect((await ready()).json()).toMatchObject({ ready: false, why: expect.stringMatching(/^starting/) });
      const verdicts = await auditor.stepUntil((s) => s.has(withReceipts));
      expect((await ready()).json()).toEqual({ ready: true });
      expect(verdicts.get(0)).toBe("disagrees");
      expect(verdicts.get(withReceipts)).toBe("disagrees");
      for (let e = 1; e < withReceipts; e++) expect(verdicts.get(e)).toBe("empty");
      // What it recomputed for the epoch with receipts: the batch's receipts, its own root.
      const epoch = await auditor.epoch(withReceipts);
      expect(epoch.inputs.receipts).toHaveLength(2);
      expect(epoch.root).not.toBe(`0x${"11".repeat(32)}`);
      const health = (await auditor.node.app.inject({ method: "GET", url: "/health" })).json();
      expect(health).toMatchObject({ mode: "audit" });
      const metrics = (await auditor.node.app.inject({ method: "GET", url: "/metrics" })).body;
      expect(metrics).toMatch(/verinfer_settler_epochs_total\{outcome="disagrees"\} 2/);
      // An auditor sends nothing: the account it was given has made no transaction.
      expect(await dev.owner.public.getTransactionCount({ address: auditor.account as Hex })).toBe(0);
    } finally {
      await auditor.node.close();
    }
  }, 120_000);

  it("is not ready while its chain cannot be read, and says why", async () => {
    const cut = testSettler({ ...deploymentOf(dev), rpcUrl: "http://127.0.0.1:1" });
    try {
      await cut.node.step();
      const r = await cut.node.app.inject({ method: "GET", url: "/ready" });
      expect(r.statusCode).toBe(503);
      expect(r.json()).toMatchObject({ ready: false, why: expect.stringMatching(/^the last pass failed: /) });
      // Liveness is another matter: the process answers.
      expect((await cut.node.app.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
    } finally {
      await cut.node.close();
    }
  }, 120_000);

  it("a settler stopped after burning an epoch's dust, before recording it, finishes the epoch on restart", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "verinfer-settler-restart-"));
    const first = testSettler(deploymentOf(dev), { settler: dev.owner, dataDir });
    const { epoch } = await postBatch(2);
    await passRevealOf(epoch);
    await first.stepUntil((s) => s.get(epoch) === "posted");
    await advanceTime(dev.owner, Number(BigInt(DEVNET_OTR_PARAMS.rollup.challengeWindowMs / 1000) + 1n));
    await first.stepUntil((s) => s.get(epoch) === "claimed");
    await first.node.close();
    // The crash: the chain has every claim and the burn; the store still says "posted".
    const db = new Database(join(dataDir, "settler.sqlite"));
    db.prepare("UPDATE epochs SET status = 'posted' WHERE epoch = ?").run(epoch);
    db.close();
    const again = testSettler(deploymentOf(dev), { settler: dev.owner, dataDir });
    try {
      await again.node.step();
      expect((await again.statuses()).get(epoch)).toBe("claimed");
      expect((await again.node.app.inject({ method: "GET", url: "/ready" })).json()).toEqual({ ready: true });
    } finally {
      await again.node.close();
    }
  }, 120_000);

  it("past its retention, forgets what a claimed epoch keeps per receipt, and keeps its entries and their proofs", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "verinfer-settler-retention-"));
    // The least it may keep: a receipt counted can be forced in again until it is stale.
    const retentionMs = DEVNET_OTR_PARAMS.rollup.maxReceiptAgeMs + 2 * DEVNET_OTR_PARAMS.poea.epochMs;
    expect(
      thrownCode(() => testSettler(deploymentOf(dev), { settler: dev.owner, retentionMs: retentionMs - 1 })),
    ).toBe("CONFIG_INVALID");
    const settler = testSettler(deploymentOf(dev), { settler: dev.owner, dataDir, retentionMs });
    try {
      const { epoch } = await postBatch(2);
      await passRevealOf(epoch);
      await settler.stepUntil((s) => s.get(epoch) === "posted");
      const before = await settler.epoch(epoch);
      expect(before.inputs.receipts).toHaveLength(2);
      const raw = new Database(join(dataDir, "settler.sqlite"), { readonly: true });
      const kept = () => ({
        counted: (
          raw.prepare("SELECT COUNT(*) AS n FROM counted WHERE epoch = ?").get(epoch) as { n: number }
        ).n,
        batches: (
          raw.prepare("SELECT COUNT(*) AS n FROM batches WHERE epoch = ?").get(epoch) as { n: number }
        ).n,
      });
      // Posted, not claimed: kept whatever its age.
      expect(kept()).toEqual({ counted: 2, batches: 1 });
      await settler.node.step();
      expect((await settler.epoch(epoch)).inputs).not.toBeNull();
      await advanceTime(dev.owner, Number(BigInt(DEVNET_OTR_PARAMS.rollup.challengeWindowMs / 1000) + 1n));
      await settler.stepUntil((s) => s.get(epoch) === "claimed");
      // Claimed, not yet past the retention: kept.
      await settler.node.step();
      expect(kept()).toEqual({ counted: 2, batches: 1 });
      await advanceTime(dev.owner, retentionMs / 1000);
      await settler.node.step();
      const after = await settler.epoch(epoch);
      expect(after).toMatchObject({
        status: "claimed",
        root: before.root,
        inputs: null,
        rounds: null,
        forgotten: expect.stringMatching(/keeps an epoch's inputs and rounds/),
        attribution: before.attribution,
      });
      expect(after.entries).toEqual(before.entries); // with their proofs
      expect(kept()).toEqual({ counted: 0, batches: 0 });
      raw.close();
    } finally {
      await settler.node.close();
    }
  }, 120_000);

  it("agrees with every epoch an honest settler posted, recomputed after registrations and stakes changed", async () => {
    // With an aggregator that weighs evaluators by trust, each epoch depends on every one before it.
    const round = { ...DEFAULT_POQ_ROUND_PARAMS, aggregator: "hardened-trust" } as const;
    const settler = testSettler(deploymentOf(dev), { settler: dev.owner, round });
    const auditor = testSettler(deploymentOf(dev), { round });
    try {
      // Epoch a: three evaluators (the third far from the others), one fisherman, three receipts.
      const e1 = await stake(3, 2, TOKEN);
      const e2 = await stake(6, 2, TOKEN);
      const e3 = await stake(8, 2, TOKEN);
      const f1 = await stake(4, 3, 5n * TOKEN);
      const rig = posterRig(dev, 3);
      const settledEpoch = (scores: [number, number[]][]) => settledBy(settler, rig, scores);
      const a = await settledEpoch(SCORES_A);
      // Then the registry changes: a fourth evaluator, a second fisherman, more stake for the first.
      const e4 = await stake(7, 2, TOKEN);
      const f2 = await stake(5, 3, 2n * TOKEN);
      await stake(4, 3, 7n * TOKEN, false);
      // Epoch b: three more receipts, scored by the first three only; settled with the new registry and
      // the trust that epoch a left.
      const b = await settledEpoch(SCORES_B);

      // The auditor comes later still, and agrees with both: each epoch was read at its own block.
      const statuses = await auditor.stepUntil((s) => s.has(b));
      for (let e = 0; e <= b; e++) expect(statuses.get(e)).toBe(e === a || e === b ? "agrees" : "empty");
      for (const [e, evaluators, fishermen] of [
        [a, [e1, e2, e3], [[f1, 5n * TOKEN]]],
        [
          b,
          [e1, e2, e3, e4],
          [
            [f1, 12n * TOKEN],
            [f2, 2n * TOKEN],
          ],
        ],
      ] as const) {
        const audited = await auditor.epoch(e);
        const settled = await settler.epoch(e);
        expect(audited.root).toBe(settled.root);
        expect(audited.inputs.receipts).toHaveLength(3);
        expect(Object.keys(audited.inputs.reveals)).toHaveLength(3);
        expect(audited.rounds.length).toBeGreaterThan(0);
        expect(audited.inputs.evaluators.map((x) => x.toLowerCase())).toEqual(evaluators);
        expect(audited.inputs.fishermen.map((x) => [x.fisherman.toLowerCase(), BigInt(x.stake)])).toEqual(
          fishermen,
        );
      }
      // The rounds moved trust (the third evaluator is far from consensus), and both agree on it.
      const trust = async (x: TestSettler) =>
        (await x.node.app.inject({ method: "GET", url: "/v1/trust" })).json().evaluators as {
          weight: number;
        }[];
      const weights = (await trust(settler)).map((x) => x.weight);
      expect(new Set(weights).size).toBeGreaterThan(1);
      expect((await trust(auditor)).map((x) => x.weight)).toEqual(weights);
      const metrics = (await auditor.node.app.inject({ method: "GET", url: "/metrics" })).body;
      expect(metrics).toMatch(/verinfer_settler_epochs_total\{outcome="agrees"\} 2/);
      expect(metrics).not.toMatch(/outcome="disagrees"/);
    } finally {
      await auditor.node.close();
      await settler.node.close();
    }
  }, 180_000);

  it("restarted, continues the evaluators' trust from its checkpoint, not by replaying the epochs; pages its epochs", async () => {
    const round = { ...DEFAULT_POQ_ROUND_PARAMS, aggregator: "hardened-trust" } as const;
    const dataDir = mkdtempSync(join(tmpdir(), "verinfer-settler-trust-"));
    const start = () => testSettler(deploymentOf(dev), { settler: dev.owner, round, dataDir });
    const store = () => new Database(join(dataDir, "settler.sqlite"));
    const weights = async (x: TestSettler) =>
      (
        (await x.node.app.inject({ method: "GET", url: "/v1/trust" })).json().evaluators as {
          weight: number;
        }[]
      ).map((e) => e.weight);
    let settler = start();
    try {
      const evaluators = [await stake(3, 2, TOKEN), await stake(6, 2, TOKEN), await stake(8, 2, TOKEN)];
      const rig = posterRig(dev, 3);
      const settledEpoch = (scores: [number, number[]][]) => settledBy(settler, rig, scores);
      const a = await settledEpoch(SCORES_A);
      evaluators.push(await stake(7, 2, TOKEN)); // registered after epoch a: a fourth trust node
      const b = await settledEpoch(SCORES_B);
      // Pages: the latest epochs, oldest first; only those with work; before an epoch; bad queries refused.
      const page = async (query: string) =>
        (await settler.node.app.inject({ method: "GET", url: `/v1/epochs${query}` })).json() as {
          epochs: { epoch: number; status: string }[];
          more: boolean;
        };
      expect((await page("")).epochs.map((e) => e.epoch)).toEqual([...Array(b + 1).keys()]);
      expect(await page("?limit=1&work=true")).toMatchObject({
        epochs: [{ epoch: b, status: "posted" }],
        more: true,
      });
      expect((await page(`?work=true&before=${b}`)).epochs.map((e) => e.epoch)).toEqual([a]);
      const beforeB = await page(`?limit=2&before=${b}`);
      expect(beforeB.epochs.map((e) => e.epoch)).toEqual([...Array(b).keys()].slice(-2));
      expect(beforeB.more).toBe(b > 2);
      for (const bad of ["?limit=0", "?limit=1001", "?before=-1", "?work=yes", "?limit=x", "?other=1"]) {
        const r = await settler.node.app.inject({ method: "GET", url: `/v1/epochs${bad}` });
        expect(r.statusCode, bad).toBe(400);
        expect(r.json(), bad).toMatchObject({ error: { code: "API_REQUEST_INVALID" } });
      }
      // One checkpoint: after epoch b, over the four evaluators.
      const trusted = await weights(settler);
      expect(new Set(trusted).size).toBeGreaterThan(1);
      await settler.node.close();
      let db = store();
      expect(db.prepare("SELECT epoch, evaluators FROM trust").all()).toEqual([
        { epoch: b, evaluators: JSON.stringify(evaluators) },
      ]);
      // A store from before checkpoints: the restart replays its epochs once, and checkpoints them.
      db.prepare("DELETE FROM trust").run();
      db.close();
      settler = start();
      expect(await weights(settler)).toEqual(trusted);
      await settler.node.close();
      // Without the epochs' inputs, a restart still continues from the checkpoint: the next epoch, scored
      // by all four, is what an auditor recomputing everything from the chain gets.
      db = store();
      expect(db.prepare("SELECT epoch FROM trust").all()).toEqual([{ epoch: b }]);
      db.prepare("UPDATE epochs SET inputs = '{}'").run();
      db.close();
      settler = start();
      const c = await settledEpoch([
        [3, [6, 7, 5]],
        [6, [6.5, 7.5, 5]],
        [8, [9, 1, 2]],
        [7, [6, 7, 5.5]],
      ]);
      const auditor = testSettler(deploymentOf(dev), { round });
      try {
        const statuses = await auditor.stepUntil((s) => s.has(c));
        expect([a, b, c].map((e) => statuses.get(e))).toEqual(["agrees", "agrees", "agrees"]);
        expect(await weights(auditor)).toEqual(await weights(settler));
      } finally {
        await auditor.node.close();
      }
    } finally {
      await settler.node.close();
    }
  }, 240_000);
});
