/**
 * Following a contract from a node or the dashboard: its events block range by block range, and the
 * call that emitted one (nodes read receipts and batches from the calldata of the transactions that
 * carried them). No Node dependency: the dashboard follows the chain with it in the browser.
 */
import { type Abi, decodeFunctionData, type Hex, type PublicClient } from "viem";
import { contractEvents } from "./logs.ts";

/** A decoded event with the transaction that emitted it. */
export interface ContractLog<A> {
  readonly eventName: string;
  readonly blockNumber: bigint;
  readonly transactionHash: Hex;
  readonly args: A;
}

/**
 * Reads a contract's new events since the last call. The cursor moves past a range only once every
 * log in it was handled: a handler that throws leaves the range to be read again on the next call.
 */
export class EventCursor {
  /** `from`: the first block to read (the deployment's: `deployedFrom`). */
  constructor(private from = 0n) {}

  /** The first block not read yet. */
  get next(): bigint {
    return this.from;
  }

  async each<A>(
    c: { readonly public: Pick<PublicClient, "getContractEvents" | "getBlockNumber"> },
    query: {
      readonly address: Hex;
      readonly abi: Abi | readonly unknown[];
      readonly eventName?: string;
      /** Read up to this block (the caller knows the head already); default: the chain's head now (uncached). */
      readonly toBlock?: bigint;
    },
    handle: (log: ContractLog<A>) => Promise<void> | void,
  ): Promise<void> {
    const { toBlock, ...filter } = query;
    const to = toBlock ?? (await c.public.getBlockNumber({ cacheTime: 0 }));
    if (to < this.from) return;
    const logs = await contractEvents<ContractLog<A>>(c, filter, { fromBlock: this.from, toBlock: to });
    for (const log of logs) await handle(log);
    this.from = to + 1n;
  }
}

/** The function call a transaction made (name and arguments), decoded with `abi`. */
export async function callOf(
  c: { readonly public: Pick<PublicClient, "getTransaction"> },
  abi: Abi | readonly unknown[],
  hash: Hex,
): Promise<{ functionName: string; args: readonly unknown[] }> {
  const tx = await c.public.getTransaction({ hash });
  const call = decodeFunctionData({ abi: abi as Abi, data: tx.input });
  return { functionName: call.functionName, args: (call.args ?? []) as readonly unknown[] };
}
