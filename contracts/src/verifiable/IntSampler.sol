// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Fixed-width integer arithmetic is this file's subject: every cast and shift below is the engine
// spec's (bounds in docs/spec/verifiable-engine.md §3), so these two lints only add noise here.
// forge-lint: disable-start(unsafe-typecast, incorrect-shift)

import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {IntOps} from "./IntOps.sol";

/// @title Integer sampling of the verifiable engine (SAMPLE steps)
/// @notice src/protocol/verifiable/intSampler.ts bit for bit: the position's generator
/// (samplingRng: deriveSeed of rng/deriveSeed.ts, then xoshiro128** of rng/prng.ts), weights from the
/// exp table, nucleus (top-p) mass in 2^-16 units, and the generator's unbiased `int(n)`.
library IntSampler {
    error SampleHintInvalid(string why);

    bytes internal constant SEED_DOMAIN = "verinfer/seed/v1";

    /// @notice Samples the token after position `pos` from the position's logits. With top-p < 1 the
    /// caller supplies two hints, 4-byte big-endian ids: the last token the nucleus keeps (`boundary`)
    /// and the token drawn. The engine sorts the vocabulary (weight descending, id ascending), keeps the
    /// shortest prefix whose mass exceeds p and walks it; here one pass over the vocabulary checks that
    /// the boundary is exactly where the mass first exceeds p and that the drawn value falls in the
    /// token's slot of the sorted prefix — no sort, no list of kept tokens, a cost set by the vocabulary
    /// alone. Hints that are not the engine's revert (`SampleHintInvalid`); they never change the token.
    function sample(
        int256[] memory logits,
        uint256 tMilli,
        uint256 p16,
        uint256 seed,
        uint256 pos,
        bytes calldata hints,
        bytes memory exp2
    ) internal pure returns (uint256) {
        uint256 n = logits.length;
        uint256 best = argmax(logits);
        if (tMilli == 0) return best;
        (bytes memory w, uint256 total) = weights(logits, logits[best], tMilli, exp2);
        uint32[4] memory st = rngState(seed, pos);
        return p16 >= 65536 ? drawAll(w, n, uniform(st, total)) : drawNucleus(w, n, total, p16, hints, st);
    }

    /// @dev The token at `r` in the cumulative weights of the whole vocabulary.
    function drawAll(bytes memory w, uint256 n, uint256 r) private pure returns (uint256) {
        uint256 cdf = 0;
        for (uint256 i = 0; i < n; i++) {
            cdf += weight(w, i);
            if (r < cdf) return i;
        }
        return n - 1;
    }

    /// @dev Checks the hints (boundary, token) against the engine's nucleus and draw; returns the token.
    function drawNucleus(
        bytes memory w,
        uint256 n,
        uint256 total,
        uint256 p16,
        bytes calldata hints,
        uint32[4] memory st
    ) private pure returns (uint256 token) {
        if (hints.length != 8) revert SampleHintInvalid("two 4-byte ids: the nucleus boundary and the token");
        token = tokenAt(hints, 1);
        (uint256 mass, uint256 beforeToken) = nucleusMass(w, n, total * p16, tokenAt(hints, 0), token);
        uint256 r = uniform(st, mass);
        if (r < beforeToken || r >= beforeToken + weight(w, token)) {
            revert SampleHintInvalid("the draw does not fall on the token");
        }
    }

    /// @dev The nucleus's mass, checking that it ends at `boundary` — the mass before it has not exceeded
    /// p·total, and the mass with it has or it is the last token with weight — and the mass before
    /// `token`, which must be in the nucleus.
    function nucleusMass(bytes memory w, uint256 n, uint256 threshold, uint256 boundary, uint256 token)
        private
        pure
        returns (uint256 mass, uint256 beforeToken)
    {
        if (boundary >= n || weight(w, boundary) == 0 || token >= n || weight(w, token) == 0) {
            revert SampleHintInvalid("a hinted token has no weight");
        }
        uint256 beforeBoundary;
        bool tokenKept;
        uint256 total;
        (beforeBoundary, beforeToken, tokenKept, total) = massesBefore(w, n, boundary, token);
        mass = beforeBoundary + weight(w, boundary);
        if (beforeBoundary * 65536 > threshold) revert SampleHintInvalid("the nucleus ends before the boundary");
        if (mass * 65536 <= threshold && mass != total) revert SampleHintInvalid("the nucleus ends after the boundary");
        if (!tokenKept) revert SampleHintInvalid("the token is not in the nucleus");
    }

    /// @dev In the engine's order (weight descending, id ascending) over tokens with weight: the mass
    /// before `boundary`, the mass before `token`, whether `token` is at or before the boundary, and the
    /// total mass.
    function massesBefore(bytes memory w, uint256 n, uint256 boundary, uint256 token)
        private
        pure
        returns (uint256 beforeBoundary, uint256 beforeToken, bool tokenKept, uint256 total)
    {
        uint256 wb = weight(w, boundary);
        uint256 wt = weight(w, token);
        tokenKept = wt > wb || (wt == wb && token <= boundary);
        assembly ("memory-safe") {
            let wp := add(w, 32)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let wi := shr(224, mload(add(wp, shl(2, i))))
                if wi {
                    total := add(total, wi)
                    if or(gt(wi, wb), and(eq(wi, wb), lt(i, boundary))) { beforeBoundary := add(beforeBoundary, wi) }
                    if or(gt(wi, wt), and(eq(wi, wt), lt(i, token))) { beforeToken := add(beforeToken, wi) }
                }
            }
        }
    }

    /// @dev The first maximum.
    function argmax(int256[] memory logits) internal pure returns (uint256 best) {
        assembly ("memory-safe") {
            let p := add(logits, 32)
            let m := mload(p)
            for { let i := 1 } lt(i, mload(logits)) { i := add(i, 1) } {
                let v := mload(add(p, shl(5, i)))
                if sgt(v, m) {
                    m := v
                    best := i
                }
            }
        }
    }

    /// @dev e_i = expNeg(⌊(max − l_i) · 1000 / T_milli⌋), 4 bytes each, and their sum. IntOps.expNeg and
    /// floorDiv inlined for d ≥ 0 (max is the maximum): this loop runs once per vocabulary entry.
    function weights(int256[] memory logits, int256 max, uint256 tMilli, bytes memory exp2)
        private
        pure
        returns (bytes memory w, uint256 total)
    {
        uint256 n = logits.length;
        w = new bytes(4 * n + 28); // slack: each entry is written with a whole word
        int256 invLn2 = IntOps.INV_LN2_Q16;
        assembly ("memory-safe") {
            let lp := add(logits, 32)
            let wp := add(w, 32)
            let tp := add(exp2, 32)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let d := div(mul(sub(max, mload(add(lp, shl(5, i)))), 1000), tMilli)
                let y := shr(16, add(mul(d, invLn2), 32768))
                let k := shr(16, y)
                let e := 0
                if lt(k, 31) { e := shr(k, shr(232, mload(add(tp, mul(3, shr(6, and(y, 0xffff))))))) }
                mstore(add(wp, shl(2, i)), shl(224, e))
                total := add(total, e)
            }
        }
    }

    function weight(bytes memory w, uint256 i) private pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(224, mload(add(add(w, 32), mul(4, i))))
        }
    }

    function tokenAt(bytes calldata ids, uint256 j) private pure returns (uint256 t) {
        assembly ("memory-safe") {
            t := shr(224, calldataload(add(ids.offset, mul(4, j))))
        }
    }

    // ---- the project's PRNG ----

    /// @notice xoshiro128** state of samplingRng(seed, pos): deriveSeed(seed, "verinfer/ts-int/sample", pos),
    /// folded to 128 bits (createRng).
    function rngState(uint256 seed, uint256 pos) internal pure returns (uint32[4] memory st) {
        bytes32 master = keccak256(abi.encodePacked(SEED_DOMAIN, label(seed)));
        bytes32 s = keccak256(abi.encodePacked(SEED_DOMAIN, master, label("verinfer/ts-int/sample"), label(pos)));
        uint256 x = uint256(s);
        for (uint256 i = 0; i < 4; i++) {
            st[i] = uint32(x >> (224 - 32 * i)) ^ uint32(x >> (96 - 32 * i));
        }
        if (st[0] | st[1] | st[2] | st[3] == 0) st[0] = 1;
    }

    function label(uint256 n) private pure returns (bytes memory) {
        bytes memory body = bytes(Strings.toString(n));
        return abi.encodePacked(bytes1("n"), uint32(body.length), body);
    }

    function label(string memory text) private pure returns (bytes memory) {
        return abi.encodePacked(bytes1("s"), uint32(bytes(text).length), text);
    }

    function nextU32(uint32[4] memory st) internal pure returns (uint32 result) {
        unchecked {
            uint32 s1 = st[1];
            result = rotl(s1 * 5, 7) * 9;
            uint32 t = s1 << 9;
            st[2] ^= st[0];
            st[3] ^= s1;
            st[1] ^= st[2];
            st[0] ^= st[3];
            st[2] ^= t;
            st[3] = rotl(st[3], 11);
        }
    }

    function rotl(uint32 x, uint32 k) private pure returns (uint32) {
        unchecked {
            return (x << k) | (x >> (32 - k));
        }
    }

    /// @notice Uniform in [0, n) (Rng.int): Lemire's method for n ≤ 2^21, rejection above.
    function uniform(uint32[4] memory st, uint256 n) internal pure returns (uint256 r) {
        if (n <= 0x200000) {
            uint256 x = uint256(nextU32(st)) * n;
            uint256 low = x % 0x100000000;
            if (low < n) {
                uint256 threshold = (0x100000000 - n) % n;
                while (low < threshold) {
                    x = uint256(nextU32(st)) * n;
                    low = x % 0x100000000;
                }
            }
            return x / 0x100000000;
        }
        uint256 limit = 0x100000000 - (0x100000000 % n);
        for (r = nextU32(st); r >= limit; r = nextU32(st)) {}
        return r % n;
    }
}
// forge-lint: disable-end(unsafe-typecast, incorrect-shift)
