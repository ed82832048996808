// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "./utils/Test.sol";
import {Registry} from "../src/Registry.sol";
import {ScoreCommits} from "../src/ScoreCommits.sol";
import {VerinferToken} from "../src/VerinferToken.sol";

/// @dev The phases of commit–reveal, a reveal against its commitment, and every misuse; the devnet's
/// evaluators and settler run it on anvil (test/e2e/epochs.test.ts).
contract ScoreCommitsTest is Test {
    VerinferToken internal token;
    Registry internal registry;
    ScoreCommits internal scores;
    address internal constant EVALUATOR = address(0xE1);
    address internal constant FISHER = address(0xF1);
    uint64 internal constant EPOCH = 60;
    uint64 internal constant PHASE = 15;
    bytes32 internal constant SALT = keccak256("salt");

    function setUp() public {
        token = new VerinferToken(address(this));
        registry = new Registry(address(this), token, 1 days, [uint256(0), 10 ether, 1 ether, 1 ether]);
        scores = new ScoreCommits(registry, EPOCH, PHASE, PHASE, 3);
        for (uint256 i = 0; i < 2; i++) {
            address who = i == 0 ? EVALUATOR : FISHER;
            token.mint(who, 10 ether);
            vm.startPrank(who);
            token.approve(address(registry), type(uint256).max);
            registry.register(i == 0 ? Registry.Role.Evaluator : Registry.Role.Fisherman);
            registry.deposit(who, 1 ether);
            vm.stopPrank();
        }
    }

    function test_fixesHowManyEvaluatorsScoreEachReceipt() public {
        assertEq(uint256(scores.evaluatorsPerReceipt()), 3, "k");
        vm.expectRevert(abi.encodeWithSignature("Error(string)", "bad evaluators per receipt"));
        new ScoreCommits(registry, EPOCH, PHASE, PHASE, 0);
        vm.expectRevert(abi.encodeWithSignature("Error(string)", "bad evaluators per receipt"));
        new ScoreCommits(registry, EPOCH, PHASE, PHASE, 1001);
    }

    /// @dev Two scores: batch 0 position 1 scored 7.25, batch 2 position 0 scored 10.00.
    function twoScores() internal pure returns (bytes memory) {
        return abi.encodePacked(uint32(0), uint32(1), uint16(725), uint32(2), uint32(0), uint16(1000));
    }

    function test_commitsAfterTheEpochAndRevealsAfterTheCommitPhase() public {
        bytes memory s = twoScores();
        bytes32 c = scores.commitmentOf(0, EVALUATOR, s, SALT);
        uint64 end = scores.epochEnd(0);
        vm.startPrank(EVALUATOR);
        vm.expectRevert(abi.encodeWithSelector(ScoreCommits.PhaseClosed.selector, uint64(0), end, end + PHASE));
        scores.commit(0, c);
        vm.warp(end);
        scores.commit(0, c);
        vm.expectRevert(abi.encodeWithSelector(ScoreCommits.CommittedAlready.selector, uint64(0)));
        scores.commit(0, c);
        vm.expectPartialRevert(ScoreCommits.PhaseClosed.selector);
        scores.reveal(0, s, SALT);
        vm.warp(end + PHASE);
        vm.expectPartialRevert(ScoreCommits.PhaseClosed.selector);
        scores.commit(0, c); // too late to commit once others may reveal
        vm.expectPartialRevert(ScoreCommits.RevealMismatch.selector);
        scores.reveal(0, s, keccak256("another salt"));
        scores.reveal(0, s, SALT);
        vm.expectRevert(abi.encodeWithSelector(ScoreCommits.RevealedAlready.selector, uint64(0)));
        scores.reveal(0, s, SALT);
        vm.stopPrank();
        assertEq(scores.commitments(0, EVALUATOR), bytes32(uint256(1)), "marked revealed");
    }

    /// @dev The gas report's `reveal` max: 1,000 scores (execution only; their calldata costs 10 bytes each).
    function test_revealsAThousandScores() public {
        bytes memory s = new bytes(10_000);
        for (uint256 i = 0; i < 1_000; i++) {
            s[i * 10 + 7] = bytes1(uint8(i % 256));
            s[i * 10 + 9] = bytes1(uint8(i % 200));
        }
        uint64 end = scores.epochEnd(0);
        vm.warp(end);
        vm.startPrank(EVALUATOR);
        scores.commit(0, scores.commitmentOf(0, EVALUATOR, s, SALT));
        vm.warp(end + PHASE);
        scores.reveal(0, s, SALT);
        vm.stopPrank();
    }

    function test_onlyStakedEvaluatorsCommit() public {
        vm.warp(scores.epochEnd(0));
        vm.prank(FISHER);
        vm.expectRevert(abi.encodeWithSelector(ScoreCommits.NotEvaluator.selector, FISHER));
        scores.commit(0, keccak256("x"));
        vm.prank(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(ScoreCommits.NotEvaluator.selector, address(0xBAD)));
        scores.commit(0, keccak256("x"));
        vm.prank(EVALUATOR);
        vm.expectRevert(ScoreCommits.CommitmentInvalid.selector);
        scores.commit(0, bytes32(uint256(1)));
    }

    function test_rejectsMalformedScoresAndMissingCommitments() public {
        bytes memory ragged = abi.encodePacked(uint32(0), uint32(1), uint8(7));
        uint64 end = scores.epochEnd(0);
        vm.warp(end);
        vm.startPrank(EVALUATOR);
        scores.commit(0, scores.commitmentOf(0, EVALUATOR, ragged, SALT));
        vm.warp(end + PHASE);
        vm.expectRevert(
            abi.encodeWithSelector(ScoreCommits.ScoresMalformed.selector, "not a whole number of 10-byte scores")
        );
        scores.reveal(0, ragged, SALT);
        vm.stopPrank();
        vm.prank(FISHER);
        vm.expectRevert(abi.encodeWithSelector(ScoreCommits.NothingCommitted.selector, uint64(0)));
        scores.reveal(0, ragged, SALT);
    }
}
