// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DisputeGame} from "../../src/DisputeGame.sol";
import {ISpotCheckVerifier} from "../../src/SpotChecks.sol";

/// @notice A stand-in for the ZK issue's verifier in tests: the "proof" of a slice is
/// keccak256(abi.encode(traceRoot, selector)), which only someone who read the obligation can make — it
/// exercises SpotChecks' obligation logic, not soundness of any proof system.
contract HashSliceVerifier is ISpotCheckVerifier {
    function verifySlice(DisputeGame.Subject calldata subject, bytes32 selector, bytes calldata proof)
        external
        pure
        returns (bool)
    {
        return proof.length == 32 && bytes32(proof) == keccak256(abi.encode(subject.traceRoot, selector));
    }

    /// @notice Binds on the spot: a proof it accepts names the subject's trace root and selector.
    function bindingHolds(DisputeGame.Subject calldata, bytes32, bytes calldata, bytes calldata, bytes32[] calldata)
        external
        pure
        returns (bool)
    {
        return true;
    }
}
