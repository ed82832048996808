/**
 * Typed calls the nodes, the CLI and the tests make: one place that knows each contract's functions,
 * waits for each transaction and turns reverts into verdict codes.
 */
import {
  BaseError,
  type Hex,
  HttpRequestError,
  TimeoutError,
  type Transaction,
  TransactionNotFoundError,
  type TransactionReceipt,
  TransactionReceiptNotFoundError,
  WaitForTransactionReceiptTimeoutError,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { ChainClients, Deployment } from "./deploy.ts";
import { type Fees, replacementFees } from "./fees.ts";
import { epochsAbi, registryAbi, rollupAbi, verinferTokenAbi } from "./generated/contracts.ts";

/** A transaction that was mined and reverted (one refused before sending is viem's error; see revert.ts). */
export class TransactionReverted extends Error {
  constructor(
    readonly functionName: string,
    readonly hash: Hex,
  ) {
    super(`${functionName} reverted in ${hash}`);
  }
}

/**
 * Sends a transaction with headroom over its gas estimate and waits for its receipt; a revert before
 * sending surfaces as viem's error (see revert.ts), one when mined as TransactionReverted.
 */
export async function send(
  c: ChainClients,
  address: Hex,
  abi: readonly unknown[],
  functionName: string,
  args: readonly unknown[],
  value?: bigint,
): Promise<Hex> {
  return confirm(c, functionName, await submit(c, address, abi, functionName, args, value));
}

/**
 * Each account's submission in progress: the next waits for it. A node that sends from two tasks at once
 * (a fisherman's obligations beside its challenges) would otherwise have both read the same pending
 * nonce, and one send would replace or lose the other.
 */
const submitting = new WeakMap<object, Promise<unknown>>();

/**
 * Sends a transaction with headroom over its gas estimate without waiting for it to be mined (several
 * go out back to back, in nonce order, to land in one block); `confirm` waits for each. Submissions of
 * one account go out one at a time; their confirmations overlap.
 */
export async function submit(
  c: ChainClients,
  address: Hex,
  abi: readonly unknown[],
  functionName: string,
  args: readonly unknown[],
  value?: bigint,
): Promise<Hex> {
  const call = { address, abi, functionName, args, value, account: c.wallet.account } as never;
  const sent = (submitting.get(c.wallet) ?? Promise.resolve()).then(async () => {
    const gas = withHeadroom(await c.public.estimateContractGas(call), await blockGasLimit(c));
    return (await c.wallet.writeContract({ ...(call as object), gas } as never)) as Hex;
  });
  submitting.set(
    c.wallet,
    sent.catch(() => {}),
  );
  return sent;
}

/**
 * A send that will not be mined: the node dropped it (its nonce is unused), or another transaction of
 * the account took its nonce. The call was not made; the caller's next pass makes it anew.
 */
export class TransactionDropped extends Error {
  constructor(
    readonly functionName: string,
    readonly hash: Hex,
    why: string,
  ) {
    super(`${functionName} ${hash} will not be mined: ${why}`);
  }
}

/** How long a send may stay pending before it is sent again with higher fees, by default. */
const RESEND_AFTER_MS = 30_000;

/**
 * How often a pending send is looked up between re-sends. A node that restarts loses its pool: a send
 * it took just before is gone at once, and a proof or dispute move waiting out the re-send delay for it
 * lost half a devnet deadline (honest workers were slashed so after an anvil restart).
 */
const DROP_CHECK_MS = 5_000;

/**
 * Waits for a submitted transaction and returns the hash that was mined; TransactionReverted if it
 * reverted. A send still pending after `c.resendAfterMs` is sent again under its nonce with fees an
 * eighth higher, or what the chain asks now if more, up to `c.maxFeePerGas` (a fee spike would
 * otherwise hold it, and a dispute move or a proof behind it, past its deadline); at the ceiling it
 * waits. One the node no longer knows (looked up every few seconds while it waits), or whose nonce
 * another transaction took, fails with TransactionDropped.
 */
export async function confirm(c: ChainClients, functionName: string, hash: Hex): Promise<Hex> {
  /** Every send of the call that may still be mined (all under one nonce), the latest last. */
  const sends = [hash];
  const resendAfterMs = c.resendAfterMs ?? RESEND_AFTER_MS;
  let lostSince: number | null = null;
  let pendingMs = 0;
  for (;;) {
    const latest = sends[sends.length - 1] as Hex;
    const waitMs = Math.min(DROP_CHECK_MS, resendAfterMs - pendingMs);
    let receipt = await c.public
      .waitForTransactionReceipt({ hash: latest, timeout: waitMs })
      .catch((error: unknown) => {
        if (error instanceof WaitForTransactionReceiptTimeoutError) return null;
        throw error;
      });
    if (!receipt) {
      pendingMs += waitMs;
      const resend = pendingMs >= resendAfterMs;
      if (resend) pendingMs = 0;
      try {
        receipt = await lookUp(c, functionName, sends, resend);
        lostSince = null;
      } catch (error) {
        // The RPC lost while the send waits: it may be mined meanwhile, so waiting on is right (failing
        // would make the caller send the call again), as viem's own wait does through a lost RPC.
        if (!lostRpc(error)) throw error;
        lostSince ??= performance.now();
        if (performance.now() - lostSince > RPC_LOST_FOR_MS) throw error;
        c.logger?.warn(
          { call: functionName, tx: latest, err: (error as Error).message },
          "RPC lost; waiting",
        );
      }
      if (!receipt) continue;
    }
    // viem follows a send's nonce: what it mined may be an earlier send of the call, or another call.
    const mined = receipt.transactionHash.toLowerCase() as Hex;
    if (!sends.some((h) => h.toLowerCase() === mined))
      throw new TransactionDropped(functionName, latest, `its nonce was taken by ${mined}`);
    if (receipt.status !== "success") throw new TransactionReverted(functionName, mined);
    return mined;
  }
}

/** How long `confirm` waits through a lost RPC before it gives up (viem's wait gives up after 180 s). */
const RPC_LOST_FOR_MS = 180_000;

/** Whether `error` is the RPC not answering (refused, cut, timed out), not the chain refusing. */
function lostRpc(error: unknown): boolean {
  return (
    error instanceof BaseError &&
    error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError) !== null
  );
}

