/**
 * The settler in audit mode catches a settler that lies, on a real chain: a reward root posted for an
 * epoch in which the chain holds no receipt is reported as disagreeing, and an epoch nobody posted for
 * stays empty. (That an honest settlement always agrees is asserted on the devnet: test/e2e/epochs.test.ts.)
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
import { DEFAULT_POQ_ROUND_PARAMS } from "../../../protocol/params/poq.ts";
import { nodeLogger } from "../../observability.ts";
import { createSettler } from "./settlerService.ts";

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

    const auditor = createSettler({
      dataDir: mkdtempSync(join(tmpdir(), "verinfer-audit-")),
      chain: clientsFor(chain.rpcUrl, chain.chainId, chain.keys[7] as Hex),
      deployment,
      poea: DEVNET_OTR_PARAMS.poea,
      round: DEFAULT_POQ_ROUND_PARAMS,
      seedDelayBlocks: DEVNET_OTR_PARAMS.spotcheck.seedDelayBlocks,
      pollMs: 1000,
      logger: nodeLogger("settler", "silent"),
      mode: "audit",
    });
    try {
      await auditor.step();
      const listed = (await auditor.app.inject({ method: "GET", url: "/v1/epochs" })).json() as {
        epochs: { epoch: number; status: string }[];
      };
      expect(listed.epochs.slice(0, 2)).toMatchObject([
        { epoch: 0, status: "disagrees" },
        { epoch: 1, status: "empty" },
      ]);
      const health = (await auditor.app.inject({ method: "GET", url: "/health" })).json();
      expect(health).toMatchObject({ mode: "audit" });
      const metrics = (await auditor.app.inject({ method: "GET", url: "/metrics" })).body;
      expect(metrics).toMatch(/verinfer_settler_epochs_total\{outcome="disagrees"\} 1/);
      // An auditor sends nothing: the account it was given has made no transaction.
      expect(
        await owner.public.getTransactionCount({
          address: clientsFor(chain.rpcUrl, chain.chainId, chain.keys[7] as Hex).wallet.account.address,
        }),
      ).toBe(0);
    } finally {
      await auditor.close();
    }
  }, 120_000);
});
