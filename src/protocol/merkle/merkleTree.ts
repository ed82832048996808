/**
 * Merkle trees compatible with OpenZeppelin's `MerkleProof.verify` and `@openzeppelin/merkle-tree`:
 * pairs are hashed sorted (`keccak256(min ‖ max)`), and the tree uses OpenZeppelin's array layout
 * (a complete binary tree of 2n−1 nodes, leaf i at position 2n−2−i), so roots and proofs match theirs
 * byte for byte. Leaves are 32-byte hashes; `standardLeafHash` builds OpenZeppelin's double-hashed leaf.
 */
import { abiEncodeAtomic } from "../encoding/abiWord.ts";
import {
  bytesToHex,
  compareBytes,
  concatBytes,
  type Hex,
  hexToBytes,
  isHexOfLength,
} from "../encoding/hex.ts";
import { keccak256 } from "../encoding/keccak.ts";
import { fail, ok, type Verdict } from "../errors.ts";

/** A built tree: all nodes (root first) and, per input leaf, its position in `nodes`. */
export interface MerkleTree {
  readonly root: Hex;
  readonly nodes: readonly Hex[];
  /** `treeIndex[i]` is the node position of the i-th input leaf. */
  readonly treeIndex: readonly number[];
}

/** Options for {@link buildMerkleTree}. */
export interface MerkleTreeOptions {
  /** Sort leaves by value before building, as OpenZeppelin's StandardMerkleTree does (default true). */
  readonly sortLeaves?: boolean;
}

/** Hash of a sorted pair: `keccak256(min(a,b) ‖ max(a,b))`. */
export function hashPairBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  return compareBytes(a, b) <= 0 ? keccak256(concatBytes(a, b)) : keccak256(concatBytes(b, a));
}

/** Hex form of {@link hashPairBytes}. */
export function hashPair(a: Hex, b: Hex): Hex {
  return bytesToHex(hashPairBytes(hexToBytes(a, 32), hexToBytes(b, 32)));
}

/** OpenZeppelin StandardMerkleTree leaf: `keccak256(bytes.concat(keccak256(abi.encode(values))))`. */
export function standardLeafHash(types: readonly string[], values: readonly unknown[]): Verdict<Hex> {
  const encoded = abiEncodeAtomic(types, values);
  if (!encoded.ok) return encoded;
  return ok(bytesToHex(keccak256(keccak256(encoded.value))));
}

/** Builds the tree over 32-byte leaf hashes. */
export function buildMerkleTree(
  leaves: readonly Hex[],
  options: MerkleTreeOptions = {},
): Verdict<MerkleTree> {
  if (leaves.length === 0) return fail("MERKLE_EMPTY", "cannot build a Merkle tree with no leaves");
  for (let i = 0; i < leaves.length; i++) {
    if (!isHexOfLength(leaves[i], 32)) {
      return fail("MERKLE_LEAF_INVALID", `leaf ${i} is not a 32-byte hex hash`, { index: i });
    }
  }
  const bytes = leaves.map((leaf) => hexToBytes(leaf, 32));
  const order = bytes.map((_, i) => i);
  if (options.sortLeaves ?? true)
    order.sort((a, b) => compareBytes(bytes[a] as Uint8Array, bytes[b] as Uint8Array));
  const n = leaves.length;
  const nodes: Uint8Array[] = new Array(2 * n - 1);
  const treeIndex: number[] = new Array(n);
  order.forEach((leafIndex, sortedPosition) => {
    const position = 2 * n - 2 - sortedPosition;
    nodes[position] = bytes[leafIndex] as Uint8Array;
    treeIndex[leafIndex] = position;
  });
  for (let i = n - 2; i >= 0; i--) {
    nodes[i] = hashPairBytes(nodes[2 * i + 1] as Uint8Array, nodes[2 * i + 2] as Uint8Array);
  }
  const hexNodes = nodes.map(bytesToHex);
  return ok({ root: hexNodes[0] as Hex, nodes: hexNodes, treeIndex });
}

/** The proof (sibling hashes, leaf to root) for the i-th input leaf. */
export function merkleProof(tree: MerkleTree, leafIndex: number): Verdict<Hex[]> {
  if (!Number.isInteger(leafIndex) || leafIndex < 0 || leafIndex >= tree.treeIndex.length) {
    return fail(
      "MERKLE_INDEX_OUT_OF_RANGE",
      `leaf index ${leafIndex} is outside 0..${tree.treeIndex.length - 1}`,
      {
        leafIndex,
      },
    );
  }
  const proof: Hex[] = [];
  for (let j = tree.treeIndex[leafIndex] as number; j > 0; j = (j - 1) >> 1) {
    proof.push(tree.nodes[j % 2 === 1 ? j + 1 : j - 1] as Hex);
  }
  return ok(proof);
}

/** OpenZeppelin `MerkleProof.verify`: folds the proof over the leaf with sorted-pair hashing. */
export function verifyMerkleProof(root: Hex, leaf: Hex, proof: readonly Hex[]): boolean {
  if (!isHexOfLength(root, 32) || !isHexOfLength(leaf, 32) || !proof.every((p) => isHexOfLength(p, 32))) {
    return false;
  }
  let computed = hexToBytes(leaf);
  for (const sibling of proof) computed = hashPairBytes(computed, hexToBytes(sibling));
  return bytesToHex(computed) === root.toLowerCase();
}
