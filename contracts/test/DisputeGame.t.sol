// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DisputeGame, IStepVerifier} from "../src/DisputeGame.sol";
import {Receipts} from "../src/Receipts.sol";
import {Rollup} from "../src/Rollup.sol";
import {RollupFixture} from "./Rollup.t.sol";

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
abstract contract DisputeGameFixture is RollupFixture {
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
        game = new DisputeGame(
            registry,
            rollup,
            oracle,
            DisputeGame.Params(1, CLOCK, 5 minutes, 20 minutes, NODE_BOND, LEAF_BOND, DISSECT_BOND, 5 ether, 5_000)
        );
        rollup.setDisputeGame(address(game));
        registry.setSlasher(address(game), true);
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
    function postReceipt(bytes32[][] storage tree)
        internal
        returns (Receipts.Receipt memory r, bytes memory sig)
    {
        r.version = 1;
        r.requestId = keccak256("request");
        r.worker = worker;
        r.modelId = MODEL;
        r.weightsHash = WEIGHTS;
        r.engineHash = ENGINE;
        r.traceRoot = tree[3][0];
        r.inputTokens = 1;
        r.outputTokens = 2;
        r.sequence = 1;
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

}

contract DisputeGameTest is DisputeGameFixture {
    function test_aCheatingWorkerLosesItsStakeToAnHonestChallenger() public {
        (Receipts.Receipt memory r, bytes memory sig) = postReceipt(cheat);
        vm.prank(challenger);
        uint256 g = game.challenge{value: NODE_BOND}(0, 0, r, sig, new bytes32[](0));
        assertTrue(rollup.status(0, 0) == Rollup.Status.Disputed, "disputed");
        // Bisect: the cheat reveals its children; the challenger attacks the leftmost that differs from its own.
        uint256 a = 1;
        uint64 index = 0;
        for (uint8 h = 3; h >= 1; h--) {
            bytes32[] memory revealed = children(cheat, h, index);
            vm.prank(operator);
            uint256 d = game.dissect{value: DISSECT_BOND}(g, a, revealed);
            uint16 child = revealed[0] != honest[h - 1][2 * index] ? 0 : 1;
            vm.prank(challenger);
            a = game.attack{value: h == 1 ? LEAF_BOND : NODE_BOND}(g, d, child, revealed);
            index = 2 * index + child;
        }
        assertEq(index, 5, "the first wrong leaf");
        // The cheat cannot answer with a one-step check: the correct leaf is not what it committed.
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.DisputeStepNotCountered.selector, honest[0][5], cheat[0][5]));
        game.oneStep(g, a, "");
        vm.expectRevert();
        game.resolve(g, 100);
        vm.warp(block.timestamp + 1 hours);
        uint256 before = token.balanceOf(challenger);
        game.resolve(g, 2);
        game.resolve(g, 100);
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
        vm.prank(griefer);
        uint256 g = game.challenge{value: NODE_BOND}(0, 0, r, sig, new bytes32[](0));
        uint256 a = 1;
        uint64 index = 0;
        for (uint8 h = 3; h >= 1; h--) {
            bytes32[] memory revealed = children(honest, h, index);
            vm.prank(operator);
            uint256 d = game.dissect{value: DISSECT_BOND}(g, a, revealed);
            vm.prank(griefer);
            a = game.attack{value: h == 1 ? LEAF_BOND : NODE_BOND}(g, d, 1, revealed);
            index = 2 * index + 1;
            // Attacking the same child twice is refused.
            vm.prank(griefer);
            vm.expectRevert(abi.encodeWithSelector(DisputeGame.DisputeDuplicate.selector, d));
            game.attack{value: h == 1 ? LEAF_BOND : NODE_BOND}(g, d, 1, revealed);
        }
        // Anyone holding the honest trace answers the leaf attack.
        game.oneStep(g, a, "");
        vm.warp(block.timestamp + 2 hours);
        game.resolve(g, 100);
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

    function test_movesAreBondedClockedAndChecked() public {
        (Receipts.Receipt memory r, bytes memory sig) = postReceipt(cheat);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.BondWrong.selector, 0, NODE_BOND));
        game.challenge(0, 0, r, sig, new bytes32[](0));
        vm.prank(challenger);
        uint256 g = game.challenge{value: NODE_BOND}(0, 0, r, sig, new bytes32[](0));
        // The receipt cannot be disputed twice.
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChallengeWindowClosed.selector, Rollup.Status.Disputed));
        game.challenge{value: NODE_BOND}(0, 0, r, sig, new bytes32[](0));
        bytes32[] memory wrong = children(honest, 3, 0);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.DisputeMoveInvalid.selector, "the children do not hash to the attacked value"));
        game.dissect{value: DISSECT_BOND}(g, 1, wrong);
        // Past the attack's deadline (the defender's 30-minute clock), no answer is accepted.
        vm.warp(block.timestamp + CLOCK + 1);
        vm.prank(operator);
        vm.expectPartialRevert(DisputeGame.DisputeTooLate.selector);
        game.dissect{value: DISSECT_BOND}(g, 1, children(cheat, 3, 0));
        game.resolve(g, 100);
        assertTrue(game.game(g).rootCountered, "an unanswered attack counters the root");
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.AlreadyResolved.selector));
        game.resolve(g, 100);
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
        vm.prank(address(claimant));
        uint256 g = game.challenge{value: NODE_BOND}(0, 0, r, sig, new bytes32[](0));
        // The worker never answers: the attack on the root stands and its bond is refunded.
        vm.warp(block.timestamp + 1 hours);
        game.resolve(g, 100);
        assertEq(game.credits(address(claimant)), NODE_BOND, "credited");
        uint256 held = address(game).balance;
        claimant.withdraw();
        assertEq(claimant.received(), NODE_BOND, "paid once");
        assertTrue(claimant.reentryBlocked(), "the reentrant withdraw was refused");
        assertEq(game.credits(address(claimant)), 0, "credit spent");
        assertEq(held - address(game).balance, NODE_BOND, "nothing else left the game");
    }
}

