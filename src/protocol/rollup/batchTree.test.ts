import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex } from "../encoding/hex.ts";
import { unwrap } from "../errors.ts";
import { buildMerkleTree, standardLeafHash, verifyMerkleProof } from "../merkle/merkleTree.ts";
import { BatchTree, receiptLeaf } from "./batchTree.ts";

describe("batch tree", () => {
  it("equals OpenZeppelin's StandardMerkleTree: the leaf encoding and the root, and proofs verify", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.uint8Array({ minLength: 32, maxLength: 32 }),
            fc.uint8Array({ minLength: 32, maxLength: 32 }),
          ),
          {
            minLength: 1,
            maxLength: 30,
          },
        ),
        (receipts) => {
          const leaves = receipts.map(([d, s], i) => receiptLeaf(i, d, s));
          const standard = receipts.map(([d, s], i) =>
            unwrap(
              standardLeafHash(["uint64", "bytes32", "bytes32"], [BigInt(i), bytesToHex(d), bytesToHex(s)]),
            ),
          );
          expect(leaves.map(bytesToHex)).toEqual(standard);
          const tree = new BatchTree(leaves);
          expect(tree.root).toBe(unwrap(buildMerkleTree(standard)).root);
          for (const [i, leaf] of leaves.entries())
            expect(verifyMerkleProof(tree.root, bytesToHex(leaf), tree.proof(i))).toBe(true);
        },
      ),
      { numRuns: 60, seed: 2 },
    );
  });
});
