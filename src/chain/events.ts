/**
 * Following a contract from a node or the dashboard: its events block range by block range, and the
 * call that emitted one (nodes read receipts and batches from the calldata of the transactions that
 * carried them). No Node dependency: the dashboard follows the chain with it in the browser.
 */
import { type Abi, BlockNotFoundError, decodeFunctionData, type Hex, type PublicClient } from "viem";
import { contractEvents } from "./logs.ts";

/** A decoded event with the transaction that emitted it. */
export interface ContractLog<A> {
  readonly eventName: string;
  readonly blockNumber: bigint;
  readonly transactionHash: Hex;
  readonly args: A;
}

/** A block as the cursor checks the chain against it. */
export interface CursorBlock {
  readonly number: bigint;
  readonly hash: Hex;
  readonly parentHash: Hex;
}

/** The chain calls a cursor makes. */
export type CursorChain = {
  readonly public: Pick<PublicClient, "getContractEvents" | "getBlockNumber" | "getBlock">;
};

/**
 * The ends of the latest ranges read that a cursor remembers: a reorganisation deeper than that many
 * reads (blocks, for a follower reading once a block) sends it back to its floor.
 */
const ENDS_KEPT = 64;

/**
 * Reads a contract's new events since the last call. The cursor moves past a range only once every
 * log in it was handled: a handler that throws leaves the range to be read again on the next call.
 *
 * It notices a reorganisation: it remembers the hash of the last block of each range it read, and
 * before reading on checks that the chain still holds the last one (free when the new head is its
 * child: the head's parent hash). Where the chain does not, the events read since the newest block it
 * still holds may be gone or different: the cursor reads again from there (from its floor, the
 * deployment's block, when it holds none of them), after telling `onRewind` so that its follower can
 * forget what it learnt from those blocks. A chain behind the last block read is checked at its head's
 * height: a different block there than the one read is a reorganisation (noticed one block after it, not
 * once the chain has grown past the blocks it lost); the same one, an RPC node that lags.
 */
export class EventCursor {
  private readonly ends: { readonly block: bigint; readonly hash: Hex }[] = [];
  private readonly floor: bigint;

  /** `from`: the first block to read (the deployment's, `deployedFrom`, or after a resume point). */
  constructor(
    private from = 0n,
    private readonly o: {
      /** Where to read again from when the chain holds no block this cursor remembers (default `from`). */
      readonly floor?: bigint;
      /** A block known to be the one before `from` (a resume point's): checked like a range's end. */
      readonly after?: { readonly block: bigint; readonly hash: Hex };
      /**
       * Called with the first block to be read again, before any is: the follower forgets what it learnt
       * from that block on (called again, with the same or an earlier block, if it throws).
       */
      readonly onRewind?: (from: bigint) => Promise<void> | void;
    } = {},
  ) {
    this.floor = o.floor ?? from;
    if (o.after) this.ends.push(o.after);
  }

  /** The first block not read yet. */
  get next(): bigint {
    return this.from;
  }

  async each<A>(
    c: CursorChain,
    query: {
      readonly address: Hex;
      readonly abi: Abi | readonly unknown[];
      readonly eventName?: string;
      /**
       * Read up to this block: its number, or the block itself when the caller has read it already (one
       * call fewer); default the chain's head now.
       */
      readonly toBlock?: bigint | CursorBlock;
    },
    handle: (log: ContractLog<A>) => Promise<void> | void,
  ): Promise<void> {
    const { toBlock, ...filter } = query;
    const to = typeof toBlock === "object" ? toBlock : await blockAt(c, toBlock);
    if (to === null) return;
    await this.rewindIfReorganised(c, to);
    if (to.number < this.from) return;
    const logs = await contractEvents<ContractLog<A>>(c, filter, {
      fromBlock: this.from,
      toBlock: to.number,
    });
    for (const log of logs) await handle(log);
    this.ends.push({ block: to.number, hash: to.hash });
    if (this.ends.length > ENDS_KEPT) this.ends.shift();
    this.from = to.number + 1n;
  }

  /** Moves the cursor back to after the newest remembered block the chain still holds, if not the last. */
  private async rewindIfReorganised(c: CursorChain, head: CursorBlock): Promise<void> {
    const last = this.ends.at(-1);
    if (!last) return;
    // How many of the remembered ends the chain is not yet known to have lost.
    let kept: number;
    if (head.number > last.block) {
      const held = head.number === last.block + 1n ? head.parentHash : await hashAt(c, last.block);
      if (sameHash(held, last.hash)) return;
      kept = this.ends.length - 1;
    } else {
      // The chain is behind the last block read: it lost blocks, or the RPC node lags. A remembered
      // block at the head's height tells which, at no cost (followers read nearly every block); without
      // one, the chain is checked once it passes the last block read.
      const at = this.ends.findIndex((e) => e.block === head.number);
      if (at < 0 || sameHash(head.hash, (this.ends[at] as { hash: Hex }).hash)) return;
      kept = at;
    }
    await this.rewindBefore(c, kept);
  }

  /**
   * Checks the last block read against the chain (one block read), and reads again from the newest block
   * it still holds if not: for a follower that has other signs of a reorganisation (a count on chain
   * lower than what it saw). Says whether the cursor moved back.
   */
  async recheck(c: CursorChain): Promise<boolean> {
    const before = this.from;
    await this.rewindBefore(c, this.ends.length);
    return this.from !== before;
  }

  /**
   * Moves the cursor back to after the newest of the first `kept` remembered ends the chain still holds
   * (to its floor if none), once its follower has been told; nothing if that is the last one.
   */
  private async rewindBefore(c: CursorChain, kept: number): Promise<void> {
    if (kept === this.ends.length) {
      const last = this.ends.at(-1);
      if (!last || sameHash(await hashAt(c, last.block), last.hash)) return;
      kept--;
    }
    while (kept > 0) {
      const end = this.ends[kept - 1] as { block: bigint; hash: Hex };
      if (sameHash(await hashAt(c, end.block), end.hash)) break;
      kept--;
    }
    const from = kept > 0 ? (this.ends[kept - 1] as { block: bigint }).block + 1n : this.floor;
    await this.o.onRewind?.(from);
    this.ends.length = kept;
    this.from = from;
  }
}

/** The block at `n` (the head if undefined); null if the chain does not hold it. */
async function blockAt(
  c: { readonly public: Pick<PublicClient, "getBlock"> },
  n: bigint | undefined,
): Promise<CursorBlock | null> {
  try {
    const b = await c.public.getBlock(n === undefined ? { blockTag: "latest" } : { blockNumber: n });
    return { number: b.number as bigint, hash: b.hash as Hex, parentHash: b.parentHash };
  } catch (error) {
    if (error instanceof BlockNotFoundError) return null;
    throw error;
  }
}

/** The hash of the block at `n`; null if the chain does not hold it. */
export const hashAt = async (c: { readonly public: Pick<PublicClient, "getBlock"> }, n: bigint) =>
  (await blockAt(c, n))?.hash ?? null;

const sameHash = (x: Hex | null, y: Hex) => x?.toLowerCase() === y.toLowerCase();

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
