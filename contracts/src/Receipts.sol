// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title The PoEA receipt on chain (docs/spec/otr.md §2; src/protocol/receipt/receipt.ts)
/// @notice EIP-712 struct hashing exactly as the TypeScript protocol does it, and the batch leaf of
/// src/protocol/rollup/batchTree.ts: OpenZeppelin's StandardMerkleTree leaf over
/// (uint64 position, bytes32 digest, bytes32 keccak256(signature)).
library Receipts {
    struct Receipt {
        uint16 version;
        bytes32 requestId;
        address worker;
        bytes32 modelId;
        bytes32 weightsHash;
        bytes32 engineHash;
        bytes32 promptHash;
        bytes32 paramsHash;
        bytes32 outputHash;
        bytes32 traceRoot;
        uint32 inputTokens;
        uint32 outputTokens;
        uint32 latencyMs;
        uint64 timestamp;
        uint64 sequence;
        bytes32 attestationHash;
    }

    bytes32 internal constant TYPEHASH = keccak256(
        "Receipt(uint16 version,bytes32 requestId,address worker,bytes32 modelId,bytes32 weightsHash,bytes32 engineHash,bytes32 promptHash,bytes32 paramsHash,bytes32 outputHash,bytes32 traceRoot,uint32 inputTokens,uint32 outputTokens,uint32 latencyMs,uint64 timestamp,uint64 sequence,bytes32 attestationHash)"
    );

    /// @notice hashStruct(receipt): every field is a static word, so the struct encodes inline.
    function structHash(Receipt memory r) internal pure returns (bytes32) {
        return keccak256(abi.encode(TYPEHASH, r));
    }

    /// @notice The EIP-712 signing digest under `domainSeparator` (the settlement contract's).
    function digest(Receipt memory r, bytes32 domainSeparator) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", domainSeparator, structHash(r)));
    }

    /// @notice The positions of a verifiable worker's trace for this receipt: inputTokens +
    /// max(outputTokens, 1) − 1 (requestCommitments.ts traceLeafCount is this times the steps per position).
    function positions(Receipt calldata r) internal pure returns (uint64) {
        return uint64(r.inputTokens) + (r.outputTokens > 0 ? r.outputTokens : 1) - 1;
    }

    /// @notice The batch-tree leaf of a signed receipt at `position`.
    function leaf(uint64 position, bytes32 receiptDigest, bytes memory signature) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(position, receiptDigest, keccak256(signature)))));
    }
}
