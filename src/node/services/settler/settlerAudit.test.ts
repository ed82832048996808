/**
 * The settler in audit mode, on a real chain. It catches a settler that lies: a made-up reward root
 * posted for an epoch whose batch holds receipts, and one posted for an epoch without any, are both
 * reported as disagreeing; an epoch nobody posted for stays empty. And it never flags an honest one:
 * epochs an honest settler posted agree, though the auditor recomputes them after registrations and
 * stakes have changed.
 */
import type { Hex } from "viem";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { advanceTime, send } from "../../../chain/clients.ts";
import type { DeploymentFile } from "../../../chain/deploymentFile.ts";
import { epochsAbi, registryAbi, verinferTokenAbi } from "../../../chain/generated/contracts.ts";
import { batchInfo, epochAt, revealEnd, type ScoreClock, scoreClock } from "../../../chain/postedBatches.ts";
import { keccakUtf8 } from "../../../protocol/encoding/keccak.ts";
import { DEVNET_OTR_PARAMS } from "../../../protocol/params/otr.ts";
import { type DevChain, startDevChain, TOKEN } from "../../../testing/devChain.ts";
import { posterRig } from "../../../testing/posterRig.ts";
import { testSettler } from "../../../testing/testSettler.ts";

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
  const me = dev.owner.wallet.account.address;
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
  if (held < bond) {
    await send(dev.owner, dev.d.token, verinferTokenAbi, "mint", [me, bond]);
    await send(dev.owner, dev.d.token, verinferTokenAbi, "approve", [epochs, bond]);
    await send(dev.owner, epochs, epochsAbi, "depositBond", [bond]);
  }
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

/** Posts a batch of `receipts` of the dev worker's receipts; returns the epoch it was posted in. */
async function postBatch(receipts: number, rig = posterRig(dev, receipts)): Promise<number> {
  const before = rig.posted.length;
  rig.seal();
  while (rig.posted.length === before) await rig.poster.step();
  const index = rig.posted[rig.posted.length - 1] as number;
  return epochAt(clock, (await batchInfo(dev.owner, dev.d.rollup, index)).postedAt);
}

/** Registers dev account i as evaluator (2) or fisherman (3), or adds to its stake, from a faucet mint. */
async function stake(i: number, role: 2 | 3, amount: bigint, register = true): Promise<string> {
  const c = dev.clientsOf(i);
  const who = c.wallet.account.address;
  await send(dev.owner, dev.d.token, verinferTokenAbi, "mint", [who, amount]);
  if (register) await send(c, dev.d.registry, registryAbi, "register", [role]);
  await send(c, dev.d.token, verinferTokenAbi, "approve", [dev.d.registry, amount]);
  await send(c, dev.d.registry, registryAbi, "deposit", [who, amount]);
  return who.toLowerCase();
}

/** Steps `node` until `done` holds (a bounded number of passes). */
async function stepUntil(node: { step(): Promise<void> }, done: () => Promise<boolean>): Promise<void> {
  for (let pass = 0; pass < 10 && !(await done()); pass++) await node.step();
  expect(await done()).toBe(true);
}

describe("settler audit", () => {
  it("reports made-up roots, for an epoch with receipts and for one without; an unposted epoch stays empty", async () => {
    // Epoch 0 is empty on chain and gets a made-up root.
    await postMadeUpRoot(0);
    // A later epoch holds a posted batch of the dev worker's receipts, and gets a made-up root too.
    await passRevealOf(0);
    const withReceipts = await postBatch(2);
    expect(withReceipts).toBeGreaterThan(0);
    await postMadeUpRoot(withReceipts);
    await passRevealOf(withReceipts);

    const auditor = testSettler(deploymentOf(dev));
    try {
      await stepUntil(auditor.node, async () => (await auditor.statuses()).has(withReceipts));
      const verdicts = await auditor.statuses();
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

  it("agrees with every epoch an honest settler posted, recomputed after registrations and stakes changed", async () => {
    const settler = testSettler(deploymentOf(dev), dev.owner);
    const auditor = testSettler(deploymentOf(dev));
    try {
      // Epoch a: one evaluator, one fisherman, a batch of three receipts; settled at once.
      const e1 = await stake(3, 2, TOKEN);
      const f1 = await stake(4, 3, 5n * TOKEN);
      const rig = posterRig(dev, 3);
      const a = await postBatch(3, rig);
      await passRevealOf(a);
      await stepUntil(settler.node, async () => (await settler.statuses()).get(a) === "posted");
      // Then the registry changes: a second fisherman and evaluator, and more stake for the first.
      const f2 = await stake(5, 3, 2n * TOKEN);
      const e2 = await stake(6, 2, TOKEN);
      await stake(4, 3, 7n * TOKEN, false);
      // Epoch b: a batch of three more, settled with the new registry.
      const b = await postBatch(3, rig);
      await passRevealOf(b);
      await stepUntil(settler.node, async () => (await settler.statuses()).get(b) === "posted");

      // The auditor comes later still, and agrees with both: each epoch was read at its own block.
      await stepUntil(auditor.node, async () => (await auditor.statuses()).has(b));
      const statuses = await auditor.statuses();
      for (let e = 0; e <= b; e++) expect(statuses.get(e)).toBe(e === a || e === b ? "agrees" : "empty");
      for (const [e, evaluators, fishermen] of [
        [a, [e1], [[f1, 5n * TOKEN]]],
        [
          b,
          [e1, e2],
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
        expect(audited.inputs.evaluators.map((x) => x.toLowerCase())).toEqual(evaluators);
        expect(audited.inputs.fishermen.map((x) => [x.fisherman.toLowerCase(), BigInt(x.stake)])).toEqual(
          fishermen,
        );
      }
      const metrics = (await auditor.node.app.inject({ method: "GET", url: "/metrics" })).body;
      expect(metrics).toMatch(/verinfer_settler_epochs_total\{outcome="agrees"\} 2/);
      expect(metrics).not.toMatch(/outcome="disagrees"/);
    } finally {
      await auditor.node.close();
      await settler.node.close();
    }
  }, 180_000);
});
