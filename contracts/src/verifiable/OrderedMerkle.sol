// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// forge-lint: disable-start(incorrect-shift)

// The padded, ordered Merkle trees of src/protocol/verifiable/trace.ts (parent = keccak256(left ‖ right),
// a missing node the zero subtree), as free functions: the trace and model trees of the one-step check
// and the spot-check verifier, and the dissections of the dispute game, use the same code.

function treeDepth(uint256 n) pure returns (uint256 d) {
    while ((1 << d) < n) d++;
}

/// @notice A `depth`-sibling path from `leaf` at `index` to `root`.
function verifyPath(bytes32 root, bytes32 leaf, uint256 index, bytes32[] calldata proof, uint256 depth)
    pure
    returns (bool)
{
    if (proof.length != depth || index >> depth != 0) return false;
    bytes32 node = leaf;
    for (uint256 h = 0; h < depth; h++) {
        node = (index >> h) & 1 == 0 ? hashPair(node, proof[h]) : hashPair(proof[h], node);
    }
    return node == root;
}

/// @notice Consecutive leaves from index `first` against `root`: per level, the left neighbour of the
/// range when its first node is a right child, then the right neighbour when its last node is a left
/// child (src/chain/stepEvidence.ts builds it). Overwrites `nodes`.
function verifyRange(bytes32 root, bytes32[] memory nodes, uint256 first, bytes32[] calldata proof, uint256 depth)
    pure
    returns (bool)
{
    uint256 lo = first;
    uint256 hi = first + nodes.length - 1;
    if (hi >> depth != 0) return false;
    uint256 p = 0;
    for (uint256 h = 0; h < depth; h++) {
        bytes32 left;
        bytes32 right;
        if (lo & 1 == 1) {
            if (p == proof.length) return false;
            left = proof[p++];
        }
        if (hi & 1 == 0) {
            if (p == proof.length) return false;
            right = proof[p++];
        }
        hashLevel(nodes, lo, hi, left, right);
        (lo, hi) = (lo >> 1, hi >> 1);
    }
    return p == proof.length && nodes[0] == root;
}

/// @dev Hashes the nodes [lo, hi] of one level, with their outer neighbours, into the level above
/// (written from nodes[0]; each pair is read before its parent overwrites it).
function hashLevel(bytes32[] memory nodes, uint256 lo, uint256 hi, bytes32 left, bytes32 right) pure {
    uint256 base = lo >> 1;
    for (uint256 i = base; i <= hi >> 1; i++) {
        bytes32 a = 2 * i < lo ? left : nodes[2 * i - lo];
        bytes32 b = 2 * i + 1 > hi ? right : nodes[2 * i + 1 - lo];
        nodes[i - base] = hashPair(a, b);
    }
}

function hashPair(bytes32 a, bytes32 b) pure returns (bytes32 h) {
    assembly ("memory-safe") {
        mstore(0, a)
        mstore(32, b)
        h := keccak256(0, 64)
    }
}