/** The receipt of `hash`, or null while it is not mined (other RPC errors are thrown). */
export function receiptOf(c: ChainClients, hash: Hex): Promise<TransactionReceipt | null> {
  return c.public.getTransactionReceipt({ hash }).catch((e: unknown) => {
    if (e instanceof TransactionReceiptNotFoundError) return null;
    throw e;
  });
}

/** Transaction `hash` as the node knows it (pending or mined), or null when it does not. */
export function transactionOf(c: ChainClients, hash: Hex): Promise<Transaction | null> {
  return c.public.getTransaction({ hash }).catch((e: unknown) => {
    if (e instanceof TransactionNotFoundError) return null;
    throw e;
  });
}

/**
 * After a wait without a receipt: the receipt of whichever send of the call was mined, if one was (a
 * node forgets the other sends of a nonce once one is mined, and another node may have mined an earlier
 * one); else null, and when `resend` the latest send, still pending, is sent again with higher fees
 * (added to `sends`) or left to wait at the ceiling. TransactionDropped when the node no longer knows it.
 */
async function lookUp(
  c: ChainClients,
  functionName: string,
  sends: Hex[],
  resend: boolean,
): Promise<TransactionReceipt | null> {
  for (const h of sends) {
    const mined = await receiptOf(c, h);
    if (mined) return mined;
  }
  const latest = sends[sends.length - 1] as Hex;
  const tx = await transactionOf(c, latest);
  if (!tx) throw new TransactionDropped(functionName, latest, "the node no longer knows it");
  // Mined as it was looked up (the next wait has it), or not yet due a re-send.
  if (tx.blockNumber !== null || !resend) return null;
  const legacy = tx.maxFeePerGas === undefined || tx.maxPriorityFeePerGas === undefined;
  const sent: Fees = legacy
    ? { gasPrice: tx.gasPrice ?? 0n }
    : { maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas };
  const asked = legacy
    ? { gasPrice: (await c.public.estimateFeesPerGas({ type: "legacy" })).gasPrice }
    : await c.public.estimateFeesPerGas({ type: "eip1559" });
  const { fees, outbids } = replacementFees(sent, asked, c.maxFeePerGas);
  if (!outbids) {
    c.logger?.warn(
      { call: functionName, tx: latest, maxFeePerGas: String(c.maxFeePerGas) },
      "transaction pending at the fee ceiling; waiting",
    );
    return null;
  }
  try {
    const hash = await c.wallet.sendTransaction({
      account: c.wallet.account,
      chain: c.chain,
      to: tx.to,
      data: tx.input,
      value: tx.value,
      gas: tx.gas,
      nonce: tx.nonce,
      ...fees,
    } as never);
    c.logger?.warn(
      {
        call: functionName,
        replaced: latest,
        tx: hash,
        nonce: tx.nonce,
        ...Object.fromEntries(Object.entries(fees).map(([k, v]) => [k, String(v)])),
      },
      "transaction pending; sent again with higher fees",
    );
    sends.push(hash);
    return null;
  } catch (error) {
    // Mined meanwhile (its nonce is used), or refused: the next wait settles it.
    c.logger?.warn(
      { call: functionName, tx: latest, err: (error as Error).message },
      "transaction not sent again",
    );
    return null;
  }
}

