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
    error SampleOrderInvalid(string why);

    bytes internal constant SEED_DOMAIN = "verinfer/seed/v1";

    /// @notice Samples the token after position `pos` from the position's logits. With top-p < 1 the
    /// caller supplies `order`, the kept tokens strongest first (weight descending, id ascending) as
    /// 4-byte big-endian ids: sorting the vocabulary on chain costs more than checking that `order` is
    /// exactly the sorted prefix the engine keeps, which is done here (a wrong `order` reverts; it never
    /// changes the result). Weights are kept 4 bytes each: int256 arrays of a vocabulary's size would
    /// cost more in memory expansion than the arithmetic.
    function sample(
        int256[] memory logits,
        uint256 tMilli,
        uint256 p16,
        uint256 seed,
        uint256 pos,
        bytes calldata order,
        bytes memory exp2
    ) internal pure returns (uint256) {
        uint256 n = logits.length;
        uint256 best = argmax(logits);
        if (tMilli == 0) return best;
        (bytes memory w, uint256 total) = weights(logits, logits[best], tMilli, exp2);
        uint32[4] memory st = rngState(seed, pos);
        return p16 >= 65536 ? drawAll(w, n, uniform(st, total)) : drawNucleus(w, n, total, p16, order, st);
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

    /// @dev A draw from the checked nucleus, in its order.
    function drawNucleus(
        bytes memory w,
        uint256 n,
        uint256 total,
        uint256 p16,
        bytes calldata order,
        uint32[4] memory st
    ) private pure returns (uint256) {
        uint256 r = uniform(st, nucleusMass(w, n, total, p16, order));
        uint256 kept = order.length / 4;
        uint256 cdf = 0;
        for (uint256 j = 0; j < kept; j++) {
            uint256 id = tokenAt(order, j);
            cdf += weight(w, id);
            if (r < cdf) return id;
        }
        return tokenAt(order, kept - 1);
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

    function tokenAt(bytes calldata order, uint256 j) private pure returns (uint256 t) {
        assembly ("memory-safe") {
            t := shr(224, calldataload(add(order.offset, mul(4, j))))
        }
    }

    /// @dev Checks that `order` is the engine's kept prefix and returns its mass: sorted strictly (weight
    /// descending, id ascending), positive weights, the mass exceeds p·total first at its last token (or
    /// never, when it holds every positive weight), and every other positive token sorts after its last.
    function nucleusMass(bytes memory w, uint256 n, uint256 total, uint256 p16, bytes calldata order)
        private
        pure
        returns (uint256 mass)
    {
        uint256 kept = order.length / 4;
        if (kept == 0 || order.length % 4 != 0) revert SampleOrderInvalid("empty or not 4-byte ids");
        uint256[] memory seen = new uint256[]((n + 255) / 256);
        uint256 prev;
        uint256 bad;
        (mass, prev, bad) = keptMass(w, n, p16 * total, order, seen);
        if (bad != 0) {
            revert SampleOrderInvalid(
                bad == 1
                    ? "a kept token has no weight"
                    : bad == 2 ? "a token is kept twice" : bad == 3 ? "not sorted" : "kept past the nucleus"
            );
        }
        bool reached = mass * 65536 > p16 * total;
        if (leftOut(w, n, seen, prev, !reached) < n) {
            revert SampleOrderInvalid(reached ? "a stronger token was left out" : "the nucleus is not complete");
        }
    }

    /// @dev Walks `order`: marks each token in `seen` and sums the mass; `bad` names the first rule broken
    /// (1 no weight or outside the vocabulary, 2 kept twice, 3 not sorted, 4 the nucleus was exceeded
    /// before the last token). Assembly: it runs once per kept token, up to the vocabulary's size.
    function keptMass(bytes memory w, uint256 n, uint256 threshold, bytes calldata order, uint256[] memory seen)
        private
        pure
        returns (uint256 mass, uint256 prev, uint256 bad)
    {
        assembly ("memory-safe") {
            let wp := add(w, 32)
            let sp := add(seen, 32)
            let kept := shr(2, order.length)
            let wPrev := 0
            for { let j := 0 } lt(j, kept) { j := add(j, 1) } {
                let id := shr(224, calldataload(add(order.offset, shl(2, j))))
                let wi := 0
                if lt(id, n) { wi := shr(224, mload(add(wp, shl(2, id)))) }
                if iszero(wi) {
                    bad := 1
                    break
                }
                let slot := add(sp, shl(5, shr(8, id)))
                let bit := shl(and(id, 255), 1)
                if and(mload(slot), bit) {
                    bad := 2
                    break
                }
                mstore(slot, or(mload(slot), bit))
                // Strictly after the previous one: lighter, or as heavy with a larger id.
                if and(gt(j, 0), iszero(or(gt(wPrev, wi), and(eq(wPrev, wi), lt(prev, id))))) {
                    bad := 3
                    break
                }
                mass := add(mass, wi)
                if and(gt(mul(mass, 65536), threshold), lt(j, sub(kept, 1))) {
                    bad := 4
                    break
                }
                prev := id
                wPrev := wi
            }
        }
    }

    /// @dev The first token with weight that is not kept and sorts before `last` (or, with `any`, that is
    /// not kept at all); n when there is none. Runs over the whole vocabulary, hence assembly.
    function leftOut(bytes memory w, uint256 n, uint256[] memory seen, uint256 last, bool any)
        private
        pure
        returns (uint256 found)
    {
        uint256 wLast = weight(w, last);
        found = n;
        assembly ("memory-safe") {
            let wp := add(w, 32)
            let sp := add(seen, 32)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let wi := shr(224, mload(add(wp, shl(2, i))))
                if iszero(wi) { continue }
                if and(shr(and(i, 255), mload(add(sp, shl(5, shr(8, i))))), 1) { continue }
                if or(any, or(gt(wi, wLast), and(eq(wi, wLast), lt(i, last)))) {
                    found := i
                    break
                }
            }
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
