/**
 * Event reads that a real RPC provider answers: from the block the contracts were deployed in (never
 * block 0), in windows of at most `LOG_WINDOW_BLOCKS` blocks, and a window the provider refuses as too
 * large (too many blocks or too many logs: each provider words it its own way) is halved and read again,
 * and the narrower window kept for the client's later reads.
 * anvil answers any range; hosted RPCs cap `eth_getLogs` at 1,000–10,000 blocks or 10,000 logs.
 * No Node dependency: the dashboard reads the chain with it in the browser.
 */
import type { Abi, Hex, PublicClient } from "viem";

/** The widest range read at once (most hosted RPCs accept 5,000 blocks; some fewer, hence halving). */
export const LOG_WINDOW_BLOCKS = 5_000n;

/** A provider's refusal of a range or a result too large, as providers word it. */
const TOO_LARGE =
  /block range|range (is )?too (large|wide|big)|max(imum)? range|more than \d+ (results|logs)|too many (results|logs|blocks)|response size|is limited to|number of requested blocks/i;

/**
 * The widest window each client's provider has accepted after refusing a wider one: later reads start
 * there instead of paying the refusals (and viem's retries of them) again.
 */
const learnedWindow = new WeakMap<object, bigint>();

/** The first block worth reading a deployment's events from (0 for files written before it was kept). */
export const deployedFrom = (d: { readonly deployedAtBlock?: number | undefined }): bigint =>
  BigInt(d.deployedAtBlock ?? 0);

export interface EventQuery {
  readonly address: Hex;
  readonly abi: Abi | readonly unknown[];
  readonly eventName?: string;
  readonly args?: Record<string, unknown>;
}

/** Decoded events of `query` in [fromBlock, toBlock] (toBlock: the head now), in chain order. */
export async function contractEvents<L>(
  c: { readonly public: Pick<PublicClient, "getContractEvents" | "getBlockNumber"> },
  query: EventQuery,
  range: { readonly fromBlock: bigint; readonly toBlock?: bigint; readonly windowBlocks?: bigint },
): Promise<L[]> {
  // Uncached: viem keeps a block number for its polling interval, and "the head now" must include
  // what the caller just saw mined.
  const to = range.toBlock ?? (await c.public.getBlockNumber({ cacheTime: 0 }));
  const out: L[] = [];
  let window = range.windowBlocks ?? learnedWindow.get(c.public) ?? LOG_WINDOW_BLOCKS;
  for (let from = range.fromBlock; from <= to; ) {
    const end = from + window - 1n < to ? from + window - 1n : to;
    try {
      const logs = (await c.public.getContractEvents({
        ...query,
        fromBlock: from,
        toBlock: end,
      } as never)) as unknown as L[];
      for (const log of logs) out.push(log);
      from = end + 1n;
    } catch (e) {
      if (window === 1n || !TOO_LARGE.test(errorText(e))) throw e;
      window = (window + 1n) / 2n;
      learnedWindow.set(c.public, window);
    }
  }
  return out;
}

/** An error's message with its causes' (viem wraps the provider's words in a cause). */
function errorText(e: unknown): string {
  const parts: string[] = [];
  for (let x = e as { message?: unknown; details?: unknown; cause?: unknown } | undefined; x; ) {
    parts.push(String(x.message ?? ""), String(x.details ?? ""));
    x = x.cause as typeof x;
  }
  return parts.join(" ");
}
