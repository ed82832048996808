// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// forge-lint: disable-start(unsafe-typecast)

import {DisputeGame} from "../../src/DisputeGame.sol";
import {IntOps} from "../../src/verifiable/IntOps.sol";
import {PoseidonT17} from "../../src/zk/PoseidonT17.sol";
import {SliceProofVerifier} from "../../src/zk/SliceProofVerifier.sol";
import {ZkSliceVerifier} from "../../src/zk/ZkSliceVerifier.sol";

/// @notice The alternative to a SNARK that docs/zk.md measures (the bench deploys it; nothing else
/// does): the same selected slice, its traced values proven against the trace root exactly as
/// ZkSliceVerifier does, and the weight rows against the model root, then the rows recomputed in
/// Solidity (IntOps.matmul, the one-step check's own code) and compared with the traced outputs.
contract PlainSliceVerifier is ZkSliceVerifier {
    constructor() ZkSliceVerifier(SliceProofVerifier(address(0)), PoseidonT17(address(0))) {}

    /// @notice `proof` is a SliceProof whose Groth16 words and commitment are ignored (zeros).
    function verifyPlain(
        DisputeGame.Subject calldata subject,
        bytes32 selector,
        bytes calldata proof,
        bytes calldata weights,
        bytes32[] calldata weightsProof
    ) external pure returns (bool) {
        SliceProof calldata sp = _decode(proof);
        (Shape memory sh, Slice memory sl) = _provenSlice(subject, selector, sp);
        _checkRows(sh, sl, weights, weightsProof);
        bytes calldata input = sp.input; // decoded once, not per element
        int256[] memory a16 = new int256[](sh.dim);
        for (uint256 j = 0; j < sh.dim; j++) {
            a16[j] = _int16le(input, 1 + 2 * j);
        }
        int256[] memory y = IntOps.matmul(a16, uint8(input[0]), weights, SLICE_ROWS);
        for (uint256 r = 0; r < SLICE_ROWS; r++) {
            if (y[r] != _int32le(sp.output, 4 * (sl.row0 + r))) return false;
        }
        return true;
    }
}
