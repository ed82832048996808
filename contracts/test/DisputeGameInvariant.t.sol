// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DisputeGame} from "../src/DisputeGame.sol";
import {Receipts} from "../src/Receipts.sol";
import {DisputeGameFixture} from "./DisputeGame.t.sol";
import {GameClaims} from "./utils/GameClaims.sol";
import {Vm} from "./utils/Test.sol";

/// @notice Griefers against an honest worker: random attacks on the worker's (correct) dissected nodes,
/// time passing, resolution in random slices and withdrawals — the worker answering with its solver's
/// moves (dissect what it agrees with, prove the leaves) within its clock. The handler is every party's
/// view of the game: the claims its events carried (GameClaims).
contract GriefHandler is GameClaims {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    DisputeGame internal immutable game;
    uint256 internal immutable g;
    address internal immutable operator;
    address internal immutable griefer;
    bytes32[][] internal tree;
    /// @dev Bonds posted and credits withdrawn, per party (0 operator, 1 griefer).
    uint256[2] public posted;
    uint256[2] public withdrawn;

    /// @dev Collects the opening claims from the events recorded when the game was opened.
    constructor(DisputeGame game_, uint256 g_, address operator_, address griefer_, uint256 rootBond) {
        game = game_;
        g = g_;
        operator = operator_;
        griefer = griefer_;
        posted[1] = rootBond;
        collect(game_);
    }

    /// @notice The worker's honest tree, level by level (leaves first).
    function addLevel(bytes32[] memory level) external {
        tree.push(level);
    }

    function resolved() public view returns (bool) {
        return gameWord(game, g, 13) != 0;
    }

    function rootCountered() public view returns (bool) {
        return gameWord(game, g, 14) != 0;
    }

    /// @notice The honest worker's solver: dissect or prove every open attack on a value of its tree.
    function defend() public {
        if (resolved()) return;
        uint256 n = claimsOf[g].length;
        for (uint256 i = 1; i < n; i++) {
            DisputeGame.Claim memory c = claimsOf[g][i];
            (, bool answered,,) = game.claimState(g, i);
            if (c.kind != DisputeGame.Kind.Attack || answered || block.timestamp > c.deadline) continue;
            if (c.value != tree[c.height][c.index]) continue;
            if (c.height == 0) {
                vm.prank(operator);
                game.oneStep(g, i, c, "");
            } else {
                uint256 bond = game.dissectBond();
                bytes32[] memory children = childrenOf(c.height, c.index);
                record();
                vm.prank(operator); // applies to the next call only: everything it needs is read first
                game.dissect{value: bond}(g, i, c, children);
                collect(game);
                posted[0] += bond;
            }
        }
    }

    function childrenOf(uint8 height, uint64 index) internal view returns (bytes32[] memory c) {
        c = new bytes32[](2);
        c[0] = tree[height - 1][2 * index];
        c[1] = tree[height - 1][2 * index + 1];
    }

    /// @notice A griefer attacks a (correct) child of an open dissection; the worker answers at once.
    function grief(uint256 pick, uint256 childPick) external {
        if (resolved()) return;
        uint256 n = claimsOf[g].length;
        uint256 d = 1 + pick % n;
        if (d >= n) return;
        DisputeGame.Claim memory c = claimsOf[g][d];
        uint16 child = uint16(childPick % 2);
        if (c.kind != DisputeGame.Kind.Dissect || block.timestamp > c.deadline) return;
        (uint16 attacked,,,) = game.claimState(g, d);
        if (attacked & (uint16(1) << child) != 0) return;
        uint256 bond = c.childHeight == 0 ? game.attackLeafBond() : game.attackNodeBond();
        bytes32[] memory children = childrenOf(c.height, c.index);
        bytes32[] memory proof = pathOf(children, child);
        record();
        vm.prank(griefer);
        game.attack{value: bond}(g, d, c, child, children[child], proof);
        collect(game);
        posted[1] += bond;
        defend();
    }

    function wait(uint256 seconds_) external {
        defend();
        vm.warp(block.timestamp + (seconds_ % 4 minutes));
        defend();
    }

    /// @notice Lets every clock run out — only after some griefing, so that runs resolve deep games too.
    function waitOut() external {
        if (posted[1] < game.attackLeafBond()) return;
        vm.warp(gameWord(game, g, 10) + 1);
    }

    /// @dev The most gas one resolution slice used per claim it resolved (resolution is sliced so that
    /// no game can become too big to resolve).
    uint256 public maxResolveGasPerClaim;

    function resolve(uint256 slice) external {
        if (resolved() || block.timestamp <= gameWord(game, g, 10)) return;
        DisputeGame.Claim[] memory next = nextSlice(game, g, 1 + (slice % 4));
        uint256 before = gasleft();
        game.resolve(g, next);
        uint256 used = (before - gasleft()) / (next.length == 0 ? 1 : next.length);
        if (used > maxResolveGasPerClaim) maxResolveGasPerClaim = used;
    }

    function withdraw(bool byOperator) external {
        address who = byOperator ? operator : griefer;
        uint256 credit = game.credits(who);
        vm.prank(who);
        game.withdraw();
        withdrawn[byOperator ? 0 : 1] += credit;
    }
}

