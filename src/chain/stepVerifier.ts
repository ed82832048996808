/**
 * The on-chain one-step check (contracts/src/verifiable/TraceStepVerifier.sol) and the table contracts
 * it reads: the exp2 fractions and the sigmoid of the verifiable engine (fixedMath.ts), stored as
 * contract code (a STOP byte, then 3-byte big-endian entries) because code is the cheapest read-only
 * storage on chain — the verifier copies a whole table into memory for about 6,000 gas. The verifier
 * pins the tables' code hashes, so a deployment with other tables reverts.
 */
import { concatBytes, type Hex, keccak256, toHex } from "viem";
import { exp2FractionTable, sigmoidTable } from "../protocol/verifiable/fixedMath.ts";
import type { ChainClients } from "./deploy.ts";
import { deployContract } from "./deploy.ts";
import { traceStepVerifierAbi, traceStepVerifierBytecode } from "./generated/contracts.ts";

/** Entries as 3-byte big-endian values behind a STOP byte: the runtime code of a table contract. */
function tableCode(entries: Int32Array): Uint8Array {
  const out = new Uint8Array(1 + 3 * entries.length);
  entries.forEach((v, i) => {
    out[1 + 3 * i] = (v >> 16) & 0xff;
    out[2 + 3 * i] = (v >> 8) & 0xff;
    out[3 + 3 * i] = v & 0xff;
  });
  return out;
}

/** Runtime code of the three table contracts. */
export function stepTables(): { exp2: Uint8Array; sigmoidLow: Uint8Array; sigmoidHigh: Uint8Array } {
  const sigmoid = sigmoidTable();
  return {
    exp2: tableCode(exp2FractionTable()),
    sigmoidLow: tableCode(sigmoid.subarray(0, 4096)),
    sigmoidHigh: tableCode(sigmoid.subarray(4096)),
  };
}

/** The code hashes TraceStepVerifier pins (a test keeps the Solidity constants equal to these). */
export function stepTableCodeHashes(): { exp2: Hex; sigmoidLow: Hex; sigmoidHigh: Hex } {
  const t = stepTables();
  return {
    exp2: keccak256(t.exp2),
    sigmoidLow: keccak256(t.sigmoidLow),
    sigmoidHigh: keccak256(t.sigmoidHigh),
  };
}

/** Creation code that returns `runtime` as the contract's code: PUSH2 len, DUP1, PUSH1 12, PUSH1 0, CODECOPY, PUSH1 0, RETURN. */
export function dataContractInitcode(runtime: Uint8Array): Hex {
  if (runtime.length > 24_576)
    throw new RangeError(`a contract holds at most 24,576 bytes, not ${runtime.length}`);
  const prefix = new Uint8Array([
    0x61,
    runtime.length >> 8,
    runtime.length & 0xff,
    0x80,
    0x60,
    0x0c,
    0x60,
    0x00,
    0x39,
    0x60,
    0x00,
    0xf3,
  ]);
  return toHex(concatBytes([prefix, runtime]));
}

export async function deployData(c: ChainClients, runtime: Uint8Array): Promise<Hex> {
  const hash = await c.wallet.sendTransaction({ data: dataContractInitcode(runtime), to: null } as never);
  const receipt = await c.public.waitForTransactionReceipt({ hash });
  if (!receipt.contractAddress) throw new Error(`table deployment ${hash} created no contract`);
  return receipt.contractAddress;
}

/** Deploys the three tables and the verifier; returns the verifier's address. */
export async function deployStepVerifier(c: ChainClients): Promise<Hex> {
  const t = stepTables();
  const exp2 = await deployData(c, t.exp2);
  const low = await deployData(c, t.sigmoidLow);
  const high = await deployData(c, t.sigmoidHigh);
  return deployContract(c, traceStepVerifierAbi, traceStepVerifierBytecode, [exp2, low, high]);
}
