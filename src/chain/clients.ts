/**
 * Typed calls the nodes, the CLI and the tests make: one place that knows each contract's functions,
 * waits for each transaction and turns reverts into verdict codes.
 */
import {
  BaseError,
  type Hex,
  HttpRequestError,
  TimeoutError,
  TransactionNotFoundError,
  type TransactionReceipt,
  TransactionReceiptNotFoundError,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { ChainClients, Deployment } from "./deploy.ts";
import { type Fees, feesAt, replacementFees } from "./fees.ts";
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
 * Sends a transaction with headroom over its gas estimate and waits for it to be mined (sending it again
 * if it stays pending or is dropped; see `confirm`); a revert before sending surfaces as viem's error
 * (see revert.ts), one when mined as TransactionReverted.
 */
export async function send(
  c: ChainClients,
  address: Hex,
  abi: readonly unknown[],
  functionName: string,
  args: readonly unknown[],
  value?: bigint,
): Promise<Hex> {
  return confirm(c, await submit(c, address, abi, functionName, args, value));
}

/** A contract call. */
interface Call {
  readonly address: Hex;
  readonly abi: readonly unknown[];
  readonly functionName: string;
  readonly args: readonly unknown[];
  readonly value?: bigint | undefined;
}

/** A call sent and not yet seen mined: what `confirm` needs to send it again. */
export interface Submitted {
  /** The latest send of the call (one sent again replaces it under the same nonce). */
  readonly hash: Hex;
  readonly call: Call;
  readonly gas: bigint;
  readonly nonce: number;
  readonly fees: Fees;
}

/**
 * Sends a transaction with headroom over its gas estimate without waiting for it to be mined (several
 * go out back to back, in nonce order, to land in one block); `confirm` waits for each. Nonce, gas and
 * fees are given (fees.ts: twice the base fee plus the tip, within the clients' ceiling), so that
 * `confirm` can send the same transaction again with more.
 */
export async function submit(
  c: ChainClients,
  address: Hex,
  abi: readonly unknown[],
  functionName: string,
  args: readonly unknown[],
  value?: bigint,
): Promise<Submitted> {
  const call: Call = { address, abi, functionName, args, value };
  const account = c.wallet.account.address;
  const estimate = await c.public.estimateContractGas({ ...call, account } as never);
  // One send of an account at a time from here: each reads the pending count after the last one is in
  // the node's pool, so two sends at once (a worker's dispute defence and its spot-check prover share
  // the operator's account) take consecutive nonces instead of one refusing the other.
  return inTurn(c.wallet, async () => {
    const head = await c.public.getBlock();
    const unsent = {
      call,
      gas: withHeadroom(estimate, head.gasLimit),
      nonce: await c.public.getTransactionCount({ address: account, blockTag: "pending" }),
      fees: await feesAt(c.public, head, c.maxFeePerGas),
    };
    return { ...unsent, hash: await sendAt(c, unsent) };
  });
}

/** The last send each wallet started (sends of one wallet run one after another). */
const lastSend = new WeakMap<object, Promise<unknown>>();

/** Runs `f` after every send `wallet` started before it has settled. */
function inTurn<T>(wallet: object, f: () => Promise<T>): Promise<T> {
  const turn = (lastSend.get(wallet) ?? Promise.resolve()).then(f, f);
  lastSend.set(
    wallet,
    turn.catch(() => {}),
  );
  return turn;
}

/** Signs and sends `s`'s call with everything given: one RPC call. */
function sendAt(c: ChainClients, s: Omit<Submitted, "hash">): Promise<Hex> {
  return c.wallet.writeContract({
    ...s.call,
    account: c.wallet.account,
    gas: s.gas,
    nonce: s.nonce,
    chainId: c.chain.id,
    ...s.fees,
  } as never);
}

/** New blocks without a send mined after which it is looked up: still pending, dropped, or overtaken. */
const STALE_AFTER_BLOCKS = 5;

/**
 * Waits for a submitted call to be mined and returns the transaction that was (TransactionReverted if it
 * reverted). A send no block has taken for five blocks is looked up: still pending, it is replaced under
 * its nonce with fees an eighth higher at least (a fee spike would otherwise hold it, and a dispute move
 * or a proof behind it, past its deadline); dropped by the node with its nonce unused, it is sent again
 * under that nonce; its nonce taken by another transaction of the account, the call is submitted anew.
 * While the RPC does not answer it waits on, up to a minute.
 */
export async function confirm(c: ChainClients, submitted: Submitted): Promise<Hex> {
  let s = submitted;
  /** Every send of the call that may still be mined (all under one nonce). */
  const sends = [s.hash];
  let block: bigint | null = null;
  let unseen = 0;
  let lostSince: number | null = null;
  for (;;) {
    try {
      block ??= await c.public.getBlockNumber({ cacheTime: 0 });
      for (const hash of sends) {
        const mined = await receiptOf(c, hash);
        if (!mined) continue;
        if (mined.status !== "success") throw new TransactionReverted(s.call.functionName, hash);
        return hash;
      }
      const next = await nextBlock(c, block);
      unseen += Number(next - block);
      block = next;
      lostSince = null;
      if (unseen < STALE_AFTER_BLOCKS) continue;
      unseen = 0;
      s = await sendAgain(c, s, sends);
    } catch (error) {
      // The RPC lost for a while: the send may be mined meanwhile, so waiting on is right, where failing
      // would make the caller send the call again (a second transaction, reverted at best).
      if (!lostRpc(error)) throw error;
      lostSince ??= performance.now();
      if (performance.now() - lostSince > RPC_LOST_FOR_MS) throw error;
      await new Promise((wake) => setTimeout(wake, 1000));
    }
  }
}

/** How long `confirm` waits through a lost RPC before it gives up (its caller retries later). */
const RPC_LOST_FOR_MS = 60_000;

/** Whether `error` is the RPC not answering (refused, cut, timed out), not the chain refusing. */
function lostRpc(error: unknown): boolean {
  return (
    error instanceof BaseError &&
    error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError) !== null
  );
}

