/**
 * A dev chain for the chain tests: anvil with the core contracts deployed by dev account 0 (owner,
 * worker operator and bonded sequencer) and the dev worker registered, with test-sized parameters.
 */
import type { Hex } from "viem";
import { type LocalChain, startAnvil } from "../chain/anvil.ts";
import { becomeSequencer } from "../chain/clients.ts";
import { type ChainClients, clientsFor, type Deployment, deployCore } from "../chain/deploy.ts";
import type { PoeaParams, SpotCheckParams } from "../protocol/params/otr.ts";
import { registerTheDevWorker } from "./devWorker.ts";

export const TOKEN = 10n ** 18n;

export interface DevChain {
  readonly chain: LocalChain;
  /** Dev account 0: deployer, owner, the dev worker's operator and the bonded sequencer. */
  readonly owner: ChainClients;
  readonly d: Deployment;
  /** Clients for dev account `i` (1 is the attester). */
  clientsOf(i: number): ChainClients;
}

/** Starts anvil, deploys the core contracts and registers the dev worker. */
export async function startDevChain(
  o: {
    readonly minSequencerBond?: bigint;
    readonly workerStake?: bigint;
    readonly stepsPerPosition?: number;
    readonly challengeWindowSeconds?: bigint;
    /** The worker's model commitment (a verifiable model's root; a stand-in by default). */
    readonly weightsHash?: Hex;
    /** With these, ZK spot-checks are deployed too. */
    readonly spotChecks?: SpotCheckParams;
    /** With these, epoch rewards (Epochs, ScoreCommits) are deployed too, the owner their settler. */
    readonly rewards?: PoeaParams;
  } = {},
): Promise<DevChain> {
  const chain = await startAnvil();
  const clientsOf = (i: number) => clientsFor(chain.rpcUrl, chain.chainId, chain.keys[i] as Hex);
  const owner = clientsOf(0);
  const bond = o.minSequencerBond ?? TOKEN;
  const d = await deployCore(owner, {
    unbondingDelaySeconds: 3600n,
    minStake: { worker: TOKEN, evaluator: TOKEN, fisherman: 0n },
    challengeWindowSeconds: o.challengeWindowSeconds ?? 3600n,
    minSequencerBond: bond,
    proverShareBps: 5_000n,
    ...(o.spotChecks ? { spotChecks: o.spotChecks } : {}),
    ...(o.rewards ? { rewards: o.rewards } : {}),
  });
  await registerTheDevWorker(owner, d, chain.keys[1] as Hex, {
    stake: o.workerStake ?? 10n * TOKEN,
    validSeconds: 30n * 86_400n,
    stepsPerPosition: o.stepsPerPosition ?? 0,
    ...(o.weightsHash ? { weightsHash: o.weightsHash } : {}),
  });
  await becomeSequencer(owner, d, bond);
  return { chain, owner, d, clientsOf };
}
