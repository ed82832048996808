/**
 * The settler in audit mode catches a settler that lies, on a real chain: a made-up reward root posted
 * for an epoch whose batch holds receipts, and one posted for an epoch without any, are both reported as
 * disagreeing; an epoch nobody posted for stays empty. (That an honest settlement agrees was checked on
 * the devnet by hand, not here.)
 */
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { advanceTime, send } from "../../../chain/clients.ts";
import { epochsAbi, verinferTokenAbi } from "../../../chain/generated/contracts.ts";
import { batchInfo, epochAt, revealEnd, type ScoreClock, scoreClock } from "../../../chain/postedBatches.ts";
import { keccakUtf8 } from "../../../protocol/encoding/keccak.ts";
import { DEVNET_OTR_PARAMS } from "../../../protocol/params/otr.ts";
import { testAuditor } from "../../../testing/auditor.ts";
import { type DevChain, startDevChain } from "../../../testing/devChain.ts";
import { posterRig } from "../../../testing/posterRig.ts";

let dev: DevChain;
let clock: ScoreClock;

beforeAll(async () => {
  dev = await startDevChain({
    rewards: DEVNET_OTR_PARAMS.poea,
    challengeWindowSeconds: BigInt(DEVNET_OTR_PARAMS.rollup.challengeWindowMs / 1000),
  });
  clock = await scoreClock(dev.owner, dev.d.scoreCommits as Hex);
}, 120_000);
afterAll(() => dev?.chain.stop());

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

describe("settler audit", () => {
  it("reports made-up roots, for an epoch with receipts and for one without; an unposted epoch stays empty", async () => {
    // Epoch 0 is empty on chain and gets a made-up root.
    await postMadeUpRoot(0);
    // A later epoch holds a posted batch of the dev worker's receipts, and gets a made-up root too.
    await passRevealOf(0);
    const rig = posterRig(dev, 2);
    rig.seal();
    while (rig.posted.length < 1) await rig.poster.step();
    const withReceipts = epochAt(clock, (await batchInfo(dev.owner, dev.d.rollup, 0)).postedAt);
    expect(withReceipts).toBeGreaterThan(0);
    await postMadeUpRoot(withReceipts);
    await passRevealOf(withReceipts);

    const auditor = testAuditor({ kind: "verinfer.deployment", rpcUrl: dev.chain.rpcUrl, ...dev.d });
    try {
      for (let pass = 0; pass < 10 && !(await auditor.verdicts()).has(withReceipts); pass++)
        await auditor.node.step();
      const verdicts = await auditor.verdicts();
      expect(verdicts.get(0)).toBe("disagrees");
      expect(verdicts.get(withReceipts)).toBe("disagrees");
      for (let e = 1; e < withReceipts; e++) expect(verdicts.get(e)).toBe("empty");
      // What it recomputed for the epoch with receipts: the batch's receipts, its own root.
      const epoch = (
        await auditor.node.app.inject({ method: "GET", url: `/v1/epochs/${withReceipts}` })
      ).json() as { root: string; inputs: { receipts: unknown[] } };
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
});
