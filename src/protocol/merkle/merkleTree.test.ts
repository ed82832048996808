import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, type Hex } from "../encoding/hex.ts";
import { keccakUtf8 } from "../encoding/keccak.ts";
import { unwrap } from "../errors.ts";
import { buildMerkleTree, hashPair, merkleProof, standardLeafHash, verifyMerkleProof } from "./merkleTree.ts";

describe("Merkle tree (OpenZeppelin-compatible)", () => {
  it("reproduces the @openzeppelin/merkle-tree README tree byte for byte", () => {
    // StandardMerkleTree.of([[0x11…11, "5e18"], [0x22…22, "2.5e18"]], ["address", "uint256"]).dump()
    const values = [
      ["0x1111111111111111111111111111111111111111", "5000000000000000000"],
      ["0x2222222222222222222222222222222222222222", "2500000000000000000"],
    ];
    const leaves = values.map((v) => unwrap(standardLeafHash(["address", "uint256"], v)));
    const tree = unwrap(buildMerkleTree(leaves));
    expect(tree.nodes).toEqual([
      "0xd4dee0beab2d53f2cc83e567171bd2820e49898130a22622b10ead383e90bd77",
      "0xeb02c421cfa48976e66dfb29120745909ea3a0f843456c263cf8f1253483e283",
      "0xb92c48e9d7abe27fd8dfd6b5dfdbfb1c9a463f80c712b66f3a5180a090cccafc",
    ]);
    expect(tree.treeIndex).toEqual([1, 2]);
    // The proof OpenZeppelin's docs give for the first value, accepted by MerkleProof.verify.
    expect(unwrap(merkleProof(tree, 0))).toEqual([
      "0xb92c48e9d7abe27fd8dfd6b5dfdbfb1c9a463f80c712b66f3a5180a090cccafc",
    ]);
    expect(verifyMerkleProof(tree.root, leaves[0] as Hex, unwrap(merkleProof(tree, 0)))).toBe(true);
  });

  it("hashes pairs in sorted order", () => {
    const a = keccakUtf8("a");
    const b = keccakUtf8("b");
    expect(hashPair(a, b)).toBe(hashPair(b, a));
  });

  it("gives a verifying proof for every leaf, sorted or in order, and rejects tampering", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        (raw, sortLeaves) => {
          const leaves = raw.map((b) => bytesToHex(b));
          const tree = unwrap(buildMerkleTree(leaves, { sortLeaves }));
          leaves.forEach((leaf, i) => {
            const proof = unwrap(merkleProof(tree, i));
            expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(leaves.length)) + 1);
            expect(verifyMerkleProof(tree.root, leaf, proof)).toBe(true);
            const forged = keccakUtf8(`not-${leaf}`);
            if (!leaves.includes(forged)) expect(verifyMerkleProof(tree.root, forged, proof)).toBe(false);
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it("keeps input order when sortLeaves is false (receipt batches are ordered)", () => {
    const leaves = ["c", "a", "b"].map(keccakUtf8);
    const tree = unwrap(buildMerkleTree(leaves, { sortLeaves: false }));
    expect(tree.treeIndex).toEqual([4, 3, 2]);
    expect(tree.nodes[4]).toBe(leaves[0]);
  });

  it("rejects empty trees, malformed leaves and out-of-range indices", () => {
    expect(buildMerkleTree([])).toMatchObject({ ok: false, error: { code: "MERKLE_EMPTY" } });
    expect(buildMerkleTree(["0x1234" as Hex])).toMatchObject({
      ok: false,
      error: { code: "MERKLE_LEAF_INVALID" },
    });
    const tree = unwrap(buildMerkleTree([keccakUtf8("x")]));
    expect(tree.root).toBe(keccakUtf8("x"));
    expect(merkleProof(tree, 1)).toMatchObject({ ok: false, error: { code: "MERKLE_INDEX_OUT_OF_RANGE" } });
    expect(verifyMerkleProof(tree.root, "0xzz" as Hex, [])).toBe(false);
  });
});
