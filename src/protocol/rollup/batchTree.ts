/**
 * A batch's Merkle tree (docs/spec/otr.md §3): one leaf per receipt, OpenZeppelin's StandardMerkleTree
 * leaf over `(uint64 position, bytes32 receiptDigest, bytes32 keccak256(signature))`, and
 * OpenZeppelin's tree (sorted leaves, sorted-pair hashing), so `MerkleProof.verify` checks inclusion
 * on chain and `@openzeppelin/merkle-tree` builds the same root. The position inside the leaf binds
 * each receipt to its place in the batch (what a broken inclusion promise is proven against). Built on
 * bytes with a pluggable hash, since a sequencer seals tens of thousands of receipts a second.
 */
import { bytesToHex, compareBytes, type Hex } from "../encoding/hex.ts";
import { keccak256 } from "../encoding/keccak.ts";
import type { Hash32 } from "../verifiable/trace.ts";

/** The leaf of the receipt at `position`. */
export function receiptLeaf(
  position: number,
  digest: Uint8Array,
  signatureHash: Uint8Array,
  hash: Hash32 = keccak256,
): Uint8Array {
  const encoded = new Uint8Array(96);
  new DataView(encoded.buffer).setBigUint64(24, BigInt(position));
  encoded.set(digest, 32);
  encoded.set(signatureHash, 64);
  return hash(hash(encoded));
}

/** An OpenZeppelin-layout tree over leaf hashes: node i's children are 2i+1 and 2i+2. */
export class BatchTree {
  private readonly nodes: Uint8Array;
  /** Node position of each input leaf. */
  private readonly at: Int32Array;
  readonly size: number;

  constructor(
    leaves: readonly Uint8Array[],
    readonly hash: Hash32 = keccak256,
  ) {
    const n = leaves.length;
    if (n === 0) throw new RangeError("a batch has at least one receipt");
    this.size = n;
    this.nodes = new Uint8Array((2 * n - 1) * 32);
    this.at = new Int32Array(n);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) =>
      compareBytes(leaves[a] as Uint8Array, leaves[b] as Uint8Array),
    );
    order.forEach((leafIndex, sorted) => {
      const position = 2 * n - 2 - sorted;
      this.nodes.set(leaves[leafIndex] as Uint8Array, position * 32);
      this.at[leafIndex] = position;
    });
    const pair = new Uint8Array(64);
    for (let i = n - 2; i >= 0; i--) {
      const left = this.node(2 * i + 1);
      const right = this.node(2 * i + 2);
      // OpenZeppelin hashes pairs sorted.
      if (compareBytes(left, right) <= 0) {
        pair.set(left, 0);
        pair.set(right, 32);
      } else {
        pair.set(right, 0);
        pair.set(left, 32);
      }
      this.nodes.set(hash(pair), i * 32);
    }
  }

  private node(i: number): Uint8Array {
    return this.nodes.subarray(i * 32, i * 32 + 32);
  }

  get root(): Hex {
    return bytesToHex(this.node(0));
  }

  /** The proof of input leaf `index` (siblings, leaf to root), as `MerkleProof.verify` takes it. */
  proof(index: number): Hex[] {
    const out: Hex[] = [];
    for (let j = this.at[index] as number; j > 0; j = (j - 1) >> 1)
      out.push(bytesToHex(this.node(j % 2 === 1 ? j + 1 : j - 1)));
    return out;
  }
}
