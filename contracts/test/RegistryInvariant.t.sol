// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Registry} from "../src/Registry.sol";
import {VerinferToken} from "../src/VerinferToken.sol";
import {RegistryFixture} from "./Registry.t.sol";
import {Vm} from "./utils/Test.sol";

/// @notice Random deposits, unbondings, withdrawals, slashes and the passing of time on three
/// evaluators (registered without attestation, so the handler can make as many as it likes).
contract StakeHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    Registry internal immutable registry;
    VerinferToken internal immutable token;
    address internal immutable slasher;
    address[3] public parties;

    constructor(Registry registry_, VerinferToken token_, address slasher_) {
        registry = registry_;
        token = token_;
        slasher = slasher_;
        for (uint256 i = 0; i < 3; i++) {
            // forge-lint: disable-next-line(unsafe-typecast)
            parties[i] = address(uint160(0xE000 + i));
            vm.prank(parties[i]);
            registry.register(Registry.Role.Evaluator);
            vm.prank(parties[i]);
            token.approve(address(registry), type(uint256).max);
        }
    }

    function deposit(uint256 who, uint256 amount) external {
        address p = parties[who % 3];
        amount = 1 + (amount % 100 ether);
        vm.prank(address(this));
        require(token.transfer(p, amount), "transfer");
        vm.prank(p);
        registry.deposit(p, amount);
    }

    function unbond(uint256 who, uint256 amount) external {
        address p = parties[who % 3];
        (,,,,, uint256 active) = registry.participant(p);
        if (active == 0) return;
        vm.prank(p);
        registry.unbond(p, 1 + (amount % active));
    }

    function withdraw(uint256 who) external {
        address p = parties[who % 3];
        vm.prank(p);
        registry.withdraw(p);
    }

    function slash(uint256 who, uint256 amount, uint256 bps) external {
        vm.prank(slasher);
        registry.slash(parties[who % 3], amount % 200 ether, address(0xC0FFEE), bps % 10_001);
    }

    function wait(uint256 seconds_) external {
        vm.warp(block.timestamp + (seconds_ % 10 days));
    }
}

contract RegistryInvariantTest is RegistryFixture {
    StakeHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new StakeHandler(registry, token, slasher);
        token.mint(address(handler), 1_000_000 ether);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @notice Tokens are conserved: the registry holds exactly what was deposited and neither
    /// withdrawn nor slashed, and that is every participant's stake at risk.
    function invariant_stakeIsConserved() public view {
        uint256 held = token.balanceOf(address(registry));
        assertEq(held, registry.deposited() - registry.withdrawn() - registry.slashed(), "ledger");
        uint256 atRisk;
        for (uint256 i = 0; i < 3; i++) {
            atRisk += registry.atRisk(handler.parties(i));
        }
        assertEq(atRisk, held, "every token held is someone's stake");
    }
}
