// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Poseidon over BN254 with 16 inputs (width 17), as circomlib's Poseidon(16) and poseidon-lite
/// @notice 8 full and 68 partial rounds of x^5; the parameters (1,292 round constants, a 17×17 MDS matrix)
/// are read from three data contracts whose code hashes are pinned (src/chain/poseidon.ts makes them).
/// Gas is high (measured in docs/zk.md): it runs only when someone challenges a spot-check proof's binding.
contract PoseidonT17 {
    uint256 internal constant F = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant T = 17;
    uint256 internal constant ROUNDS_F = 8;
    uint256 internal constant ROUNDS_P = 68;

    bytes32 public constant C_LOW_CODEHASH = 0x230206b00ea0ade332638208dac77350406d815b0b5d65c6d0fd771862caecc7;
    bytes32 public constant C_HIGH_CODEHASH = 0xc6bf53d3f075ea31ac6bb05f4d011ff67ca661a960d3e70d0e6ea13abb26e8d7;
    bytes32 public constant M_CODEHASH = 0x3ab07a86079f7ec4fd23514307962efe8935adfce35aea882199f1455427d6f6;

    address public immutable cLow;
    address public immutable cHigh;
    address public immutable m;

    error ConstantsWrong(address constants);
    error NotInField(uint256 value);

    constructor(address cLow_, address cHigh_, address m_) {
        if (cLow_.codehash != C_LOW_CODEHASH) revert ConstantsWrong(cLow_);
        if (cHigh_.codehash != C_HIGH_CODEHASH) revert ConstantsWrong(cHigh_);
        if (m_.codehash != M_CODEHASH) revert ConstantsWrong(m_);
        (cLow, cHigh, m) = (cLow_, cHigh_, m_);
    }

    /// @notice poseidon16(inputs): the first word of the permuted state [0, inputs...].
    function hash(uint256[16] calldata inputs) external view returns (uint256) {
        uint256[] memory state = new uint256[](T);
        for (uint256 i = 0; i < 16; i++) {
            if (inputs[i] >= F) revert NotInField(inputs[i]);
            state[i + 1] = inputs[i];
        }
        return _permute(state);
    }

    /// @notice The sponge of docs/spec/spotcheck.md §2: h ← poseidon16([h, 15 elements]) over blocks of
    /// `elements`, the last zero-padded, from h = 0.
    function sponge(uint256[] calldata elements) external view returns (uint256 h) {
        for (uint256 b = 0; b * 15 < elements.length; b++) {
            uint256[] memory state = new uint256[](T);
            state[1] = h;
            for (uint256 i = 0; i < 15 && 15 * b + i < elements.length; i++) {
                uint256 e = elements[15 * b + i];
                if (e >= F) revert NotInField(e);
                state[2 + i] = e;
            }
            h = _permute(state);
        }
    }

    /// @dev Permutes `state` (length 17, element 0 the capacity) and returns its first word.
    function _permute(uint256[] memory state) internal view returns (uint256 out) {
        uint256[] memory c = new uint256[](1292);
        uint256[] memory mds = new uint256[](T * T);
        uint256[] memory next = new uint256[](T);
        (address lo, address hi, address mm) = (cLow, cHigh, m);
        assembly ("memory-safe") {
            extcodecopy(lo, add(c, 32), 1, mul(646, 32))
            extcodecopy(hi, add(c, add(32, mul(646, 32))), 1, mul(646, 32))
            extcodecopy(mm, add(mds, 32), 1, mul(289, 32))
            let s := add(state, 32)
            let n := add(next, 32)
            let m0 := add(mds, 32)
            let cp := add(c, 32)
            let sEnd := add(s, 544) // 17 words
            for { let r := 0 } lt(r, 76) { r := add(r, 1) } {
                // Round constants, then x^5 on every word (full rounds: the first and last four) or word 0.
                let full := or(lt(r, 4), gt(r, 71))
                for { let p := s } lt(p, sEnd) { p := add(p, 32) } {
                    let v := addmod(mload(p), mload(cp), F)
                    cp := add(cp, 32)
                    if or(full, eq(p, s)) {
                        let v2 := mulmod(v, v, F)
                        v := mulmod(mulmod(v2, v2, F), v, F)
                    }
                    mstore(p, v)
                }
                // The MDS matrix, row by row (pointer walks instead of index arithmetic).
                let mp := m0
                for { let q := n } lt(q, add(n, 544)) { q := add(q, 32) } {
                    let acc := 0
                    for { let p := s } lt(p, sEnd) { p := add(p, 32) } {
                        acc := addmod(acc, mulmod(mload(mp), mload(p), F), F)
                        mp := add(mp, 32)
                    }
                    mstore(q, acc)
                }
                for { let p := s } lt(p, sEnd) { p := add(p, 32) } {
                    mstore(p, mload(add(n, sub(p, s))))
                }
            }
            out := mload(s)
        }
    }
}
