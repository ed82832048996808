// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DisputeGame, IStepVerifier} from "../src/DisputeGame.sol";
import {Receipts} from "../src/Receipts.sol";
import {Rollup} from "../src/Rollup.sol";
import {RollupFixture} from "./Rollup.t.sol";
import {GameClaims} from "./utils/GameClaims.sol";

/// @notice The one-step check's stand-in for these game tests: it knows the honest trace's leaves (as
/// the simulator's oracle does). The game is what is under test here; the real executor replaces it.
contract OracleStepVerifier is IStepVerifier {
    mapping(uint256 => bytes32) public leaves;

    function set(uint256 i, bytes32 leaf) external {
        leaves[i] = leaf;
    }

    function correctLeaf(DisputeGame.Subject calldata, uint256 index, bytes calldata) external view returns (bytes32) {
        return leaves[index];
    }
}

/// @dev The game, its rollup and registry, an 8-leaf honest trace and a cheat's, and the players.
abstract contract DisputeGameFixture is RollupFixture, GameClaims {
    DisputeGame internal game;
    OracleStepVerifier internal oracle;
    address internal challenger = address(0xC4A1);
    address internal griefer = address(0x6E1F);
    uint256 internal constant NODE_BOND = 0.02 ether;
    uint256 internal constant LEAF_BOND = 0.24 ether;
    uint256 internal constant DISSECT_BOND = 0.0096 ether;
    uint32 internal constant CLOCK = 30 minutes;
    // 4 steps per position, 1 prompt token, 2 output tokens: 8 leaves, depth 3, binary dissection.
    uint256 internal constant LEAVES = 8;

    bytes32[][] internal honest;
    bytes32[][] internal cheat;

    function setUp() public virtual override {
        super.setUp();
        // The fixture registered MODEL with STEPS = 100 steps per position; this test's model has 4.
        bytes32[] memory engines = new bytes32[](1);
        engines[0] = ENGINE;
        registry.registerModel(MODEL, WEIGHTS, 4, 8, engines);
        oracle = new OracleStepVerifier();
        deployGame(1);
        bytes32[] memory h = new bytes32[](LEAVES);
        bytes32[] memory b = new bytes32[](LEAVES);
        for (uint256 i = 0; i < LEAVES; i++) {
            h[i] = keccak256(abi.encode("leaf", i));
            b[i] = i < 5 ? h[i] : keccak256(abi.encode("bad", i));
            oracle.set(i, h[i]);
        }
        _build(honest, h);
        _build(cheat, b);
        vm.deal(challenger, 10 ether);
        vm.deal(griefer, 10 ether);
        vm.deal(operator, 10 ether);
    }

    /// @dev A game of arity 2^arityLog2 over the oracle, made the rollup's dispute game and a slasher.
    function deployGame(uint8 arityLog2) internal {
        game = new DisputeGame(
            registry,
            rollup,
            oracle,
            DisputeGame.Params(arityLog2, CLOCK, 5 minutes, 20 minutes, NODE_BOND, LEAF_BOND, DISSECT_BOND, 5 ether, 5_000)
        );
        rollup.setDisputeGame(address(game));
        registry.setSlasher(address(game), true);
    }

    function _build(bytes32[][] storage t, bytes32[] memory leaves) internal {
        t.push(leaves);
        while (t[t.length - 1].length > 1) {
            bytes32[] storage below = t[t.length - 1];
            bytes32[] memory above = new bytes32[](below.length / 2);
            for (uint256 i = 0; i < above.length; i++) {
                above[i] = keccak256(abi.encodePacked(below[2 * i], below[2 * i + 1]));
            }
            t.push(above);
        }
    }

    /// @dev Posts a batch holding one receipt whose trace root is `tree`'s, and returns it.
    function postReceipt(bytes32[][] storage tree) internal returns (Receipts.Receipt memory r, bytes memory sig) {
        return postReceiptSignedAt(tree, uint64(block.timestamp) * 1000);
    }

    /// @dev The same, with the receipt signed at `timestampMs`.
    function postReceiptSignedAt(bytes32[][] storage tree, uint64 timestampMs)
        internal
        returns (Receipts.Receipt memory r, bytes memory sig)
    {
        r.version = 1;
        r.requestId = keccak256("request");
        r.worker = worker;
        r.modelId = MODEL;
        r.weightsHash = WEIGHTS;
        r.engineHash = ENGINE;
        r.traceRoot = tree[tree.length - 1][0];
        r.inputTokens = 1;
        r.outputTokens = 2;
        r.sequence = 1;
        r.timestamp = timestampMs;
        r.attestationHash = EVIDENCE;
        bytes32 digest = Receipts.digest(r, rollup.domainSeparator());
        sig = signed(WORKER_KEY, digest);
        vm.prank(sequencer);
        rollup.postBatch(0, Receipts.leaf(0, digest, sig), 1, "");
    }

    function children(bytes32[][] storage tree, uint8 height, uint64 index) internal view returns (bytes32[] memory c) {
        c = new bytes32[](2);
        c[0] = tree[height - 1][2 * index];
        c[1] = tree[height - 1][2 * index + 1];
    }

    /// @dev The moves, made by `who` with the claims the game's events gave.
    function open(address who, Receipts.Receipt memory r, bytes memory sig) internal returns (uint256 g) {
        record();
        vm.prank(who);
        g = game.challenge{value: NODE_BOND}(0, 0, r, sig, new bytes32[](0));
        collect(game);
    }

    function dissect(address who, uint256 g, uint256 a, bytes32[] memory revealed) internal returns (uint256 d) {
        DisputeGame.Claim memory c = claimsOf[g][a];
        record();
        vm.prank(who);
        d = game.dissect{value: DISSECT_BOND}(g, a, c, revealed);
        collect(game);
    }

    function attack(address who, uint256 g, uint256 d, uint16 child, bytes32[] memory revealed, uint256 bond)
        internal
        returns (uint256 a)
    {
        DisputeGame.Claim memory c = claimsOf[g][d];
        bytes32[] memory proof = pathOf(revealed, child);
        record();
        vm.prank(who);
        a = game.attack{value: bond}(g, d, c, child, revealed[child], proof);
        collect(game);
    }

    function resolveNext(uint256 g, uint256 n) internal {
        game.resolve(g, nextSlice(game, g, n));
    }
}

