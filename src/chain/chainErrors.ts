/**
 * A chain call's failure as a coded error (DESIGN.md "Errors"): what the CLI prints and what a role's
 * failed pass logs, instead of viem's many-line message. An operator then reads which account lacks
 * ETH, which function the contracts refused and why, or which RPC endpoint cannot be reached.
 */
import {
  BaseError,
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  HttpRequestError,
  InsufficientFundsError,
  TimeoutError,
} from "viem";
import { VerinferError } from "../errors.ts";
import { TransactionReverted } from "./clients.ts";
import { revertReason, verdictCodeOf } from "./revert.ts";

/** The coded error for a failed chain call, or null when `error` is not one viem or a send raised. */
export function chainErrorOf(error: unknown): VerinferError | null {
  if (error instanceof TransactionReverted)
    return new VerinferError("CHAIN_TX_REFUSED", `${error.message} (mined, then reverted)`, {
      function: error.functionName,
      hash: error.hash,
    });
  if (!(error instanceof BaseError)) return null;
  const call = error.walk(
    (e) => e instanceof ContractFunctionExecutionError,
  ) as ContractFunctionExecutionError | null;
  const what = call ? `${call.functionName}` : "a transaction";
  if (error.walk((e) => e instanceof InsufficientFundsError)) {
    const account = call?.sender ?? /\bfrom:\s+(0x[0-9a-fA-F]{40})/.exec(error.message)?.[1];
    return new VerinferError(
      "CHAIN_FUNDS_INSUFFICIENT",
      `${account ?? "the sending account"} cannot pay for ${what}: it holds too little of the chain's ` +
        "currency for the gas (and the value sent); fund it",
      { function: what, ...(account ? { account } : {}) },
    );
  }
  const reverted = error.walk(
    (e) => e instanceof ContractFunctionRevertedError,
  ) as ContractFunctionRevertedError | null;
  if (reverted) {
    const name = reverted.data?.errorName;
    const why = revertReason(error) ?? reverted.reason ?? "no reason given";
    return new VerinferError(
      (name && verdictCodeOf(name)) || "CHAIN_TX_REFUSED",
      `the contract refused ${what}: ${why}`,
      { function: what, ...(name ? { revert: name } : {}) },
    );
  }
  const unreachable = error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError) as
    | HttpRequestError
    | TimeoutError
    | null;
  if (unreachable) {
    const url = "url" in unreachable ? unreachable.url : undefined;
    return new VerinferError(
      "UPSTREAM_CONNECTION_FAILED",
      `cannot reach the chain's RPC endpoint${url ? ` ${url}` : ""}: ${unreachable.shortMessage}`,
      url ? { url } : {},
    );
  }
  return null;
}

/**
 * One line for a log: the coded error's `[CODE] message`; for any other error viem raised, its short
 * message with the RPC method called and the provider's own words (viem's first line alone, "Invalid
 * parameters were provided to the RPC method.", names neither); else the first line of the message.
 */
export function chainErrorLine(error: unknown): string {
  const coded = chainErrorOf(error);
  if (coded) return `[${coded.code}] ${coded.message}`;
  if (error instanceof BaseError) {
    const method = /"method":"(\w+)"/.exec(error.message)?.[1];
    const said = error.details && error.details !== error.shortMessage ? error.details : undefined;
    const why = [method, said].filter(Boolean).join(": ");
    return `${error.shortMessage.split("\n")[0]}${why ? ` (${why.split("\n")[0]})` : ""}`;
  }
  return String((error as Error)?.message ?? error).split("\n")[0] as string;
}
