// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Receipts} from "../src/Receipts.sol";
import {Registry} from "../src/Registry.sol";
import {Rollup} from "../src/Rollup.sol";
import {RegistryFixture} from "./Registry.t.sol";

/// @dev A rollup with a bonded sequencer and a registered worker, and receipts of that worker.
abstract contract RollupFixture is RegistryFixture {
    Rollup internal rollup;
    uint256 internal constant SEQUENCER_KEY = 0x5E9;
    address internal sequencer;
    /// @dev Stands in for the dispute game (fixtures that deploy the real one replace it).
    address internal disputeGame = address(0x6A3E);
    uint64 internal constant WINDOW = 1 hours;
    uint64 internal constant MAX_AGE = 1 days;

    function setUp() public virtual override {
        super.setUp();
        sequencer = vm.addr(SEQUENCER_KEY);
        rollup = new Rollup(address(this), registry, WINDOW, MAX_AGE, 10 ether, 5_000);
        rollup.setSequencer(sequencer);
        rollup.setDisputeGame(disputeGame);
        token.mint(sequencer, 100 ether);
        vm.startPrank(sequencer);
        token.approve(address(rollup), type(uint256).max);
        rollup.depositBond(10 ether);
        vm.stopPrank();
        registerWorker(MIN);
    }

    function receiptOf(uint64 sequence) internal view returns (Receipts.Receipt memory r) {
        r.version = 1;
        r.requestId = keccak256(abi.encode("request", sequence));
        r.worker = worker;
        r.modelId = MODEL;
        r.weightsHash = WEIGHTS;
        r.engineHash = ENGINE;
        r.outputHash = keccak256(abi.encode("output", sequence));
        r.traceRoot = keccak256(abi.encode("trace", sequence));
        r.outputTokens = 128;
        r.timestamp = uint64(block.timestamp) * 1000;
        r.sequence = sequence;
        r.attestationHash = EVIDENCE;
    }

    function signedReceipt(uint64 sequence) internal view returns (Receipts.Receipt memory r, bytes32 digest, bytes memory sig) {
        r = receiptOf(sequence);
        digest = Receipts.digest(r, rollup.domainSeparator());
        sig = signed(WORKER_KEY, digest);
    }

    /// @dev A two-receipt batch: its root and each leaf's sibling.
    function twoReceiptBatch() internal view returns (bytes32 root, bytes32[2] memory leaves, bytes32[2] memory digests, bytes32[2] memory sigHashes) {
        for (uint64 i = 0; i < 2; i++) {
            (, bytes32 digest, bytes memory sig) = signedReceipt(i + 1);
            digests[i] = digest;
            sigHashes[i] = keccak256(sig);
            leaves[i] = Receipts.leaf(i, digest, sig);
        }
        root = leaves[0] < leaves[1]
            ? keccak256(abi.encode(leaves[0], leaves[1]))
            : keccak256(abi.encode(leaves[1], leaves[0]));
    }

}