contract DisputeGameTest is DisputeGameFixture {
    function test_aCheatingWorkerLosesItsStakeToAnHonestChallenger() public {
        (Receipts.Receipt memory r, bytes memory sig) = postReceipt(cheat);
        uint256 g = open(challenger, r, sig);
        assertTrue(rollup.status(0, 0) == Rollup.Status.Disputed, "disputed");
        // Bisect: the cheat reveals its children; the challenger attacks the leftmost that differs from its own.
        uint256 a = 1;
        uint64 index = 0;
        for (uint8 h = 3; h >= 1; h--) {
            bytes32[] memory revealed = children(cheat, h, index);
            uint256 d = dissect(operator, g, a, revealed);
            uint16 child = revealed[0] != honest[h - 1][2 * index] ? 0 : 1;
            a = attack(challenger, g, d, child, revealed, h == 1 ? LEAF_BOND : NODE_BOND);
            index = 2 * index + child;
        }
        assertEq(index, 5, "the first wrong leaf");
        // The cheat cannot answer with a one-step check: the correct leaf is not what it committed.
        DisputeGame.Claim memory leafAttack = claimsOf[g][a];
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.DisputeStepNotCountered.selector, honest[0][5], cheat[0][5]));
        game.oneStep(g, a, leafAttack, "");
        DisputeGame.Claim[] memory slice = nextSlice(game, g, 100);
        vm.expectPartialRevert(DisputeGame.NotResolvableYet.selector);
        game.resolve(g, slice);
        vm.warp(block.timestamp + 1 hours);
        uint256 before = token.balanceOf(challenger);
        resolveNext(g, 2);
        resolveNext(g, 100);
        assertTrue(game.game(g).rootCountered, "root countered");
        assertTrue(rollup.status(0, 0) == Rollup.Status.Voided, "voided");
        assertEq(registry.atRisk(worker), MIN - 5 ether, "worker slashed");
        assertEq(token.balanceOf(challenger) - before, 2.5 ether, "challenger's share");
        // Bonds: the challenger's attacks stand (refunded) and it wins the cheat's dissection bonds.
        assertEq(game.credits(challenger), NODE_BOND * 3 + LEAF_BOND + DISSECT_BOND * 3, "challenger credits");
        assertEq(game.credits(operator), 0, "the cheat gets nothing back");
        uint256 eth = challenger.balance;
        vm.prank(challenger);
        game.withdraw();
        assertEq(challenger.balance - eth, NODE_BOND * 3 + LEAF_BOND + DISSECT_BOND * 3, "withdrawn");
    }

    function test_anHonestWorkerDefeatsAGrieferAndKeepsItsStake() public {
        (Receipts.Receipt memory r, bytes memory sig) = postReceipt(honest);
        uint256 g = open(griefer, r, sig);
        uint256 a = 1;
        uint64 index = 0;
        for (uint8 h = 3; h >= 1; h--) {
            bytes32[] memory revealed = children(honest, h, index);
            uint256 d = dissect(operator, g, a, revealed);
            a = attack(griefer, g, d, 1, revealed, h == 1 ? LEAF_BOND : NODE_BOND);
            index = 2 * index + 1;
            // Attacking the same child twice is refused.
            DisputeGame.Claim memory dissection = claimsOf[g][d];
            bytes32[] memory proof = pathOf(revealed, 1);
            vm.prank(griefer);
            vm.expectRevert(abi.encodeWithSelector(DisputeGame.DisputeDuplicate.selector, d));
            game.attack{value: h == 1 ? LEAF_BOND : NODE_BOND}(g, d, dissection, 1, revealed[1], proof);
        }
        // Anyone holding the honest trace answers the leaf attack.
        game.oneStep(g, a, claimsOf[g][a], "");
        vm.warp(block.timestamp + 2 hours);
        resolveNext(g, 100);
        assertTrue(!game.game(g).rootCountered, "root stands");
        assertTrue(rollup.status(0, 0) == Rollup.Status.Final, "final again");
        assertEq(registry.atRisk(worker), MIN, "stake intact");
        // The defender's dissection bonds come back with the griefer's node attack bonds; the leaf
        // attack's bond goes to whoever submitted the one-step check (this test contract).
        assertEq(game.credits(operator), DISSECT_BOND * 3 + NODE_BOND * 3, "defender credits");
        assertEq(game.credits(address(this)), LEAF_BOND, "one-step submitter");
        assertEq(game.credits(griefer), 0, "the griefer loses every bond");
    }

    function test_aReceiptLongerThanTheModelsDisputableTraceCannotBeChallenged() public {
        registry.registerModel(MODEL, WEIGHTS, 4, 1, new bytes32[](0)); // one position at most
        (Receipts.Receipt memory r, bytes memory sig) = postReceipt(cheat); // two positions
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.DisputeTooLong.selector, uint64(2), uint32(1)));
        game.challenge{value: NODE_BOND}(0, 0, r, sig, new bytes32[](0));
    }

    function test_aReceiptPostedPastItsMaximumAgeCannotBeChallenged() public {
        uint64 tooEarly = (uint64(block.timestamp) - MAX_AGE) * 1000 - 1; // a millisecond before the bound
        (Receipts.Receipt memory r, bytes memory sig) = postReceiptSignedAt(cheat, tooEarly);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ReceiptStale.selector, uint64(0), r.timestamp));
        game.challenge{value: NODE_BOND}(0, 0, r, sig, new bytes32[](0));
    }

    function test_movesAreBondedClockedAndChecked() public {
        (Receipts.Receipt memory r, bytes memory sig) = postReceipt(cheat);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.BondWrong.selector, 0, NODE_BOND));
        game.challenge(0, 0, r, sig, new bytes32[](0));
        uint256 g = open(challenger, r, sig);
        // The receipt cannot be disputed twice.
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChallengeWindowClosed.selector, Rollup.Status.Disputed));
        game.challenge{value: NODE_BOND}(0, 0, r, sig, new bytes32[](0));
        DisputeGame.Claim memory rootAttack = claimsOf[g][1];
        bytes32[] memory wrong = children(honest, 3, 0);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.DisputeMoveInvalid.selector, "the children do not hash to the attacked value"));
        game.dissect{value: DISSECT_BOND}(g, 1, rootAttack, wrong);
        // Past the attack's deadline (the defender's 30-minute clock), no answer is accepted.
        vm.warp(block.timestamp + CLOCK + 1);
        vm.prank(operator);
        vm.expectPartialRevert(DisputeGame.DisputeTooLate.selector);
        game.dissect{value: DISSECT_BOND}(g, 1, rootAttack, children(cheat, 3, 0));
        resolveNext(g, 100);
        assertTrue(game.game(g).rootCountered, "an unanswered attack counters the root");
        DisputeGame.Claim[] memory none = new DisputeGame.Claim[](0);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.AlreadyResolved.selector));
        game.resolve(g, none);
    }

    /// @dev The game keeps only each claim's hash: a claim passed with any field changed is refused, so
    /// no one can lengthen a deadline, take over a claimant or move a claim's index.
    function test_claimsPassedBackMustBeTheOnesTheGameCommittedTo() public {
        (Receipts.Receipt memory r, bytes memory sig) = postReceipt(cheat);
        uint256 g = open(challenger, r, sig);
        bytes32[] memory revealed = children(cheat, 3, 0);
        DisputeGame.Claim memory forged = claimsOf[g][1];
        forged.deadline += 1 days;
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClaimMismatch.selector, 1));
        game.dissect{value: DISSECT_BOND}(g, 1, forged, revealed);
        forged = claimsOf[g][1];
        forged.claimant = operator;
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClaimMismatch.selector, 1));
        game.dissect{value: DISSECT_BOND}(g, 1, forged, revealed);
        // A claim the game never made, and a game that does not exist.
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClaimUnknown.selector, 7));
        game.dissect{value: DISSECT_BOND}(g, 7, forged, revealed);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.GameUnknown.selector, 9));
        game.dissect{value: DISSECT_BOND}(9, 1, forged, revealed);
        uint256 d = dissect(operator, g, 1, revealed);
        // An attack must prove its value is the dissection's child, at that child's place.
        DisputeGame.Claim memory dissection = claimsOf[g][d];
        bytes32[] memory proof = pathOf(revealed, 1);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.DisputeMoveInvalid.selector, "the value is not the dissection's child"));
        game.attack{value: NODE_BOND}(g, d, dissection, 0, revealed[1], proof);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.DisputeMoveInvalid.selector, "the value is not the dissection's child"));
        game.attack{value: NODE_BOND}(g, d, dissection, 1, honest[2][1], proof);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.DisputeMoveInvalid.selector, "no such child"));
        game.attack{value: NODE_BOND}(g, d, dissection, 2, revealed[1], proof);
        // Resolution takes the claims from the last down: a slice out of that order is refused.
        vm.warp(block.timestamp + 2 hours);
        DisputeGame.Claim[] memory outOfOrder = new DisputeGame.Claim[](1);
        outOfOrder[0] = claimsOf[g][1];
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClaimMismatch.selector, 2));
        game.resolve(g, outOfOrder);
        resolveNext(g, 100);
        assertTrue(!game.game(g).rootCountered, "the dissection answered the attack on the root: root kept");
    }
}

