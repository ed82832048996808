// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DisputeGame} from "../src/DisputeGame.sol";
import {Receipts} from "../src/Receipts.sol";
import {DisputeGameFixture} from "./DisputeGame.t.sol";
import {Vm} from "./utils/Test.sol";

/// @notice Griefers against an honest worker: random attacks on the worker's (correct) dissected nodes,
/// time passing, resolution in random slices and withdrawals — the worker answering with its solver's
/// moves (dissect what it agrees with, prove the leaves) within its clock.
contract GriefHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    DisputeGame internal immutable game;
    uint256 internal immutable g;
    address internal immutable operator;
    address internal immutable griefer;
    bytes32[][] internal tree;
    /// @dev Bonds posted and credits withdrawn, per party (0 operator, 1 griefer).
    uint256[2] public posted;
    uint256[2] public withdrawn;

    constructor(DisputeGame game_, uint256 g_, address operator_, address griefer_, uint256 rootBond) {
        game = game_;
        g = g_;
        operator = operator_;
        griefer = griefer_;
        posted[1] = rootBond;
    }

    /// @notice The worker's honest tree, level by level (leaves first).
    function addLevel(bytes32[] memory level) external {
        tree.push(level);
    }

    /// @dev The claim fields the solver reads. (Decoding the whole 15-field Claim is too deep for the
    /// legacy code generator, so the ABI words are read directly: a static struct is its fields in order.)
    struct ClaimView {
        DisputeGame.Kind kind;
        uint8 height;
        uint8 childHeight;
        uint16 attacked;
        uint40 deadline;
        bool answered;
        uint64 index;
        bytes32 value;
    }

    function claimAt(uint256 i) internal view returns (ClaimView memory c) {
        bytes memory w = abi.encode(0);
        (, w) = address(game).staticcall(abi.encodeWithSelector(DisputeGame.claim.selector, g, i));
        uint256[15] memory f;
        assembly ("memory-safe") {
            for { let k := 0 } lt(k, 15) { k := add(k, 1) } { mstore(add(f, mul(32, k)), mload(add(w, mul(32, add(k, 1))))) }
        }
        c.kind = DisputeGame.Kind(f[1]);
        c.height = uint8(f[2]);
        c.childHeight = uint8(f[3]);
        c.attacked = uint16(f[5]);
        c.deadline = uint40(f[7]);
        c.answered = f[10] != 0;
        c.index = uint64(f[13]);
        c.value = bytes32(f[14]);
    }

    /// @dev Word `k` of the ABI encoding of game(g) (Subject's nine words, depth, lastDeadline,
    /// unresolved, resolved, rootCountered).
    function gameWord(uint256 k) internal view returns (uint256 v) {
        (, bytes memory w) = address(game).staticcall(abi.encodeWithSelector(DisputeGame.game.selector, g));
        assembly ("memory-safe") {
            v := mload(add(w, mul(32, add(k, 1))))
        }
    }

    function resolved() public view returns (bool) {
        return gameWord(12) != 0;
    }

    function rootCountered() public view returns (bool) {
        return gameWord(13) != 0;
    }

    /// @notice The honest worker's solver: dissect or prove every open attack on a value of its tree.
    function defend() public {
        if (resolved()) return;
        uint256 n = game.claimCount(g);
        for (uint256 i = 1; i < n; i++) {
            ClaimView memory c = claimAt(i);
            if (c.kind != DisputeGame.Kind.Attack || c.answered || block.timestamp > c.deadline) continue;
            if (c.value != tree[c.height][c.index]) continue;
            if (c.height == 0) {
                vm.prank(operator);
                game.oneStep(g, i, "");
            } else {
                uint256 bond = game.dissectBond();
                bytes32[] memory children = childrenOf(c.height, c.index);
                vm.prank(operator); // applies to the next call only: everything it needs is read first
                game.dissect{value: bond}(g, i, children);
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
        uint256 n = game.claimCount(g);
        uint256 d = 1 + pick % n;
        if (d >= n) return;
        ClaimView memory c = claimAt(d);
        uint16 child = uint16(childPick % 2);
        if (c.kind != DisputeGame.Kind.Dissect || block.timestamp > c.deadline) return;
        if (c.attacked & (uint16(1) << child) != 0) return;
        uint256 bond = c.childHeight == 0 ? game.attackLeafBond() : game.attackNodeBond();
        bytes32[] memory children = childrenOf(c.height, c.index);
        vm.prank(griefer);
        game.attack{value: bond}(g, d, child, children);
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
        vm.warp(gameWord(10) + 1);
    }

    /// @dev The most gas one resolution slice used per claim it may resolve (resolution is sliced so that
    /// no game can become too big to resolve).
    uint256 public maxResolveGasPerClaim;

    function resolve(uint256 slice) external {
        if (resolved() || block.timestamp <= gameWord(10)) return;
        uint256 k = 1 + (slice % 4);
        uint256 before = gasleft();
        game.resolve(g, k);
        uint256 used = (before - gasleft()) / k;
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
