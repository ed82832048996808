/** Contract reverts as the protocol's verdict codes: `ReceiptSignatureInvalid` is RECEIPT_SIGNATURE_INVALID. */
import { BaseError, ContractFunctionRevertedError } from "viem";
import { ERROR_CODES, type ErrorCode } from "../protocol/errors.ts";
import { TransactionReverted } from "./clients.ts";

/** The custom error's name of a failed contract call, or null when it did not revert with one. */
export function revertName(error: unknown): string | null {
  if (!(error instanceof BaseError)) return null;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  return reverted instanceof ContractFunctionRevertedError ? (reverted.data?.errorName ?? null) : null;
}

/**
 * Whether a transaction was refused by the contract (reverted when estimated or when mined) rather
 * than failed to reach the chain: retrying a refusal changes nothing until the chain's state does.
 */
export function refusedOnChain(error: unknown): boolean {
  if (error instanceof TransactionReverted) return true;
  return error instanceof BaseError && error.walk((e) => e instanceof ContractFunctionRevertedError) !== null;
}

/** "ErrorName: arg, arg" for a custom-error revert (the arguments say why), or null. */
export function revertReason(error: unknown): string | null {
  if (!(error instanceof BaseError)) return null;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (!(reverted instanceof ContractFunctionRevertedError) || !reverted.data) return null;
  return `${reverted.data.errorName}: ${(reverted.data.args ?? []).map(String).join(", ")}`;
}

/** The verdict code a custom error stands for (its name in UPPER_SNAKE_CASE), if the protocol has it. */
export function verdictCodeOf(errorName: string): ErrorCode | null {
  const code = errorName.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
  return code in ERROR_CODES ? (code as ErrorCode) : null;
}
