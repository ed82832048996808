// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Registry} from "./Registry.sol";

/// @title Commit–reveal of evaluators' PoQ scores, one commitment per evaluator per epoch
/// @notice docs/spec/otr.md §6.1; src/protocol/poq/networkEpoch.ts says what is scored and how the
/// settler turns the revealed scores into the epoch's quality and rewards. Epochs are counted from this
/// contract's deployment. After epoch e ends, each staked evaluator commits
/// H(abi.encode(e, evaluator, keccak256(scores), salt)) during the commit phase; once the phase is over
/// nobody can commit, and each evaluator reveals its scores (10 bytes each: batch uint32, position
/// uint32, score uint16 in hundredths) and salt during the reveal phase. The scores stay in the reveal's
/// calldata (the event carries their hash), so they are public and the chain stores one word per
/// evaluator and epoch, whatever the number of scores: committing a score on chain one by one would cost
/// two storage writes per score (docs/contracts.md). `evaluatorsPerReceipt` is PoQ's k: how many
/// evaluators the protocol draws to score each receipt (networkEpoch.ts sampleEvaluators). The chain
/// does not draw them (a reveal may name any receipt); it fixes k so that every evaluator scores the
/// receipts it is drawn for and the settler counts the same draw, without agreeing on it off chain.
contract ScoreCommits {
    Registry public immutable registry;
    uint64 public immutable genesis;
    uint64 public immutable epochSeconds;
    uint64 public immutable commitSeconds;
    uint64 public immutable revealSeconds;
    uint16 public immutable evaluatorsPerReceipt;

    /// @dev 0: none; 1: revealed; anything else: the commitment.
    mapping(uint64 epoch => mapping(address evaluator => bytes32)) public commitments;

    uint256 public constant SCORE_BYTES = 10;
    bytes32 internal constant REVEALED = bytes32(uint256(1));

    event ScoresCommitted(uint64 indexed epoch, address indexed evaluator, bytes32 commitment);
    event ScoresRevealed(uint64 indexed epoch, address indexed evaluator, bytes32 scoresHash, uint256 count);

    error NotEvaluator(address who);
    error PhaseClosed(uint64 epoch, uint64 opens, uint64 closes);
    error CommitmentInvalid();
    error CommittedAlready(uint64 epoch);
    error NothingCommitted(uint64 epoch);
    error RevealedAlready(uint64 epoch);
    error RevealMismatch(bytes32 expected, bytes32 got);
    error ScoresMalformed(string why);

    constructor(
        Registry registry_,
        uint64 epochSeconds_,
        uint64 commitSeconds_,
        uint64 revealSeconds_,
        uint16 evaluatorsPerReceipt_
    ) {
        require(epochSeconds_ > 0 && commitSeconds_ > 0 && revealSeconds_ > 0, "bad phases");
        require(evaluatorsPerReceipt_ >= 1 && evaluatorsPerReceipt_ <= 1000, "bad evaluators per receipt");
        registry = registry_;
        genesis = uint64(block.timestamp);
        epochSeconds = epochSeconds_;
        commitSeconds = commitSeconds_;
        revealSeconds = revealSeconds_;
        evaluatorsPerReceipt = evaluatorsPerReceipt_;
    }

    /// @notice The epoch a timestamp falls in.
    function epochAt(uint256 time) public view returns (uint64) {
        return uint64((time - genesis) / epochSeconds);
    }

    /// @notice When epoch e ends: its commit phase opens.
    function epochEnd(uint64 e) public view returns (uint64) {
        return genesis + (e + 1) * epochSeconds;
    }

    /// @notice The hash an evaluator commits to.
    function commitmentOf(uint64 e, address evaluator, bytes calldata scores, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(e, evaluator, keccak256(scores), salt));
    }

    /// @notice Commits the caller's scores of epoch e.
    function commit(uint64 e, bytes32 commitment) external {
        (, Registry.Role role,,,,) = registry.participant(msg.sender);
        if (role != Registry.Role.Evaluator || !registry.isActive(msg.sender)) revert NotEvaluator(msg.sender);
        uint64 opens = epochEnd(e);
        _during(e, opens, opens + commitSeconds);
        if (commitment == bytes32(0) || commitment == REVEALED) revert CommitmentInvalid();
        if (commitments[e][msg.sender] != bytes32(0)) revert CommittedAlready(e);
        commitments[e][msg.sender] = commitment;
        emit ScoresCommitted(e, msg.sender, commitment);
    }

    /// @notice Reveals the caller's committed scores of epoch e (read from this call's calldata).
    function reveal(uint64 e, bytes calldata scores, bytes32 salt) external {
        uint64 opens = epochEnd(e) + commitSeconds;
        _during(e, opens, opens + revealSeconds);
        bytes32 c = commitments[e][msg.sender];
        if (c == bytes32(0)) revert NothingCommitted(e);
        if (c == REVEALED) revert RevealedAlready(e);
        bytes32 got = commitmentOf(e, msg.sender, scores, salt);
        if (got != c) revert RevealMismatch(c, got);
        // Only the length is checked here: reading every score would cost ~440 gas each, and whoever
        // settles decodes them anyway (networkEpoch.ts decodeScores refuses a score above 10.00 or a
        // receipt scored twice, and such a reveal counts for nothing).
        if (scores.length % SCORE_BYTES != 0) revert ScoresMalformed("not a whole number of 10-byte scores");
        commitments[e][msg.sender] = REVEALED;
        emit ScoresRevealed(e, msg.sender, keccak256(scores), scores.length / SCORE_BYTES);
    }

    function _during(uint64 e, uint64 opens, uint64 closes) internal view {
        if (block.timestamp < opens || block.timestamp >= closes) revert PhaseClosed(e, opens, closes);
    }
}