/**
 * The gas limit to send with an estimate: a quarter more and 25,000 (a cold zero-to-nonzero store),
 * within the block's limit. An estimate holds for the block it was made against only: a transaction
 * mined a second later can take a costlier branch — a dispute move whose deadline now passes the game's
 * last one stores it — and, sent with the bare estimate, runs out of gas (an honest worker's defence
 * was refused that way until its clock ran out).
 */
export function withHeadroom(estimate: bigint, blockLimit: bigint): bigint {
  const padded = estimate + estimate / 4n + 25_000n;
  return padded < blockLimit ? padded : estimate > blockLimit ? estimate : blockLimit;
}

/** The chain's block gas limit, read once per client (it changes slowly, if at all). */
const gasLimits = new WeakMap<object, bigint>();
async function blockGasLimit(c: ChainClients): Promise<bigint> {
  let limit = gasLimits.get(c.public);
  if (limit === undefined) {
    limit = (await c.public.getBlock()).gasLimit;
    gasLimits.set(c.public, limit);
  }
  return limit;
}

/** An attester's verdict over a worker's evidence (what Registry.registerWorker checks). */
export function attesterVerdict(
  attesterKey: Hex,
  d: Deployment,
  v: { worker: Hex; operator: Hex; modelId: Hex; attestationHash: Hex; expiresAt: bigint },
): Promise<Hex> {
  return privateKeyToAccount(attesterKey).signTypedData({
    domain: { name: "verinfer-registry", version: "1", chainId: d.chainId, verifyingContract: d.registry },
    types: {
      Attestation: [
        { name: "worker", type: "address" },
        { name: "operator", type: "address" },
        { name: "modelId", type: "bytes32" },
        { name: "attestationHash", type: "bytes32" },
        { name: "expiresAt", type: "uint64" },
      ],
    },
    primaryType: "Attestation",
    message: v,
  });
}

/** A worker to register for the model: its enclave key's address, evidence digest and stake. */
export interface WorkerRegistration {
  readonly worker: Hex;
  readonly attestationHash: Hex;
  readonly stake: bigint;
  /** Seconds the attester's verdict stays valid. */
  readonly validSeconds: bigint;
}

/**
 * Registers a model with its engines (owner), lists an attester (owner), and registers and stakes a
 * worker operated by the clients' account with that attester's verdict. Tokens are minted to the
 * operator (the owner's devnet faucet).
 */
