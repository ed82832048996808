// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DisputeGame} from "../../src/DisputeGame.sol";
import {Vm} from "./Test.sol";

/// @notice What a player of the dispute game keeps: every claim as the game's events carried it (the
/// game stores only their hashes), to pass back in the moves that touch them. Record before a move
/// (`record`), collect after it (`collect`).
abstract contract GameClaims {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    mapping(uint256 game => DisputeGame.Claim[]) internal claimsOf;

    function record() internal {
        VM.recordLogs();
    }

    /// @dev Adds the claims of the events emitted since `record` (each once, in id order).
    function collect(DisputeGame game) internal {
        Vm.Log[] memory logs = VM.getRecordedLogs();
        for (uint256 i = 0; i < logs.length; i++) {
            Vm.Log memory l = logs[i];
            if (l.emitter != address(game)) continue;
            uint256 g = uint256(l.topics[1]);
            uint256 id;
            DisputeGame.Claim memory c;
            if (l.topics[0] == DisputeGame.GameOpened.selector) {
                (,,,, c) = abi.decode(l.data, (uint64, uint32, bytes32, uint64, DisputeGame.Claim));
            } else if (l.topics[0] == DisputeGame.Attacked.selector) {
                (id, c) = abi.decode(l.data, (uint256, DisputeGame.Claim));
            } else if (l.topics[0] == DisputeGame.Dissected.selector) {
                (id, c) = abi.decode(l.data, (uint256, DisputeGame.Claim));
            } else {
                continue;
            }
            if (id == claimsOf[g].length) claimsOf[g].push(c);
        }
    }

    /// @dev Word `k` of the ABI encoding of game(g): the Subject's nine words, then depth (9),
    /// lastDeadline (10), claimCount (11), resolvedCount (12), resolved (13), rootCountered (14).
    /// (Decoding the whole Game is too deep for the legacy code generator.)
    function gameWord(DisputeGame game, uint256 g, uint256 k) internal view returns (uint256 v) {
        (, bytes memory w) = address(game).staticcall(abi.encodeWithSelector(DisputeGame.game.selector, g));
        assembly ("memory-safe") {
            v := mload(add(w, mul(32, add(k, 1))))
        }
    }

    /// @dev The next `n` claims (at most) to resolve: from the last unresolved one down, above the root.
    function nextSlice(DisputeGame game, uint256 g, uint256 n) internal view returns (DisputeGame.Claim[] memory s) {
        uint256 top = gameWord(game, g, 11) - 1 - gameWord(game, g, 12);
        s = new DisputeGame.Claim[](n < top ? n : top);
        for (uint256 j = 0; j < s.length; j++) {
            s[j] = claimsOf[g][top - j];
        }
    }

    /// @dev The Merkle path of child `child` among `children` (siblings, lowest first), as attack takes it.
    function pathOf(bytes32[] memory children, uint256 child) internal pure returns (bytes32[] memory proof) {
        uint256 levels;
        while ((uint256(1) << levels) < children.length) levels++;
        proof = new bytes32[](levels);
        bytes32[] memory level = children;
        uint256 index = child;
        for (uint256 h = 0; h < levels; h++) {
            proof[h] = level[index ^ 1];
            bytes32[] memory up = new bytes32[](level.length / 2);
            for (uint256 i = 0; i < up.length; i++) {
                up[i] = keccak256(abi.encodePacked(level[2 * i], level[2 * i + 1]));
            }
            level = up;
            index /= 2;
        }
    }
}
