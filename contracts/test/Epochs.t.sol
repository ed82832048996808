// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Epochs} from "../src/Epochs.sol";
import {VerinferToken} from "../src/VerinferToken.sol";
import {Test} from "./utils/Test.sol";

/// @dev A two-entry epoch (one worker, one fisherman) claimed and its dust burned, and a forged claim;
/// the amounts against settleEpoch and the fraud proofs run on anvil (src/chain/epochs.test.ts).
contract EpochsTest is Test {
    VerinferToken internal token;
    Epochs internal epochs;
    address internal constant WORKER = address(0xA1);
    address internal constant FISHER = address(0xF1);

    function setUp() public {
        token = new VerinferToken(address(this));
        epochs = new Epochs(address(this), token, 7_000, 2_000, 1 hours, 10 ether, 5_000);
        epochs.setSettler(address(this));
        token.mint(address(this), 1_000 ether);
        token.approve(address(epochs), type(uint256).max);
        epochs.depositBond(10 ether);
    }

    function entries() internal pure returns (Epochs.Entry[2] memory x) {
        x[0] = Epochs.Entry(WORKER, 0, 5, 70 ether, 0, 0);
        x[1] = Epochs.Entry(FISHER, 2, 9, 10 ether, 0, 0);
    }

    function test_aSettledEpochPaysEachEntryOnceAndBurnsTheRest() public {
        Epochs.Entry[2] memory x = entries();
        bytes32 root = keccak256(abi.encodePacked(keccak256(abi.encode(x[0])), keccak256(abi.encode(x[1]))));
        epochs.post(0, root, 100 ether, [uint256(5), 0, 9], [uint32(1), 0, 1], keccak256("inputs"));
        bytes32[] memory p0 = new bytes32[](1);
        p0[0] = keccak256(abi.encode(x[1]));
        vm.expectRevert(abi.encodeWithSelector(Epochs.WindowOpen.selector, uint64(block.timestamp + 1 hours)));
        epochs.claim(0, 0, x[0], p0);
        vm.warp(block.timestamp + 1 hours + 1);
        epochs.claim(0, 0, x[0], p0);
        assertEq(token.balanceOf(WORKER), 70 ether, "worker paid");
        vm.expectRevert(abi.encodeWithSelector(Epochs.ClaimedAlready.selector, uint256(0)));
        epochs.claim(0, 0, x[0], p0);
        Epochs.Entry memory forged = Epochs.Entry(FISHER, 2, 9, 20 ether, 0, 0);
        bytes32[] memory p1 = new bytes32[](1);
        p1[0] = keccak256(abi.encode(x[0]));
        vm.expectRevert(abi.encodeWithSelector(Epochs.EntryNotInEpoch.selector, uint256(1)));
        epochs.claim(0, 1, forged, p1);
        epochs.claim(0, 1, x[1], p1);
        Epochs.Entry[3] memory lasts = [x[0], x[0], x[1]];
        bytes32[][3] memory proofs = [p0, p0, p1];
        uint256 supply = token.totalSupply();
        epochs.burnDust(0, lasts, proofs);
        // Pools 70 / 20 / 10: the evaluators' 20 (no entries) burned, the others fully paid.
        assertEq(supply - token.totalSupply(), 20 ether, "dust burned");
        assertEq(token.balanceOf(address(epochs)), 10 ether, "only the bond is left");
    }
}
