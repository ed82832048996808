// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "./utils/Test.sol";
import {Registry} from "../src/Registry.sol";
import {Receipts} from "../src/Receipts.sol";
import {VerinferToken} from "../src/VerinferToken.sol";

/// @notice Shared fixture: a token, a registry with one model, one attester, one staked worker.
abstract contract RegistryFixture is Test {
    VerinferToken internal token;
    Registry internal registry;
    uint256 internal constant ATTESTER_KEY = 0xA77E57;
    uint256 internal constant WORKER_KEY = 0xB0B;
    address internal attester;
    address internal worker;
    address internal operator = address(0x0900);
    address internal slasher = address(0x5145);
    bytes32 internal constant MODEL = keccak256("model");
    bytes32 internal constant WEIGHTS = keccak256("weights");
    bytes32 internal constant ENGINE = keccak256("engine");
    bytes32 internal constant EVIDENCE = keccak256("evidence");
    uint64 internal constant DELAY = 7 days;
    uint256 internal constant MIN = 10 ether;
    uint32 internal constant STEPS = 100;

    function setUp() public virtual {
        vm.warp(1_800_000_000);
        attester = vm.addr(ATTESTER_KEY);
        worker = vm.addr(WORKER_KEY);
        token = new VerinferToken(address(this));
        registry = new Registry(address(this), token, DELAY, [uint256(0), MIN, 1 ether, 1 ether]);
        bytes32[] memory engines = new bytes32[](1);
        engines[0] = ENGINE;
        registry.registerModel(MODEL, WEIGHTS, STEPS, type(uint32).max, engines);
        registry.setAttester(attester, true);
        registry.setSlasher(slasher, true);
        token.mint(operator, 1_000 ether);
        vm.prank(operator);
        token.approve(address(registry), type(uint256).max);
    }

    function attestation(address w, address op, bytes32 evidence, uint64 expiresAt) internal view returns (bytes memory) {
        return signed(ATTESTER_KEY, registry.attestationDigest(w, op, MODEL, evidence, expiresAt));
    }

    function registerWorker(uint256 stake) internal {
        uint64 until = uint64(block.timestamp + 30 days);
        vm.startPrank(operator);
        registry.registerWorker(worker, MODEL, EVIDENCE, until, attestation(worker, operator, EVIDENCE, until));
        if (stake > 0) registry.deposit(worker, stake);
        vm.stopPrank();
    }
}

contract RegistryTest is RegistryFixture {
    function test_registersAnAttestedWorkerAndStakes() public {
        registerWorker(MIN);
        (address op, Registry.Role role, bytes32 model, bytes32 evidence,, uint256 active) = registry.participant(worker);
        assertEq(op, operator, "operator");
        assertTrue(role == Registry.Role.Worker, "role");
        assertEq(model, MODEL, "model");
        assertEq(evidence, EVIDENCE, "evidence");
        assertEq(active, MIN, "active");
        assertTrue(registry.isActive(worker), "active worker");
        assertEq(token.balanceOf(address(registry)), MIN, "held");
    }

    function test_refusesAnUnknownAttesterAnExpiredVerdictAndTwoRegistrations() public {
        // Signatures first: computing them calls the registry, which would use up a prank.
        uint64 until = uint64(block.timestamp + 1 days);
        uint64 past = uint64(block.timestamp);
        bytes memory forged = signed(0xBAD, registry.attestationDigest(worker, operator, MODEL, EVIDENCE, until));
        bytes memory otherOperator = attestation(worker, address(0x1234), EVIDENCE, until);
        bytes memory expired = attestation(worker, operator, EVIDENCE, past);
        bytes memory good = attestation(worker, operator, EVIDENCE, until);
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(Registry.AttesterUnknown.selector, vm.addr(0xBAD)));
        registry.registerWorker(worker, MODEL, EVIDENCE, until, forged);
        // A verdict for another operator recovers to nobody we know.
        vm.expectRevert();
        registry.registerWorker(worker, MODEL, EVIDENCE, until, otherOperator);
        vm.expectRevert(abi.encodeWithSelector(Registry.AttestationExpired.selector, past));
        registry.registerWorker(worker, MODEL, EVIDENCE, past, expired);
        vm.expectRevert(abi.encodeWithSelector(Registry.UnknownModel.selector, bytes32(0)));
        registry.registerWorker(worker, bytes32(0), EVIDENCE, until, good);
        registry.registerWorker(worker, MODEL, EVIDENCE, until, good);
        vm.expectRevert(abi.encodeWithSelector(Registry.AlreadyRegistered.selector, worker));
        registry.registerWorker(worker, MODEL, EVIDENCE, until, good);
        vm.stopPrank();
    }

    function test_unbondingIsSlashableAndWithdrawableOnlyAfterTheDelay() public {
        registerWorker(30 ether);
        vm.startPrank(operator);
        registry.unbond(worker, 10 ether);
        registry.unbond(worker, 15 ether);
        assertEq(registry.withdraw(worker), 0, "nothing before the delay");
        vm.stopPrank();
        // Slash 12: 5 from active, then 7 from the newest unbonding (15 -> 8).
        vm.prank(slasher);
        uint256 taken = registry.slash(worker, 12 ether, address(0xC0FFEE), 5_000);
        assertEq(taken, 12 ether, "taken");
        assertEq(registry.atRisk(worker), 18 ether, "at risk");
        assertEq(token.balanceOf(address(0xC0FFEE)), 6 ether, "challenger share");
        vm.warp(block.timestamp + DELAY);
        vm.prank(operator);
        assertEq(registry.withdraw(worker), 18 ether, "withdrawn after the delay");
        assertEq(token.balanceOf(operator), 1_000 ether - 30 ether + 18 ether, "operator balance");
        assertEq(token.totalSupply(), 1_000 ether - 6 ether, "the unpaid half is burned");
    }

    function test_onlySlashersSlashAndOnlyTheOperatorMovesStake() public {
        registerWorker(MIN);
        vm.expectRevert(abi.encodeWithSelector(Registry.NotSlasher.selector, address(this)));
        registry.slash(worker, 1, address(0), 0);
        vm.expectRevert(abi.encodeWithSelector(Registry.NotOperator.selector, worker, address(this)));
        registry.unbond(worker, 1);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(Registry.UnbondTooLarge.selector, MIN, MIN + 1));
        registry.unbond(worker, MIN + 1);
    }

    function testFuzz_slashNeverTakesMoreThanIsAtRisk(uint256 stake, uint256 unbondPart, uint256 amount, uint256 bps)
        public
    {
        stake = bound(stake, 1, 500 ether);
        unbondPart = bound(unbondPart, 0, stake - 1);
        amount = bound(amount, 0, 1_000 ether);
        bps = bound(bps, 0, 10_000);
        registerWorker(stake);
        if (unbondPart > 0) {
            vm.prank(operator);
            registry.unbond(worker, unbondPart);
        }
        uint256 supply = token.totalSupply();
        vm.prank(slasher);
        uint256 taken = registry.slash(worker, amount, address(0xC0FFEE), bps);
        assertEq(taken, amount < stake ? amount : stake, "taken");
        assertEq(registry.atRisk(worker), stake - taken, "left");
        assertEq(token.balanceOf(address(0xC0FFEE)), (taken * bps) / 10_000, "paid");
        assertEq(supply - token.totalSupply(), taken - (taken * bps) / 10_000, "burned");
    }
}
