/**
 * A role's parameters come from the contracts it runs against: deployed with values unlike either
 * preset, every value the chain fixes is read back exactly, and the rest (batching, the bonds' gas
 * model, rewards minted) stays the preset's; a preset sizing other bonds is refused with
 * CONFIG_INVALID; contracts not deployed leave the preset's values.
 */
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_OTR_PARAMS, DEVNET_OTR_PARAMS, type OtrParams } from "../protocol/params/otr.ts";
import { type LocalChain, startAnvil } from "./anvil.ts";
import { type ChainClients, clientsFor, coreParamsOf, deployCore } from "./deploy.ts";
import { deployedParams } from "./deployedParams.ts";

/** Unlike both presets in every value the contracts fix. */
const CUSTOM: OtrParams = {
  rollup: { ...DEVNET_OTR_PARAMS.rollup, challengeWindowMs: 45_000, maxReceiptAgeMs: 1_234_000 },
  dispute: {
    ...DEVNET_OTR_PARAMS.dispute,
    arity: 4,
    maxClockMs: 40_000,
    extensionMs: 8_000,
    oneStepExtensionMs: 12_000,
    workerSlash: 3n * 10n ** 18n,
    challengerShareBps: 4_000,
  },
  spotcheck: {
    ...DEVNET_OTR_PARAMS.spotcheck,
    rhoPpm: 50_000,
    seedDelayBlocks: 3,
    proofDeadlineMs: 90_000,
    bindingWindowMs: 70_000,
    missingProofSlash: 7n * 10n ** 18n,
  },
  poea: {
    ...DEVNET_OTR_PARAMS.poea,
    unbondingMs: 120_000,
    epochMs: 30_000,
    scoreCommitMs: 7_000,
    scoreRevealMs: 9_000,
    evaluatorsPerReceipt: 2,
    workerShareBps: 6_000,
    evaluatorShareBps: 3_000,
    fishermanShareBps: 1_000,
  },
};

let chain: LocalChain;
let owner: ChainClients;
beforeAll(async () => {
  chain = await startAnvil();
  owner = clientsFor(chain.rpcUrl, chain.chainId, chain.keys[0] as Hex);
}, 60_000);
afterAll(() => chain?.stop());

describe("deployedParams", () => {
  it("reads every value the deployment fixes and keeps the preset's own choices", async () => {
    const d = await deployCore(owner, coreParamsOf(CUSTOM));
    // The devnet preset differs from CUSTOM only where the chain decides.
    expect(await deployedParams(owner.public, d, DEVNET_OTR_PARAMS, "devnet")).toEqual(CUSTOM);
    // The default preset sizes the same bonds: it runs against these contracts too, batching its way.
    const fromDefault = await deployedParams(owner.public, d, DEFAULT_OTR_PARAMS, "default");
    expect(fromDefault.dispute).toEqual(CUSTOM.dispute);
    expect(fromDefault.spotcheck).toEqual(CUSTOM.spotcheck);
    expect(fromDefault.rollup).toEqual({
      ...DEFAULT_OTR_PARAMS.rollup,
      challengeWindowMs: 45_000,
      maxReceiptAgeMs: 1_234_000,
    });
    // A preset whose bonds differ cannot be made to match: refused, naming both amounts.
    const dearer = {
      ...DEVNET_OTR_PARAMS,
      dispute: {
        ...DEVNET_OTR_PARAMS.dispute,
        bondGasPriceWei: 2n * DEVNET_OTR_PARAMS.dispute.bondGasPriceWei,
      },
    };
    await expect(deployedParams(owner.public, d, dearer, "dearer")).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringMatching(/attackNodeBond \d+ on chain, \d+ here/),
    });
  }, 120_000);

  it("keeps the preset's values where the deployment has no such contract", async () => {
    const { dispute: _d, rewards: _r, spotChecks: _s, ...core } = coreParamsOf(CUSTOM);
    const d = await deployCore(owner, core);
    const p = await deployedParams(owner.public, d, DEVNET_OTR_PARAMS, "devnet");
    expect(p).toEqual({
      ...DEVNET_OTR_PARAMS,
      rollup: { ...DEVNET_OTR_PARAMS.rollup, challengeWindowMs: 45_000, maxReceiptAgeMs: 1_234_000 },
      poea: { ...DEVNET_OTR_PARAMS.poea, unbondingMs: 120_000 },
    });
  }, 120_000);
});
