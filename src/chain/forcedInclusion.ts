/**
 * A client's own receipt on chain (Rollup.forceInclude, docs/spec/otr.md §3.3): when the sequencer
 * will not include it, or the client will not depend on it. The contract runs the admission checks;
 * the receipt becomes a batch of one in the forced receipts' index space, with its own window.
 */
import { type Hex, parseEventLogs } from "viem";
import { VerinferError } from "../errors.ts";
import type { SignedReceipt } from "../protocol/receipt/receipt.ts";
import { send } from "./clients.ts";
import type { ChainClients } from "./deploy.ts";
import { registryAbi, rollupAbi } from "./generated/contracts.ts";
import { batchInfo } from "./postedBatches.ts";
import { revertName, revertReason, verdictCodeOf } from "./revert.ts";

/** A receipt forced in: its batch (position 0), digest, transaction and when it becomes final. */
export interface ForcedReceipt {
  readonly kind: "verinfer.forced-receipt";
  readonly requestId: Hex;
  readonly digest: Hex;
  readonly batch: number;
  readonly position: 0;
  readonly tx: Hex;
  readonly postedAt: number;
  readonly finalAt: number;
}

/**
 * Forces `signed` into `rollup` from `c`'s account. A receipt the rollup refuses (another domain, an
 * unregistered worker, forced already, …) throws its named error as a verdict code, before anything is
 * sent.
 */
export async function forceReceipt(
  c: ChainClients,
  rollup: Hex,
  signed: SignedReceipt,
): Promise<ForcedReceipt> {
  const r = signed.receipt;
  if (
    r.chainId !== BigInt(await c.public.getChainId()) ||
    r.settlement.toLowerCase() !== rollup.toLowerCase()
  )
    throw new VerinferError(
      "RECEIPT_DOMAIN_MISMATCH",
      `the receipt is for chain ${r.chainId} and rollup ${r.settlement}, not this chain's rollup ${rollup}`,
    );
  const { chainId: _c, settlement: _s, ...struct } = r;
  const args = [struct, signed.signature] as const;
  try {
    // Simulated first: a refusal comes back as the contract's named error, and costs nothing.
    await c.public.simulateContract({
      address: rollup,
      // The registry runs the admission checks: its named errors come back through the rollup.
      abi: [...rollupAbi, ...registryAbi.filter((x) => x.type === "error")],
      functionName: "forceInclude",
      args,
      account: c.wallet.account,
    } as never);
  } catch (e) {
    const name = revertName(e);
    throw new VerinferError(
      (name ? verdictCodeOf(name) : null) ?? "UPSTREAM_REPLY_INVALID",
      `the rollup refuses the receipt: ${revertReason(e) ?? (e as Error).message.split("\n")[0]}`,
    );
  }
  const tx = await send(c, rollup, rollupAbi, "forceInclude", args);
  const [forced] = parseEventLogs({
    abi: rollupAbi,
    eventName: "ReceiptForced",
    logs: (await c.public.getTransactionReceipt({ hash: tx })).logs,
  });
  if (!forced)
    throw new VerinferError("UPSTREAM_REPLY_INVALID", `transaction ${tx} emitted no ReceiptForced`);
  const batch = Number(forced.args.index);
  const info = await batchInfo(c, rollup, batch);
  const window = Number(
    await c.public.readContract({ address: rollup, abi: rollupAbi, functionName: "challengeWindow" }),
  );
  return {
    kind: "verinfer.forced-receipt",
    requestId: r.requestId,
    digest: forced.args.digest,
    batch,
    position: 0,
    tx,
    postedAt: info.postedAt,
    finalAt: info.postedAt + window,
  };
}
