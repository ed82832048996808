// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DisputeGame, IStepVerifier} from "../../src/DisputeGame.sol";

/// @notice A stand-in for the one-step executor in tests of the game: the correct leaf `i` of every
/// trace is keccak256(abi.encode(seed, i)), which the tests' honest traces use too (the simulator's
/// oracle, on chain). The game is what such tests test; the engine executor replaces this.
contract FormulaStepVerifier is IStepVerifier {
    bytes32 public immutable seed;

    constructor(bytes32 seed_) {
        seed = seed_;
    }

    function correctLeaf(DisputeGame.Subject calldata, uint256 index, bytes calldata) external view returns (bytes32) {
        return keccak256(abi.encode(seed, index));
    }
}
