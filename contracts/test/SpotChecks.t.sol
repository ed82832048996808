// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Receipts} from "../src/Receipts.sol";
import {ISpotCheckVerifier, SpotChecks} from "../src/SpotChecks.sol";
import {HashSliceVerifier} from "./doubles/HashSliceVerifier.sol";
import {RollupFixture} from "./Rollup.t.sol";

/// @dev Seeds and selection; the obligation flows run on anvil against the TypeScript rules
/// (src/chain/spotChecks.test.ts).
contract SpotChecksTest is RollupFixture {
    SpotChecks internal spot;

    function setUp() public override {
        super.setUp();
        spot = new SpotChecks(
            registry,
            rollup,
            ISpotCheckVerifier(address(new HashSliceVerifier())),
            SpotChecks.Params(1_000_000, 2, 30 minutes, 1 hours, 5 ether, 5_000)
        );
        registry.setSlasher(address(spot), true);
    }

    function test_theSeedIsALaterBlocksHashFixedOnceAndOnlyWhileTheEvmStillHasIt() public {
        vm.prank(sequencer);
        rollup.postBatch(0, keccak256("root"), 4, "");
        uint256 seedBlock = block.number + 2;
        vm.expectRevert(abi.encodeWithSelector(SpotChecks.SeedNotYet.selector, seedBlock));
        spot.fixSeed(0);
        vm.expectRevert(abi.encodeWithSelector(SpotChecks.SeedUnknown.selector, uint64(0)));
        spot.isSelected(0, 0);
        vm.roll(seedBlock + 300); // past the 256 blocks blockhash reaches
        vm.expectRevert(abi.encodeWithSelector(SpotChecks.SeedExpired.selector, seedBlock));
        spot.fixSeed(0);
    }

    function test_atRhoOneEveryReceiptIsSelectedAndOpenNeedsItInTheBatch() public {
        (Receipts.Receipt memory r, bytes32 digest, bytes memory sig) = signedReceipt(1);
        bytes32 leaf = Receipts.leaf(0, digest, sig);
        vm.prank(sequencer);
        rollup.postBatch(0, leaf, 1, "");
        vm.roll(block.number + 3);
        bytes32 seed = spot.fixSeed(0);
        assertEq(spot.fixSeed(0), seed, "fixed once");
        assertTrue(spot.isSelected(0, 0), "rho = 100%");
        vm.expectRevert(abi.encodeWithSelector(SpotChecks.ReceiptNotInBatch.selector, digest));
        spot.open(0, 0, r, hex"00", new bytes32[](0));
        spot.open(0, 0, r, sig, new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(SpotChecks.ObligationExists.selector, uint64(0), uint32(0)));
        spot.open(0, 0, r, sig, new bytes32[](0));
    }

    /// An obligation nobody opened by posting + proofDeadline, opened late, is not overdue at once (its
    /// opener could otherwise slash an honest worker at once); after the window none opens at all.
    function test_aLateOpeningLeavesTheWorkerItsWholeDeadlineAndNoneOpensAfterTheWindow() public {
        (Receipts.Receipt memory r, bytes32 digest, bytes memory sig) = signedReceipt(1);
        vm.prank(sequencer);
        rollup.postBatch(0, Receipts.leaf(0, digest, sig), 1, "");
        uint256 posted = block.timestamp;
        vm.roll(block.number + 3);
        spot.fixSeed(0);
        vm.warp(posted + 45 minutes); // past posting + proofDeadline (30 min), inside the 1 h window
        spot.open(0, 0, r, sig, new bytes32[](0));
        uint64 deadline = uint64(posted + 75 minutes);
        assertEq(spot.obligation(0, 0).deadline, deadline, "30 minutes from the opening");
        vm.expectRevert(abi.encodeWithSelector(SpotChecks.ProofNotDue.selector, deadline));
        spot.slashMissing(0, 0);

        (Receipts.Receipt memory r2, bytes32 digest2, bytes memory sig2) = signedReceipt(2);
        vm.prank(sequencer);
        rollup.postBatch(1, Receipts.leaf(0, digest2, sig2), 1, "");
        uint64 windowEnd = rollup.windowEnd(1);
        vm.roll(block.number + 3);
        spot.fixSeed(1);
        vm.warp(windowEnd);
        vm.expectRevert(abi.encodeWithSelector(SpotChecks.ObligationWindowClosed.selector, windowEnd));
        spot.open(1, 0, r2, sig2, new bytes32[](0));
    }

    function test_noObligationOpensOverAReceiptPostedPastItsMaximumAge() public {
        (Receipts.Receipt memory r, bytes32 digest, bytes memory sig) = signedReceipt(1);
        vm.warp(block.timestamp + MAX_AGE + 1);
        vm.prank(sequencer);
        rollup.postBatch(0, Receipts.leaf(0, digest, sig), 1, "");
        vm.roll(block.number + 3);
        spot.fixSeed(0);
        vm.expectRevert(abi.encodeWithSelector(SpotChecks.ReceiptStale.selector, uint64(0), r.timestamp));
        spot.open(0, 0, r, sig, new bytes32[](0));
    }
}
