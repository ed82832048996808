/**
 * What a transaction offers per gas, and the rule for replacing a pending one: shared by the gateway's
 * batch poster and `confirm` (clients.ts), which re-send stuck transactions under their nonce.
 */

/** EIP-1559 fees, or a legacy chain's gas price. */
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

/** `f` held to `ceiling` (wei per gas), if there is one. */
export function capped(f: Fees, ceiling: bigint | undefined): Fees {
  if (ceiling === undefined) return f;
  return "gasPrice" in f
    ? { gasPrice: minOf(f.gasPrice, ceiling) }
    : {
        maxFeePerGas: minOf(f.maxFeePerGas, ceiling),
        maxPriorityFeePerGas: minOf(f.maxPriorityFeePerGas, ceiling),
      };
}

/**
 * The fees that replace a pending send that offered `sent`: an eighth more, or what the chain asks
 * `now` if that is more, within `ceiling`. `outbids` is false when the ceiling leaves no room to pay an
 * eighth more in both price and tip (a node would refuse the replacement).
 */
export function replacementFees(
  sent: Fees,
  now: Fees,
  ceiling: bigint | undefined,
): { readonly fees: Fees; readonly outbids: boolean } {
  const fees = capped(
    "gasPrice" in now
      ? { gasPrice: maxOf(bump(priceOf(sent)), now.gasPrice) }
      : {
          maxPriorityFeePerGas: maxOf(bump(tipOf(sent)), now.maxPriorityFeePerGas),
          maxFeePerGas: maxOf(bump(priceOf(sent)), now.maxFeePerGas),
        },
    ceiling,
  );
  return { fees, outbids: priceOf(fees) >= bump(priceOf(sent)) && tipOf(fees) >= bump(tipOf(sent)) };
}