contract RollupTest is RollupFixture {
    function test_postsInOrderOnlyTheBondedSequencer() public {
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotSequencer.selector, address(this)));
        rollup.postBatch(0, bytes32(uint256(1)), 1, "");
        vm.startPrank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BatchIndexWrong.selector, uint64(0), uint64(1)));
        rollup.postBatch(1, bytes32(uint256(1)), 1, "");
        vm.expectRevert(abi.encodeWithSelector(Rollup.BatchDataMalformed.selector, "a batch holds at least one receipt"));
        rollup.postBatch(0, bytes32(uint256(1)), 0, "");
        vm.expectEmit(address(rollup));
        emit Rollup.BatchPosted(0, bytes32(uint256(1)), 1, Rollup.DataKind.Calldata, keccak256(hex"5652423100"));
        rollup.postBatch(0, bytes32(uint256(1)), 1, hex"5652423100");
        vm.stopPrank();
        assertEq(rollup.batchCount(), 1, "one batch");
        vm.expectRevert(abi.encodeWithSelector(Rollup.NoBlob.selector));
        vm.prank(sequencer);
        rollup.postBatchBlob(1, bytes32(uint256(1)), 1);
    }

    function test_receiptsBecomeFinalAfterTheWindowUnlessDisputedAndAVoidedOneStaysAlone() public {
        (bytes32 root, bytes32[2] memory leaves, bytes32[2] memory digests, bytes32[2] memory sigHashes) = twoReceiptBatch();
        vm.prank(sequencer);
        rollup.postBatch(0, root, 2, "");
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = leaves[1];
        assertTrue(rollup.includes(0, 0, digests[0], sigHashes[0], proof), "inclusion");
        assertTrue(!rollup.includes(0, 1, digests[0], sigHashes[0], proof), "the position is in the leaf");
        assertTrue(rollup.status(0, 0) == Rollup.Status.Posted, "posted");
        assertTrue(rollup.status(0, 2) == Rollup.Status.Unknown, "no such position");
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotDisputeGame.selector, address(this)));
        rollup.openDispute(0, 0);
        vm.startPrank(disputeGame);
        rollup.openDispute(0, 0);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChallengeWindowClosed.selector, Rollup.Status.Disputed));
        rollup.openDispute(0, 0);
        vm.warp(block.timestamp + WINDOW);
        assertTrue(rollup.status(0, 0) == Rollup.Status.Disputed, "still disputed after the window");
        assertTrue(rollup.status(0, 1) == Rollup.Status.Final, "its neighbour is final");
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChallengeWindowClosed.selector, Rollup.Status.Final));
        rollup.openDispute(0, 1);
        rollup.settleDispute(0, 0, true);
        vm.stopPrank();
        assertTrue(rollup.status(0, 0) == Rollup.Status.Voided, "voided");
        assertTrue(rollup.status(0, 1) == Rollup.Status.Final, "the rest of the batch stays final");
    }

    function test_aClientForcesItsReceiptInOnceWithoutTakingTheSequencersIndex() public {
        (Receipts.Receipt memory r, bytes32 digest, bytes memory sig) = signedReceipt(7);
        uint64 index = rollup.forceInclude(r, sig);
        uint64 base = rollup.FORCED_BASE();
        assertEq(index, base, "a batch of one, in the forced receipts' index space");
        assertEq(rollup.batch(base).root, Receipts.leaf(0, digest, sig), "root = its leaf at 0");
        assertTrue(rollup.status(base, 0) == Rollup.Status.Posted, "posted, with its own window");
        assertTrue(rollup.forced(digest), "recorded");
        assertEq(rollup.forcedCount(), 1, "one forced");
        // The sequencer's next index is still 0: what it promised stays true.
        assertEq(rollup.batchCount(), 0, "the sequencer's space is untouched");
        vm.prank(sequencer);
        rollup.postBatch(0, bytes32(uint256(1)), 1, "");
        vm.expectRevert(abi.encodeWithSelector(Rollup.ReceiptReplayed.selector, digest));
        rollup.forceInclude(r, sig);
        // A field changed after signing: the signature recovers to someone else.
        r.outputTokens = 1;
        vm.expectPartialRevert(Registry.ReceiptSignatureInvalid.selector);
        rollup.forceInclude(r, sig);
    }

    /// A receipt past its maximum age is not forced in, and a posted batch says which receipts it holds
    /// stale (the dispute game and the spot-checks refuse those).
    function test_aReceiptPastItsMaximumAgeIsNotForcedInAndIsStaleInABatchPostedThatLate() public {
        (Receipts.Receipt memory r,, bytes memory sig) = signedReceipt(8);
        uint256 signedAt = block.timestamp;
        vm.warp(signedAt + MAX_AGE + 1);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ReceiptStale.selector, r.timestamp, uint64(signedAt + MAX_AGE + 1)));
        rollup.forceInclude(r, sig);
        vm.warp(signedAt + MAX_AGE); // at the bound: still in time
        rollup.forceInclude(r, sig);
        vm.prank(sequencer);
        rollup.postBatch(0, bytes32(uint256(1)), 1, "");
        assertTrue(!rollup.receiptStale(0, r.timestamp), "posted at the bound");
        assertTrue(rollup.receiptStale(0, r.timestamp - 1), "posted a millisecond past it");
        assertTrue(!rollup.receiptStale(1, 0), "no such batch");
    }

    function reattestWith(bytes32 evidence) internal {
        uint64 until = uint64(block.timestamp + 30 days);
        bytes memory verdict = attestation(worker, operator, evidence, until);
        vm.prank(operator);
        registry.reattest(worker, evidence, until, verdict);
    }

    /// A worker re-attested with new evidence: its receipts signed before the change, naming the old
    /// evidence, can still be forced in; one naming it and signed at or after the change cannot.
    function test_aReceiptSignedUnderTheWorkersPreviousEvidenceIsForcedInAfterTheEvidenceChanged() public {
        (Receipts.Receipt memory before,, bytes memory beforeSig) = signedReceipt(21);
        vm.warp(block.timestamp + 1 hours);
        bytes32 newEvidence = keccak256("new evidence");
        reattestWith(newEvidence);
        (,,, bytes32 current,,) = registry.participant(worker);
        (bytes32 previous, uint64 changedAt) = registry.previousEvidence(worker);
        assertEq(current, newEvidence, "the new evidence");
        assertEq(previous, EVIDENCE, "the previous evidence kept");
        assertEq(changedAt, uint64(block.timestamp), "when it changed");
        rollup.forceInclude(before, beforeSig);
        // Under the old evidence at the moment of the change: not admissible.
        (Receipts.Receipt memory late,, bytes memory lateSig) = signedReceipt(22);
        vm.expectRevert(abi.encodeWithSelector(Registry.ReceiptAttestationMismatch.selector, EVIDENCE, newEvidence));
        rollup.forceInclude(late, lateSig);
        // Under the new evidence: admissible.
        Receipts.Receipt memory fresh = receiptOf(23);
        fresh.attestationHash = newEvidence;
        rollup.forceInclude(fresh, signed(WORKER_KEY, Receipts.digest(fresh, rollup.domainSeparator())));
    }

    /// Renewing the same evidence keeps what was kept; a second change keeps only the evidence before it.
    function test_onlyTheEvidenceBeforeTheLastChangeIsKept() public {
        (Receipts.Receipt memory first,, bytes memory firstSig) = signedReceipt(31);
        vm.warp(block.timestamp + 1 hours);
        reattestWith(keccak256("second evidence"));
        uint256 changed = block.timestamp;
        vm.warp(block.timestamp + 1 hours);
        reattestWith(keccak256("second evidence"));
        (bytes32 previous, uint64 changedAt) = registry.previousEvidence(worker);
        assertEq(previous, EVIDENCE, "unchanged by a renewal");
        assertEq(changedAt, uint64(changed), "unchanged by a renewal");
        reattestWith(keccak256("third evidence"));
        (previous,) = registry.previousEvidence(worker);
        assertEq(previous, keccak256("second evidence"), "the evidence before the last change");
        vm.expectRevert(
            abi.encodeWithSelector(Registry.ReceiptAttestationMismatch.selector, EVIDENCE, keccak256("third evidence"))
        );
        rollup.forceInclude(first, firstSig);
    }

    function promiseSig(Rollup.InclusionPromise memory p, uint256 key) internal view returns (bytes memory) {
        return signed(key, rollup.promiseDigest(p));
    }

    function test_aBrokenPromiseCostsTheSequencerItsBondAndAKeptOneIsRefused() public {
        (bytes32 root, bytes32[2] memory leaves, bytes32[2] memory digests, bytes32[2] memory sigHashes) = twoReceiptBatch();
        vm.prank(sequencer);
        rollup.postBatch(0, root, 2, "");
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = leaves[1];
        // Kept: the batch holds the promised receipt at the promised position.
        Rollup.InclusionPromise memory kept = Rollup.InclusionPromise(digests[0], 0, 0, 1);
        bytes memory keptSig = promiseSig(kept, SEQUENCER_KEY);
        vm.expectRevert(abi.encodeWithSelector(Rollup.SequencerPromiseKept.selector, digests[0]));
        rollup.proveBrokenPromise(kept, keptSig, digests[0], sigHashes[0], proof);
        // Signed by someone else: refused.
        Rollup.InclusionPromise memory other = Rollup.InclusionPromise(keccak256("mine"), 0, 0, 1);
        bytes memory forged = promiseSig(other, 0xBAD);
        vm.expectRevert(abi.encodeWithSelector(Rollup.PromiseSignatureInvalid.selector, vm.addr(0xBAD)));
        rollup.proveBrokenPromise(other, forged, digests[0], sigHashes[0], proof);
        // Broken: another receipt sits at the promised position.
        bytes memory otherSig = promiseSig(other, SEQUENCER_KEY);
        uint256 slashed = rollup.proveBrokenPromise(other, otherSig, digests[0], sigHashes[0], proof);
        assertEq(slashed, 10 ether, "the whole bond");
        assertEq(token.balanceOf(address(this)), 5 ether, "half to the prover");
        assertEq(rollup.sequencerBond(), 0, "bond gone");
        vm.expectRevert(abi.encodeWithSelector(Rollup.PromiseAlreadyProven.selector));
        rollup.proveBrokenPromise(other, otherSig, digests[0], sigHashes[0], proof);
        // With the bond gone the sequencer cannot post.
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BondTooLow.selector, 0, 10 ether));
        rollup.postBatch(1, root, 2, "");
    }

    function test_aPromiseBeyondTheBatchIsBroken() public {
        (bytes32 root,,,) = twoReceiptBatch();
        vm.prank(sequencer);
        rollup.postBatch(0, root, 2, "");
        Rollup.InclusionPromise memory p = Rollup.InclusionPromise(keccak256("late"), 0, 5, 1);
        bytes memory sig = promiseSig(p, SEQUENCER_KEY);
        assertEq(rollup.proveBrokenPromise(p, sig, bytes32(0), bytes32(0), new bytes32[](0)), 10 ether, "slashed");
    }
}