export async function registerDevWorker(
  c: ChainClients,
  d: Deployment,
  model: {
    readonly modelId: Hex;
    readonly weightsHash: Hex;
    /** Trace leaves per position of the verifiable engine (0: the model's receipts cannot be disputed). */
    readonly stepsPerPosition: number;
    /** The longest disputable trace, in positions (see Registry.Model; default: no limit). */
    readonly maxDisputePositions?: number;
    readonly engines: readonly Hex[];
  },
  attesterKey: Hex,
  w: WorkerRegistration,
): Promise<void> {
  const operator = c.wallet.account.address;
  await send(c, d.registry, registryAbi, "registerModel", [
    model.modelId,
    model.weightsHash,
    model.stepsPerPosition,
    model.maxDisputePositions ?? 2 ** 32 - 1,
    model.engines,
  ]);
  await send(c, d.registry, registryAbi, "setAttester", [privateKeyToAccount(attesterKey).address, true]);
  await send(c, d.token, verinferTokenAbi, "mint", [operator, w.stake]);
  await send(c, d.token, verinferTokenAbi, "approve", [d.registry, w.stake]);
  const expiresAt = (await c.public.getBlock()).timestamp + w.validSeconds;
  const verdict = await attesterVerdict(attesterKey, d, {
    worker: w.worker,
    operator,
    modelId: model.modelId,
    attestationHash: w.attestationHash,
    expiresAt,
  });
  await send(c, d.registry, registryAbi, "registerWorker", [
    w.worker,
    model.modelId,
    w.attestationHash,
    expiresAt,
    verdict,
  ]);
  await send(c, d.registry, registryAbi, "deposit", [w.worker, w.stake]);
}

/** Makes the clients' account the bonded sequencer (owner's call, then its own bond). */
export async function becomeSequencer(c: ChainClients, d: Deployment, bond: bigint): Promise<void> {
  const me = c.wallet.account.address;
  await send(c, d.rollup, rollupAbi, "setSequencer", [me]);
  await send(c, d.token, verinferTokenAbi, "mint", [me, bond]);
  await send(c, d.token, verinferTokenAbi, "approve", [d.rollup, bond]);
  await send(c, d.rollup, rollupAbi, "depositBond", [bond]);
}

/** Bonds the clients' account as the epoch settler of `d.epochs` (tokens minted by the owner). */
export async function becomeSettler(c: ChainClients, d: Deployment, bond: bigint): Promise<void> {
  if (!d.epochs) throw new Error("the deployment has no epoch rewards contract");
  const me = c.wallet.account.address;
  await send(c, d.token, verinferTokenAbi, "mint", [me, bond]);
  await send(c, d.token, verinferTokenAbi, "approve", [d.epochs, bond]);
  await send(c, d.epochs, epochsAbi, "depositBond", [bond]);
}

/**
 * Makes anvil's block times independent of the wall clock: each new block is one second after the last
 * (advanceTime still jumps). Tests that mirror the chain's clock use it, so that a move near a
 * deadline is judged at the same second on chain and in TypeScript however slowly the machine runs.
 */
export async function pinBlockTimes(c: ChainClients): Promise<void> {
  await c.public.request({
    method: "anvil_setBlockTimestampInterval",
    params: [1],
  } as never);
}

/** The time (ms) of the block a transaction sent now would land in, under {@link pinBlockTimes}. */
export async function nextBlockMs(c: ChainClients): Promise<number> {
  return (Number((await c.public.getBlock()).timestamp) + 1) * 1000;
}

/** Moves anvil's clock forward: mines a block `seconds` after the latest (with or without pinBlockTimes). */
export async function advanceTime(c: ChainClients, seconds: number): Promise<void> {
  const latest = Number((await c.public.getBlock()).timestamp);
  await c.public.request({ method: "evm_setNextBlockTimestamp", params: [latest + seconds] } as never);
  await c.public.request({ method: "evm_mine", params: [] } as never);
}
