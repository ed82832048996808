/**
 * Deploys verinfer's contracts with viem and returns their addresses. Used by `verinfer chain up`, the
 * nodes' devnet and the tests, on anvil or any EVM chain.
 */
import {
  type Account,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import {
  DEFAULT_OTR_PARAMS,
  type DisputeParams,
  type OtrParams,
  type PoeaParams,
  type SpotCheckParams,
} from "../protocol/params/otr.ts";
import { deployDisputeGame } from "./disputeClient.ts";
import { deployEpochs } from "./epochs.ts";
import {
  registryAbi,
  registryBytecode,
  rollupAbi,
  rollupBytecode,
  scoreCommitsAbi,
  scoreCommitsBytecode,
  verinferTokenAbi,
  verinferTokenBytecode,
} from "./generated/contracts.ts";
import { nodeAccount } from "./nodeAccount.ts";
import { rpcFetch } from "./rpcFetch.ts";
import { deploySpotChecks } from "./spotChecks.ts";
import { deployStepVerifier } from "./stepVerifier.ts";
import { deployZkSliceVerifier } from "./zkSpotChecks.ts";

/** Clients bound to one chain and one account. */
export interface ChainClients extends Resending {
  readonly chain: Chain;
  readonly public: PublicClient<Transport, Chain>;
  readonly wallet: WalletClient<Transport, Chain, Account>;
}

/** How `confirm` (clients.ts) treats a send that stays pending. */
export interface Resending {
  /** A send still pending this long is sent again with higher fees (default 30 s). */
  readonly resendAfterMs?: number | undefined;
  /** The most a re-sent transaction offers per gas (wei); none: no ceiling. */
  readonly maxFeePerGas?: bigint | undefined;
  /** Where re-sends are told (a node's logger). */
  readonly logger?: { warn(o: object, msg: string): void } | undefined;
}

// viem polls for receipts every 4 s by default; a devnet mines in milliseconds.
const POLLING_INTERVAL_MS = 100;

/** A read-only client for `rpcUrl` (chain `chainId`). */
export function publicClientFor(rpcUrl: string, chainId: number): PublicClient<Transport, Chain> {
  const chain = defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  return createPublicClient({ chain, transport: rpcTransport(rpcUrl), pollingInterval: POLLING_INTERVAL_MS });
}

/** viem's http transport over rpcFetch (which enforces viem's reply size limit itself). */
const rpcTransport = (rpcUrl: string) => http(rpcUrl, { fetchFn: rpcFetch, maxResponseBodySize: false });

/** Clients for `rpcUrl` acting as the account of `privateKey`. */
export function clientsFor(
  rpcUrl: string,
  chainId: number,
  privateKey: Hex,
  resending: Resending = {},
): ChainClients {
  const publicClient = publicClientFor(rpcUrl, chainId);
  return {
    ...resending,
    chain: publicClient.chain,
    public: publicClient,
    wallet: createWalletClient({
      chain: publicClient.chain,
      transport: rpcTransport(rpcUrl),
      account: nodeAccount(privateKey),
      pollingInterval: POLLING_INTERVAL_MS,
    }),
  };
}

/** Deployment parameters (amounts in wei, times in seconds): docs/spec/otr.md's, in the contracts' units. */
export interface CoreParams {
  readonly unbondingDelaySeconds: bigint;
  /** Minimum active stake of a worker, an evaluator and a fisherman. */
  readonly minStake: { readonly worker: bigint; readonly evaluator: bigint; readonly fisherman: bigint };
  readonly challengeWindowSeconds: bigint;
  /** After this a receipt is stale when posted (receiptAge.ts); default the protocol's (a day). */
  readonly maxReceiptAgeSeconds?: bigint;
  readonly minSequencerBond: bigint;
  /** Share of a broken promise's slashed bond paid to whoever proved it (basis points). */
  readonly proverShareBps: bigint;
  /** With these, the dispute game and its on-chain one-step check are deployed and wired in too. */
  readonly dispute?: DisputeParams;
  /** With these, the epoch rewards contract is deployed too, the deployer its settler. */
  readonly rewards?: PoeaParams;
  /** With these, ZK spot-checks (SpotChecks over ZkSliceVerifier) are deployed and may slash. */
  readonly spotChecks?: SpotCheckParams;
}

/** The protocol's parameters (docs/spec/otr.md, milliseconds) in the contracts' units (seconds). */
export function coreParamsOf(p: OtrParams): CoreParams {
  return {
    unbondingDelaySeconds: BigInt(Math.ceil(p.poea.unbondingMs / 1000)),
    // Fishermen stake "any" amount (docs/spec/otr.md §1).
    minStake: { worker: p.poea.minWorkerStake, evaluator: p.poea.minEvaluatorStake, fisherman: 0n },
    challengeWindowSeconds: BigInt(Math.ceil(p.rollup.challengeWindowMs / 1000)),
    maxReceiptAgeSeconds: BigInt(Math.ceil(p.rollup.maxReceiptAgeMs / 1000)),
    minSequencerBond: p.rollup.sequencerBond,
    proverShareBps: BigInt(p.dispute.challengerShareBps),
    dispute: p.dispute,
    rewards: p.poea,
    spotChecks: p.spotcheck,
  };
}

/** Deployed addresses. */
export interface Deployment {
  readonly chainId: number;
  readonly owner: Hex;
  readonly token: Hex;
  readonly registry: Hex;
  /** The settlement contract: receipts and promises are EIP-712 data in its domain. */
  readonly rollup: Hex;
  /** The dispute game and its one-step check (TraceStepVerifier), when deployed. */
  readonly disputeGame?: Hex;
  readonly stepVerifier?: Hex;
  /** Epoch rewards (Epochs), when deployed; the deployer is its settler. */
  readonly epochs?: Hex;
  /** Commit–reveal of evaluators' scores (ScoreCommits), deployed with Epochs. */
  readonly scoreCommits?: Hex;
  /** ZK spot-checks (SpotChecks) and their verifier (ZkSliceVerifier), when deployed. */
  readonly spotChecks?: Hex;
  readonly zkVerifier?: Hex;
  /** The chain's head when the deployment began: no event of these contracts is older (logs.ts). */
  readonly deployedAtBlock?: number;
}

/** Deploys one contract and waits for it. */
export async function deployContract(
  c: ChainClients,
  abi: readonly unknown[],
  bytecode: Hex,
  args: readonly unknown[],
): Promise<Hex> {
  const hash = await c.wallet.deployContract({ abi, bytecode, args } as Parameters<
    typeof c.wallet.deployContract
  >[0]);
  const receipt = await c.public.waitForTransactionReceipt({ hash });
  if (!receipt.contractAddress) throw new Error(`deployment ${hash} created no contract`);
  return receipt.contractAddress;
}

/**
 * Deploys the token, the registry and the rollup, owned by the clients' account, and — with dispute
 * parameters — the one-step check and the dispute game, wired to the rollup and the registry; with
 * reward parameters, the epoch rewards contract (the deployer its settler); with spot-check parameters,
 * SpotChecks over the ZK verifier (the challenger share of disputes is the reporter share).
 */
export async function deployCore(c: ChainClients, params: CoreParams): Promise<Deployment> {
  const owner = c.wallet.account.address;
  const deployedAtBlock = Number(await c.public.getBlockNumber());
  const token = await deployContract(c, verinferTokenAbi, verinferTokenBytecode, [owner]);
  const registry = await deployContract(c, registryAbi, registryBytecode, [
    owner,
    token,
    params.unbondingDelaySeconds,
    [0n, params.minStake.worker, params.minStake.evaluator, params.minStake.fisherman],
  ]);
  const rollup = await deployContract(c, rollupAbi, rollupBytecode, [
    owner,
    registry,
    params.challengeWindowSeconds,
    params.maxReceiptAgeSeconds ?? BigInt(DEFAULT_OTR_PARAMS.rollup.maxReceiptAgeMs / 1000),
    params.minSequencerBond,
    params.proverShareBps,
  ]);
  const core = { chainId: c.chain.id, owner, token, registry, rollup, deployedAtBlock };
  const epochs = params.rewards
    ? await deployEpochs(c, core, params.rewards, {
        challengeWindowSeconds: params.challengeWindowSeconds,
        minSettlerBond: params.minSequencerBond,
        challengerShareBps: Number(params.proverShareBps),
        settler: owner,
      })
    : undefined;
  let spot: { spotChecks: Hex; zkVerifier: Hex } | undefined;
  if (params.spotChecks) {
    const { verifier } = await deployZkSliceVerifier(c);
    const share = Number(params.proverShareBps);
    spot = {
      zkVerifier: verifier,
      spotChecks: await deploySpotChecks(c, core, verifier, params.spotChecks, share),
    };
  }
  const scoreCommits = params.rewards
    ? await deployContract(c, scoreCommitsAbi, scoreCommitsBytecode, [
        registry,
        ...[params.rewards.epochMs, params.rewards.scoreCommitMs, params.rewards.scoreRevealMs].map((ms) =>
          BigInt(Math.ceil(ms / 1000)),
        ),
        params.rewards.evaluatorsPerReceipt,
      ])
    : undefined;
  const optional = { ...(epochs && scoreCommits ? { epochs, scoreCommits } : {}), ...spot };
  if (!params.dispute) return { ...core, ...optional };
  const stepVerifier = await deployStepVerifier(c);
  const disputeGame = await deployDisputeGame(c, core, stepVerifier, params.dispute);
  return { ...core, stepVerifier, disputeGame, ...optional };
}
