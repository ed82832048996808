/**
 * What the nodes offer to pay for a transaction, and what a replacement under the same nonce must
 * offer: one rule for the batch poster and for every other send (`clients.ts`), so that a send a fee
 * spike left pending is outbid the same way whichever role made it.
 */
import type { Block, PublicClient } from "viem";

/** What a transaction offers to pay per gas: EIP-1559 fees, or a legacy chain's gas price. */
export type Fees =
  | { readonly maxFeePerGas: bigint; readonly maxPriorityFeePerGas: bigint }
  | { readonly gasPrice: bigint };

const maxOf = (a: bigint, b: bigint) => (a > b ? a : b);
const minOf = (a: bigint, b: bigint) => (a < b ? a : b);
/** The most a transaction pays per gas, and what it offers the block producer. */
const priceOf = (f: Fees) => ("gasPrice" in f ? f.gasPrice : f.maxFeePerGas);
const tipOf = (f: Fees) => ("gasPrice" in f ? f.gasPrice : f.maxPriorityFeePerGas);

/** A replacement must offer at least this much more than the send it replaces (geth asks 10%). */
const bump = (x: bigint) => x + x / 8n + 1n;

/**
 * Fees for a send at `head`: twice its base fee plus the tip (room for six full blocks in a row, each
 * raising the base fee by an eighth), or a legacy chain's gas price; never above `cap`, if one is set.
 * The tip is `tip` if given (a caller that keeps it), else the node's estimate.
 */
export async function feesAt(
  chain: PublicClient,
  head: Block,
  cap: bigint | undefined,
  tip?: bigint,
): Promise<Fees> {
  if (head.baseFeePerGas === null) return capped({ gasPrice: await chain.getGasPrice() }, cap);
  const t = tip ?? (await chain.estimateMaxPriorityFeePerGas());
  return capped({ maxFeePerGas: 2n * head.baseFeePerGas + t, maxPriorityFeePerGas: t }, cap);
}

/** `f` held to `cap`, if there is one. */
function capped(f: Fees, cap: bigint | undefined): Fees {
  if (cap === undefined) return f;
  return "gasPrice" in f
    ? { gasPrice: minOf(f.gasPrice, cap) }
    : { maxFeePerGas: minOf(f.maxFeePerGas, cap), maxPriorityFeePerGas: minOf(f.maxPriorityFeePerGas, cap) };
}

/**
 * The fees to send again what went out at `sent`: an eighth more at least, and what the chain asks
 * `now`, held to `cap`. `outbids` says whether that is enough to replace a send the node still holds
 * (at the ceiling it may not be: then only a send the node dropped can go out again).
 */
export function replacementFees(
  sent: Fees,
  now: Fees,
  cap: bigint | undefined,
): { readonly fees: Fees; readonly outbids: boolean } {
  const fees = capped(
    "gasPrice" in now
      ? { gasPrice: maxOf(bump(priceOf(sent)), now.gasPrice) }
      : {
          maxPriorityFeePerGas: maxOf(bump(tipOf(sent)), now.maxPriorityFeePerGas),
          maxFeePerGas: maxOf(bump(priceOf(sent)), now.maxFeePerGas),
        },
    cap,
  );
  return { fees, outbids: priceOf(fees) >= bump(priceOf(sent)) && tipOf(fees) >= bump(tipOf(sent)) };
}