contract DisputeGameInvariantTest is DisputeGameFixture {
    GriefHandler internal handler;
    uint256 internal stakeBefore;

    function setUp() public override {
        super.setUp();
        handler = new GriefHandler(game, openGriefedGame(), operator, griefer, NODE_BOND);
        for (uint256 h = 0; h < honest.length; h++) handler.addLevel(honest[h]);
        // Bonds are paid by the pranked sender: enough for every attack and dissection of a run.
        vm.deal(operator, 10_000 ether);
        vm.deal(griefer, 10_000 ether);
        handler.defend();
        stakeBefore = registry.atRisk(worker);
    }

    /// @dev A griefer challenges the honest worker's receipt.
    function openGriefedGame() internal returns (uint256) {
        (Receipts.Receipt memory r, bytes memory sig) = postReceipt(honest);
        record(); // the handler collects the opening claims
        vm.prank(griefer);
        return game.challenge{value: NODE_BOND}(0, 0, r, sig, new bytes32[](0));
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @notice No bond is created or lost: the game holds exactly what was posted and not withdrawn, and
    /// every credit is backed.
    function invariant_bondsAreConserved() public view {
        uint256 held = address(game).balance;
        assertEq(held, handler.posted(0) + handler.posted(1) - handler.withdrawn(0) - handler.withdrawn(1), "ledger");
        assertTrue(game.credits(operator) + game.credits(griefer) <= held, "credits backed");
    }

    /// @notice Resolution gas is bounded per claim, whatever the game's size: a slice of k claims costs at
    /// most k × 100k, the root's slice included (it also settles the rollup; measured: 50–70k per claim).
    function invariant_resolutionGasIsBoundedPerClaim() public view {
        assertTrue(handler.maxResolveGasPerClaim() <= 100_000, "resolution gas per claim");
    }

    /// @notice The honest worker never loses: its root stands, its stake is untouched, and once the game
    /// is resolved nothing is stuck and it has got back at least every bond it posted.
    function invariant_theHonestWorkerNeverLosesAndIsPaid() public view {
        assertTrue(!handler.rootCountered(), "root stands");
        assertEq(registry.atRisk(worker), stakeBefore, "no slash");
        if (!handler.resolved()) return;
        assertEq(game.credits(operator) + game.credits(griefer), address(game).balance, "nothing stuck");
        assertEq(game.credits(griefer) + handler.withdrawn(1), 0, "griefers get nothing back");
        assertTrue(game.credits(operator) + handler.withdrawn(0) >= handler.posted(0), "the worker is made whole");
    }
}
