/**
 * The node account's native signing gives byte for byte the transactions viem's pure-JS account signs
 * (and so the same sender), for each transaction type a node sends.
 */
import { type Hex, parseTransaction, recoverTransactionAddress, type TransactionSerializable } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { createRng, type Rng } from "../protocol/rng/prng.ts";
import { nodeAccount } from "./nodeAccount.ts";

const KEYS: Hex[] = [
  `0x${"42".repeat(32)}`,
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
];

function transactions(rng: Rng): TransactionSerializable[] {
  const data =
    `0x${Array.from({ length: rng.int(8193) }, () => rng.int(256).toString(16).padStart(2, "0")).join("")}` as Hex;
  const to = "0x5fbdb2315678afecb367f032d93f642f64180aa3" as const;
  const nonce = rng.int(1000);
  return [
    {
      type: "eip1559",
      chainId: 31337,
      to,
      data,
      nonce,
      gas: 300_000n,
      maxFeePerGas: 2_000_000_000n,
      maxPriorityFeePerGas: 1n,
    },
    { type: "legacy", chainId: 1, to, data, nonce, gas: 21_000n, gasPrice: 1_000_000_000n, value: 5n },
    { type: "eip2930", chainId: 31337, to, data, nonce, gas: 90_000n, gasPrice: 7n, accessList: [] },
  ];
}

describe("nodeAccount", () => {
  it("signs every transaction exactly as viem's private-key account does", async () => {
    const rng = createRng(11);
    for (const key of KEYS) {
      const pure = privateKeyToAccount(key);
      const fast = nodeAccount(key);
      expect(fast.address).toBe(pure.address);
      for (let round = 0; round < 5; round++)
        for (const tx of transactions(rng)) {
          const signed = await fast.signTransaction(tx);
          expect(signed).toBe(await pure.signTransaction(tx));
          expect(await recoverTransactionAddress({ serializedTransaction: signed as never })).toBe(
            pure.address,
          );
          expect(parseTransaction(signed).nonce).toBe(tx.nonce);
        }
    }
  });
});