/** The receipt of `hash`, or null while it is not mined. */
export function receiptOf(c: ChainClients, hash: Hex): Promise<TransactionReceipt | null> {
  return c.public.getTransactionReceipt({ hash }).catch((e: unknown) => {
    if (e instanceof TransactionReceiptNotFoundError) return null;
    throw e;
  });
}

/** Whether the node knows transaction `hash` (asked of one without a receipt: still pending, not dropped). */
export function knownToNode(c: ChainClients, hash: Hex): Promise<boolean> {
  return c.public.getTransaction({ hash }).then(
    () => true,
    (e: unknown) => {
      if (e instanceof TransactionNotFoundError) return false;
      throw e;
    },
  );
}

/**
 * Waits (polling at the client's interval) for a block after `block`, a second at most; returns the
 * head's number then. The receipts are looked at again even without a new block: on a chain that mines
 * only when a transaction comes (anvil's automine), a receipt missed at the first look would otherwise
 * wait for someone else's transaction, and two nodes each waiting on the other's next move never get
 * one (an honest worker lost a dispute by its clock that way).
 */
async function nextBlock(c: ChainClients, block: bigint): Promise<bigint> {
  const until = performance.now() + RECHECK_MS;
  for (;;) {
    await new Promise((wake) => setTimeout(wake, c.public.pollingInterval));
    const now = await c.public.getBlockNumber({ cacheTime: 0 });
    if (now > block || performance.now() >= until) return now;
  }
}

/** The longest a pending send's receipts go unchecked when no block comes. */
const RECHECK_MS = 1000;

/** A send blocks have not taken: replaced, sent again, or submitted anew (see `confirm`). */
async function sendAgain(c: ChainClients, s: Submitted, sends: Hex[]): Promise<Submitted> {
  const fn = s.call.functionName;
  const pending = await knownToNode(c, s.hash);
  const now = await feesAt(c.public, await c.public.getBlock(), c.maxFeePerGas);
  const { fees, outbids } = replacementFees(s.fees, now, c.maxFeePerGas);
  if (pending && !outbids) {
    c.logger?.warn(
      { call: fn, tx: s.hash, maxFeePerGas: c.maxFeePerGas },
      "transaction pending at the fee ceiling; waiting",
    );
    return s;
  }
  const dropped =
    !pending && (await c.public.getTransactionCount({ address: c.wallet.account.address })) <= s.nonce;
  if (pending || dropped) {
    let hash: Hex;
    try {
      hash = await sendAt(c, { ...s, fees });
    } catch (error) {
      // Mined meanwhile (its nonce is used) or refused: the next look-up settles it.
      c.logger?.warn({ call: fn, tx: s.hash, err: (error as Error).message }, "transaction not sent again");
      return s;
    }
    sends.push(hash);
    c.logger?.warn(
      { call: fn, replaced: s.hash, tx: hash, nonce: s.nonce, fees },
      pending ? "transaction re-sent with higher fees" : "transaction dropped; sent again under its nonce",
    );
    return { ...s, hash, fees };
  }
  // The nonce is used. By one of these sends, mined since they were looked up (a node behind the one that
  // counted may not have its receipt yet: a block, or a second, more), and the next look-up has it...
  await nextBlock(c, await c.public.getBlockNumber({ cacheTime: 0 }));
  for (const hash of sends) if (await receiptOf(c, hash)) return s;
  // ...or by another transaction of this account (sent after this one was dropped): none of these can
  // be mined, and the call has not been made.
  const again = await submit(c, s.call.address, s.call.abi, fn, s.call.args, s.call.value);
  c.logger?.warn(
    { call: fn, replaced: s.hash, tx: again.hash, nonce: again.nonce },
    "transaction's nonce taken by another; call submitted again",
  );
  sends.splice(0, sends.length, again.hash);
  return again;
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

/**
 * Stakes `amount` of the tokens the clients' account holds for that account in the registry, registering
 * it first as evaluator (2) or fisherman (3) when `role` is given.
 */
export async function stakeParticipant(
  c: ChainClients,
  d: Deployment,
  amount: bigint,
  role?: 2 | 3,
): Promise<void> {
  if (role !== undefined) await send(c, d.registry, registryAbi, "register", [role]);
  await send(c, d.token, verinferTokenAbi, "approve", [d.registry, amount]);
  await send(c, d.registry, registryAbi, "deposit", [c.wallet.account.address, amount]);
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