/// @dev A claimant whose receive() tries to withdraw again.
contract ReentrantClaimant {
    DisputeGame internal immutable game;
    uint256 public received;
    bool public reentryBlocked;

    constructor(DisputeGame game_) {
        game = game_;
    }

    function withdraw() external {
        game.withdraw();
    }

    receive() external payable {
        received += msg.value;
        try game.withdraw() {} catch {
            reentryBlocked = true;
        }
    }
}

contract DisputeGameReentrancyTest is DisputeGameFixture {
    function test_aClaimantCannotReenterWithdraw() public {
        ReentrantClaimant claimant = new ReentrantClaimant(game);
        vm.deal(address(claimant), 1 ether);
        (Receipts.Receipt memory r, bytes memory sig) = postReceipt(cheat);
        uint256 g = open(address(claimant), r, sig);
        // The worker never answers: the attack on the root stands and its bond is refunded.
        vm.warp(block.timestamp + 1 hours);
        resolveNext(g, 100);
        assertEq(game.credits(address(claimant)), NODE_BOND, "credited");
        uint256 held = address(game).balance;
        claimant.withdraw();
        assertEq(claimant.received(), NODE_BOND, "paid once");
        assertTrue(claimant.reentryBlocked(), "the reentrant withdraw was refused");
        assertEq(game.credits(address(claimant)), 0, "credit spent");
        assertEq(held - address(game).balance, NODE_BOND, "nothing else left the game");
    }
}


