import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalChain, startAnvil } from "../../../chain/anvil.ts";
import { advanceTime, send } from "../../../chain/clients.ts";
import { type ChainClients, clientsFor, coreParamsOf, deployCore } from "../../../chain/deploy.ts";
import type { DeploymentFile } from "../../../chain/deploymentFile.ts";
import { epochsAbi, verinferTokenAbi } from "../../../chain/generated/contracts.ts";
import { revealEnd, scoreClock } from "../../../chain/postedBatches.ts";
import { keccakUtf8 } from "../../../protocol/encoding/keccak.ts";
import { DEVNET_OTR_PARAMS } from "../../../protocol/params/otr.ts";
import { testAuditor } from "../../../testing/auditor.ts";

let chain: LocalChain;
let owner: ChainClients;
let deployment: DeploymentFile;

beforeAll(async () => {
  chain = await startAnvil();
  owner = clientsFor(chain.rpcUrl, chain.chainId, chain.keys[0] as Hex);
  const d = await deployCore(owner, coreParamsOf(DEVNET_OTR_PARAMS));
  deployment = { kind: "verinfer.deployment", rpcUrl: chain.rpcUrl, ...d };
}, 120_000);
afterAll(() => chain?.stop());

describe("settler audit", () => {
  it("reports a reward root posted for an epoch the chain holds no receipt of", async () => {
    const epochs = deployment.epochs as Hex;
    const token = deployment.token;
    const bond = (await owner.public.readContract({
      address: epochs,
      abi: epochsAbi,
      functionName: "minSettlerBond",
    })) as bigint;
    const me = owner.wallet.account.address;
    // The settler (the deployer) bonds, then posts a root of its own making for epoch 0.
    await send(owner, token, verinferTokenAbi, "mint", [me, bond]);
    await send(owner, token, verinferTokenAbi, "approve", [epochs, bond]);
    await send(owner, epochs, epochsAbi, "depositBond", [bond]);
    const root = `0x${"11".repeat(32)}` as Hex;
    await send(owner, epochs, epochsAbi, "post", [0n, root, 0n, [1n, 0n, 0n], [1, 0, 0], keccakUtf8("{}")]);
    // Both epochs 0 and 1 have passed their reveal phase.
    const clock = await scoreClock(owner, deployment.scoreCommits as Hex);
    const now = Number((await owner.public.getBlock()).timestamp);
    await advanceTime(owner, revealEnd(clock, 1) - now + 1);

    const auditor = testAuditor(deployment);
    try {
      await auditor.node.step();
      const verdicts = await auditor.verdicts();
      expect([verdicts.get(0), verdicts.get(1)]).toEqual(["disagrees", "empty"]);
      const health = (await auditor.node.app.inject({ method: "GET", url: "/health" })).json();
      expect(health).toMatchObject({ mode: "audit" });
      const metrics = (await auditor.node.app.inject({ method: "GET", url: "/metrics" })).body;
      expect(metrics).toMatch(/verinfer_settler_epochs_total\{outcome="disagrees"\} 1/);
      // An auditor sends nothing: the account it was given has made no transaction.
      expect(await owner.public.getTransactionCount({ address: auditor.account as Hex })).toBe(0);
    } finally {
      await auditor.node.close();
    }
  }, 120_000);
});