/// @dev The protocol's 16-ary dissection (arity 16 is what the spec's parameters use): a 16-leaf trace
/// (two positions of eight steps) dissected at once into its leaves — which puts the 16-child moves, the
/// largest, in the gas report.
contract DisputeGameSixteenTest is DisputeGameFixture {
    bytes32[][] internal wide;

    function setUp() public override {
        super.setUp();
        deployGame(4);
        bytes32[] memory engines = new bytes32[](1);
        engines[0] = ENGINE;
        registry.registerModel(MODEL, WEIGHTS, 8, 8, engines);
        bytes32[] memory leaves = new bytes32[](16);
        for (uint256 i = 0; i < 16; i++) {
            bytes32 correct = keccak256(abi.encode("wide leaf", i));
            leaves[i] = i == 7 ? keccak256("bad") : correct;
            oracle.set(i, correct);
        }
        _build(wide, leaves);
    }

    function test_aSixteenWayDissectionAndAnAttackOnOneOfItsLeaves() public {
        (Receipts.Receipt memory r, bytes memory sig) = postReceipt(wide);
        uint256 g = open(challenger, r, sig);
        uint256 d = dissect(operator, g, 1, wide[0]);
        uint256 a = attack(challenger, g, d, 7, wide[0], LEAF_BOND);
        DisputeGame.Claim memory leafAttack = claimsOf[g][a];
        assertEq(leafAttack.index, 7, "the attacked leaf");
        vm.prank(operator);
        vm.expectPartialRevert(DisputeGame.DisputeStepNotCountered.selector);
        game.oneStep(g, a, leafAttack, "");
        vm.warp(block.timestamp + 1 hours);
        resolveNext(g, 100);
        assertTrue(game.game(g).rootCountered, "the cheat's root is countered");
    }
}
