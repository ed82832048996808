// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Fixed-width integer arithmetic is this file's subject: every cast and shift below is the engine
// spec's (bounds in docs/spec/verifiable-engine.md §3), so these two lints only add noise here.
// forge-lint: disable-start(unsafe-typecast, incorrect-shift)

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title The verifiable engine's integer operations
/// @notice docs/spec/verifiable-engine.md §3, the same definitions as src/protocol/verifiable/intOps.ts
/// and fixedMath.ts, bit for bit (differential tests: src/chain/stepVerifier.test.ts). Vectors are
/// int256 memory arrays; every intermediate is exact in int256, so the spec's rounding (half up by
/// arithmetic shifts, floor divisions) is all there is to match. Tables come from the caller
/// (TraceStepVerifier reads them from pinned data contracts): 3-byte big-endian entries.
library IntOps {
    int256 internal constant ACT_MAX = (1 << 24) - 1;
    int256 internal constant RESIDUAL_MAX = (1 << 30) - 1;
    int256 internal constant INV_LN2_Q16 = 94548;
    int256 internal constant ONE = 1 << 64;
    /// @dev ln 2, ln 10000 and π in Q64 (floor), the decimal constants of fixedMath.ts.
    int256 internal constant LN2 = 12786308645202655659;
    int256 internal constant LN10000 = 169900791673599476078;
    int256 internal constant PI = 57952155664616982739;

    // ---- arithmetic ----

    /// @dev round(v / 2^s), half up (`>>` on int256 floors).
    function roundShift(int256 v, uint256 s) internal pure returns (int256) {
        return s == 0 ? v : (v + int256(1 << (s - 1))) >> s;
    }

    function floorDiv(int256 a, int256 b) internal pure returns (int256 q) {
        q = a / b;
        if (a % b != 0 && (a < 0) != (b < 0)) q -= 1;
    }

    function saturate(int256 v, int256 m) internal pure returns (int256) {
        return v > m ? m : (v < -m ? -m : v);
    }

    function abs(int256 v) internal pure returns (uint256) {
        return uint256(v < 0 ? -v : v);
    }

    /// @dev Entry i of a table of 3-byte big-endian values.
    function entry(bytes memory table, uint256 i) internal pure returns (int256 v) {
        assembly ("memory-safe") {
            v := shr(232, mload(add(add(table, 32), mul(3, i))))
        }
    }

    // ---- quantization and matmul ----

    /// @notice int16 quantization of a[off, off + n): the smallest shift k with max|a| / 2^k ≤ 32767,
    /// then clamp(round(a / 2^k), ±32767) (quantizeActivation, quantize16).
    function quantize(int256[] memory a, uint256 off, uint256 n) internal pure returns (int256[] memory q, uint256 k) {
        uint256 m = 0;
        for (uint256 i = 0; i < n; i++) {
            uint256 x = abs(a[off + i]);
            if (x > m) m = x;
        }
        while (m > 32767 << k) k++;
        q = new int256[](n);
        for (uint256 i = 0; i < n; i++) q[i] = saturate(roundShift(a[off + i], k), 32767);
    }

    /// @notice `count` rows of y = W·a for a quantized input (a16, shift k) (matmulRows). `rows` packs each
    /// row as its scale (int32 little-endian) and `a16.length` int8 weights.
    function matmul(int256[] memory a16, uint256 k, bytes calldata rows, uint256 count)
        internal
        pure
        returns (int256[] memory y)
    {
        uint256 cols = a16.length;
        y = new int256[](count);
        for (uint256 r = 0; r < count; r++) {
            uint256 ptr;
            assembly ("memory-safe") {
                ptr := add(rows.offset, mul(r, add(cols, 4)))
            }
            int256 acc = dot8(ptr + 4, cols, a16);
            int256 p = roundShift(acc, 8) * int32le(ptr);
            y[r] = saturate(k <= 16 ? roundShift(p, 16 - k) : scaleUp(p, k - 16), ACT_MAX);
        }
    }

    /// @dev p · 2^s, saturated early: a shift byte above 16 only comes from an input no engine writes, and
    /// the spec's double arithmetic saturates it anyway.
    function scaleUp(int256 p, uint256 s) private pure returns (int256) {
        if (s < 64) return p * int256(1 << s);
        return p > 0 ? ACT_MAX : (p < 0 ? -ACT_MAX : int256(0));
    }

    /// @dev Σ q_j · a_j over `n` int8 weights at calldata offset `ptr`: a word of 32 weights per
    /// calldataload, unrolled (about 30 gas per multiply-accumulate instead of 50 in a byte loop).
    function dot8(uint256 ptr, uint256 n, int256[] memory a) private pure returns (int256 acc) {
        assembly ("memory-safe") {
            let ap := add(a, 32)
            let end := add(ptr, n)
            for {} iszero(gt(add(ptr, 32), end)) { ptr := add(ptr, 32) } {
                let w := calldataload(ptr)
                acc := add(acc, mul(signextend(0, byte(0, w)), mload(ap)))
                acc := add(acc, mul(signextend(0, byte(1, w)), mload(add(ap, 0x20))))
                acc := add(acc, mul(signextend(0, byte(2, w)), mload(add(ap, 0x40))))
                acc := add(acc, mul(signextend(0, byte(3, w)), mload(add(ap, 0x60))))
                acc := add(acc, mul(signextend(0, byte(4, w)), mload(add(ap, 0x80))))
                acc := add(acc, mul(signextend(0, byte(5, w)), mload(add(ap, 0xa0))))
                acc := add(acc, mul(signextend(0, byte(6, w)), mload(add(ap, 0xc0))))
                acc := add(acc, mul(signextend(0, byte(7, w)), mload(add(ap, 0xe0))))
                acc := add(acc, mul(signextend(0, byte(8, w)), mload(add(ap, 0x100))))
                acc := add(acc, mul(signextend(0, byte(9, w)), mload(add(ap, 0x120))))
                acc := add(acc, mul(signextend(0, byte(10, w)), mload(add(ap, 0x140))))
                acc := add(acc, mul(signextend(0, byte(11, w)), mload(add(ap, 0x160))))
                acc := add(acc, mul(signextend(0, byte(12, w)), mload(add(ap, 0x180))))
                acc := add(acc, mul(signextend(0, byte(13, w)), mload(add(ap, 0x1a0))))
                acc := add(acc, mul(signextend(0, byte(14, w)), mload(add(ap, 0x1c0))))
                acc := add(acc, mul(signextend(0, byte(15, w)), mload(add(ap, 0x1e0))))
                acc := add(acc, mul(signextend(0, byte(16, w)), mload(add(ap, 0x200))))
                acc := add(acc, mul(signextend(0, byte(17, w)), mload(add(ap, 0x220))))
                acc := add(acc, mul(signextend(0, byte(18, w)), mload(add(ap, 0x240))))
                acc := add(acc, mul(signextend(0, byte(19, w)), mload(add(ap, 0x260))))
                acc := add(acc, mul(signextend(0, byte(20, w)), mload(add(ap, 0x280))))
                acc := add(acc, mul(signextend(0, byte(21, w)), mload(add(ap, 0x2a0))))
                acc := add(acc, mul(signextend(0, byte(22, w)), mload(add(ap, 0x2c0))))
                acc := add(acc, mul(signextend(0, byte(23, w)), mload(add(ap, 0x2e0))))
                acc := add(acc, mul(signextend(0, byte(24, w)), mload(add(ap, 0x300))))
                acc := add(acc, mul(signextend(0, byte(25, w)), mload(add(ap, 0x320))))
                acc := add(acc, mul(signextend(0, byte(26, w)), mload(add(ap, 0x340))))
                acc := add(acc, mul(signextend(0, byte(27, w)), mload(add(ap, 0x360))))
                acc := add(acc, mul(signextend(0, byte(28, w)), mload(add(ap, 0x380))))
                acc := add(acc, mul(signextend(0, byte(29, w)), mload(add(ap, 0x3a0))))
                acc := add(acc, mul(signextend(0, byte(30, w)), mload(add(ap, 0x3c0))))
                acc := add(acc, mul(signextend(0, byte(31, w)), mload(add(ap, 0x3e0))))
                ap := add(ap, 0x400)
            }
            if lt(ptr, end) {
                let w := calldataload(ptr)
                for { let b := 0 } lt(b, sub(end, ptr)) { b := add(b, 1) } {
                    acc := add(acc, mul(signextend(0, byte(b, w)), mload(ap)))
                    ap := add(ap, 32)
                }
            }
        }
    }

    /// @dev The int32 little-endian value at calldata offset `ptr`.
    function int32le(uint256 ptr) internal pure returns (int256 v) {
        assembly ("memory-safe") {
            let w := calldataload(ptr)
            v := signextend(3, or(or(byte(0, w), shl(8, byte(1, w))), or(shl(16, byte(2, w)), shl(24, byte(3, w)))))
        }
    }

    // ---- element-wise operations ----

    /// @notice The embedding row `rowAt` (scale ‖ int8 × n, calldata) to the Q16 residual stream.
    function embed(uint256 rowAt, uint256 n) internal pure returns (int256[] memory x) {
        int256 scale = int32le(rowAt);
        x = new int256[](n);
        for (uint256 i = 0; i < n; i++) {
            int256 q;
            assembly ("memory-safe") {
                q := signextend(0, byte(0, calldataload(add(add(rowAt, 4), i))))
            }
            x[i] = saturate(roundShift(q * scale, 8), RESIDUAL_MAX);
        }
    }

    /// @notice RMSNorm with eps = 2^−17 (rmsnorm): pre-shift by the smallest u with max|x| / 2^u < 2^15,
    /// mean square plus 2^(15−2u), R = ⌊√⌊2^60 / d⌋⌋, then the gains.
    function rmsnorm(int256[] memory x, int256[] memory gains) internal pure returns (int256[] memory y) {
        uint256 n = x.length;
        uint256 m = 0;
        for (uint256 i = 0; i < n; i++) {
            uint256 v = abs(x[i]);
            if (v > m) m = v;
        }
        uint256 u = 0;
        while (m >= 1 << (15 + u)) u++;
        int256[] memory xs = new int256[](n);
        uint256 ss = 0;
        for (uint256 i = 0; i < n; i++) {
            int256 v = x[i] >> u;
            xs[i] = v;
            ss += uint256(v * v);
        }
        uint256 mean = ss / n + (15 >= 2 * u ? 1 << (15 - 2 * u) : 0);
        if (mean == 0) mean = 1;
        int256 r = int256(Math.sqrt((1 << 60) / mean));
        y = new int256[](n);
        for (uint256 i = 0; i < n; i++) {
            y[i] = saturate(roundShift(roundShift(xs[i] * r, 14) * gains[i], 16), ACT_MAX);
        }
    }

    /// @notice RoPE on adjacent pairs at position `pos` (rope), with the Q14 cos/sin of ropeTables.
    function rope(int256[] memory v, uint256 pos, uint256 headSize) internal pure returns (int256[] memory) {
        uint256 half = headSize / 2;
        int256[] memory c = new int256[](half);
        int256[] memory s = new int256[](half);
        for (uint256 p = 0; p < half; p++) (c[p], s[p]) = ropeQ14(pos, p, headSize);
        for (uint256 i = 0; i < v.length; i += 2) {
            uint256 p = (i % headSize) >> 1;
            (int256 v0, int256 v1) = (v[i], v[i + 1]);
            v[i] = saturate(roundShift(v0 * c[p] - v1 * s[p], 14), ACT_MAX);
            v[i + 1] = saturate(roundShift(v0 * s[p] + v1 * c[p], 14), ACT_MAX);
        }
        return v;
    }

    /// @notice SwiGLU (swiglu) with the sigmoid table.
    function swiglu(int256[] memory h1, int256[] memory h3, bytes memory sigmoid)
        internal
        pure
        returns (int256[] memory y)
    {
        y = new int256[](h1.length);
        for (uint256 i = 0; i < h1.length; i++) {
            int256 a = h1[i];
            int256 idx = (a >> 8) + 4096;
            idx = idx < 0 ? int256(0) : (idx > 8191 ? int256(8191) : idx);
            int256 g = roundShift(a * entry(sigmoid, uint256(idx)), 16);
            y[i] = saturate(roundShift(g * h3[i], 16), ACT_MAX);
        }
    }

    /// @notice x + y, saturated to the residual stream's 30 bits (residual).
    function residual(int256[] memory x, int256[] memory y) internal pure returns (int256[] memory) {
        for (uint256 i = 0; i < x.length; i++) x[i] = saturate(x[i] + y[i], RESIDUAL_MAX);
        return x;
    }

    // ---- attention ----

    /// @notice exp(−d) in Q16 for d ≥ 0 in Q16 (expNeg), with the exp2 fraction table.
    function expNeg(int256 d, bytes memory exp2) internal pure returns (int256) {
        int256 y = roundShift(d * INV_LN2_Q16, 16);
        int256 i = y >> 16;
        if (i >= 31) return 0;
        int256 t = entry(exp2, uint256((y - (i << 16)) >> 6));
        return i >= 0 ? t >> uint256(i) : t << uint256(-i);
    }

    /// @dev What one attention step reads: the calldata offsets of each earlier position's rotated key and
    /// value (int32 little-endian, kvDim each: read in place, never copied, since a late position reads
    /// hundreds of them), and the constants.
    struct Cache {
        uint256[] keyAt;
        uint256[] valueAt;
        uint256 nKvHeads;
        uint256 headSize;
        int256 scale;
        bytes exp2;
    }

    /// @notice Attention of every head at one position (attentionHead over ATTN's inputs): q (dim) and,
    /// per earlier position, the rotated key and the value at the given calldata offsets (kvDim each),
    /// grouped-query heads.
    function attention(
        int256[] memory q,
        uint256[] memory keyAt,
        uint256[] memory valueAt,
        uint256 nHeads,
        uint256 nKvHeads,
        bytes memory exp2
    ) internal pure returns (int256[] memory out) {
        Cache memory c = Cache(keyAt, valueAt, nKvHeads, q.length / nHeads, 0, exp2);
        c.scale = invSqrtQ16(c.headSize);
        out = new int256[](q.length);
        for (uint256 h = 0; h < nHeads; h++) head(out, q, h, h / (nHeads / nKvHeads), c);
    }

    function head(int256[] memory out, int256[] memory q, uint256 h, uint256 kv, Cache memory c) private pure {
        (int256[] memory w, int256 sum) = headWeights(q, h, kv, c);
        uint256 hs = c.headSize;
        for (uint256 i = 0; i < hs; i++) {
            out[h * hs + i] = floorDiv(weightedSum(w, c.valueAt, 4 * (kv * hs + i)) + sum / 2, sum);
        }
    }

    /// @dev e_t = expNeg(max s − s_t) over the positions for head h, and their sum.
    function headWeights(int256[] memory q, uint256 h, uint256 kv, Cache memory c)
        private
        pure
        returns (int256[] memory w, int256 sum)
    {
        uint256 hs = c.headSize;
        (int256[] memory q16, uint256 qShift) = quantize(q, h * hs, hs);
        uint256 T = c.keyAt.length;
        w = new int256[](T);
        int256 max = type(int256).min;
        for (uint256 t = 0; t < T; t++) {
            int256 s = score(q16, qShift, c.keyAt[t] + 4 * kv * hs, hs, c.scale);
            w[t] = s;
            if (s > max) max = s;
        }
        for (uint256 t = 0; t < T; t++) {
            w[t] = expNeg(max - w[t], c.exp2);
            sum += w[t];
        }
    }

    /// @dev Σ_t w_t · v_t, with v_t the int32 at `offset` of each position's value vector (calldata).
    /// Assembly: this and `score` run once per position and head, hundreds of times in a late position.
    function weightedSum(int256[] memory w, uint256[] memory valueAt, uint256 offset)
        private
        pure
        returns (int256 acc)
    {
        assembly ("memory-safe") {
            let wp := add(w, 32)
            let vp := add(valueAt, 32)
            for { let t := 0 } lt(t, mload(w)) { t := add(t, 1) } {
                let x := calldataload(add(mload(add(vp, shl(5, t))), offset))
                x := signextend(3, or(or(byte(0, x), shl(8, byte(1, x))), or(shl(16, byte(2, x)), shl(24, byte(3, x)))))
                acc := add(acc, mul(mload(add(wp, shl(5, t))), x))
            }
        }
    }

    /// @dev s_t for one key head at calldata offset `k`: the key quantized to int16 (quantize16: smallest
    /// shift with max|k| / 2^shift ≤ 32767, round half up, clamp), its dot product with q16, scaled by
    /// 1/√headSize and shifted by 24 − qShift − kShift (attentionHead).
    function score(int256[] memory q16, uint256 qShift, uint256 k, uint256 hs, int256 scale)
        private
        pure
        returns (int256 s)
    {
        assembly ("memory-safe") {
            function load(ptr) -> v {
                let x := calldataload(ptr)
                v := signextend(3, or(or(byte(0, x), shl(8, byte(1, x))), or(shl(16, byte(2, x)), shl(24, byte(3, x)))))
            }
            let m := 0
            for { let i := 0 } lt(i, hs) { i := add(i, 1) } {
                let x := load(add(k, shl(2, i)))
                if slt(x, 0) { x := sub(0, x) }
                if gt(x, m) { m := x }
            }
            let ks := 0
            for {} gt(m, shl(ks, 32767)) { ks := add(ks, 1) } {}
            let half := 0
            if ks { half := shl(sub(ks, 1), 1) }
            let qp := add(q16, 32)
            let dot := 0
            for { let i := 0 } lt(i, hs) { i := add(i, 1) } {
                let v := sar(ks, add(load(add(k, shl(2, i))), half))
                if sgt(v, 32767) { v := 32767 }
                if slt(v, sub(0, 32767)) { v := sub(0, 32767) }
                dot := add(dot, mul(mload(add(qp, shl(5, i))), v))
            }
            let p := mul(sar(8, add(dot, 128)), scale)
            let sh := sub(sub(24, qShift), ks)
            switch slt(sh, 0)
            case 0 {
                if sh { p := sar(sh, add(p, shl(sub(sh, 1), 1))) }
                s := p
            }
            default { s := mul(p, shl(sub(0, sh), 1)) }
        }
    }

    /// @notice round(2^16 / √n) (invSqrtQ16).
    function invSqrtQ16(uint256 n) internal pure returns (int256) {
        return int256((Math.sqrt((1 << 96) / n) + (1 << 31)) >> 32);
    }

    // ---- Q64 functions for the RoPE tables (fixedMath.ts: integer Taylor series, never floats) ----

    /// @notice (cos, sin) in Q14 of the angle pos · 10000^(−2p/headSize) (ropeTables' entry).
    function ropeQ14(uint256 pos, uint256 p, uint256 headSize) internal pure returns (int256 c, int256 s) {
        int256 theta = expQ64(-(LN10000 * int256(2 * p)) / int256(headSize));
        (int256 cq, int256 sq) = cosSinQ64(int256(pos) * theta);
        c = (cq + (1 << 49)) >> 50;
        s = (sq + (1 << 49)) >> 50;
    }

    /// @notice e^x for x in Q64 (expQ64): x = k·ln2 + r, Taylor series of e^r.
    function expQ64(int256 x) internal pure returns (int256) {
        int256 k = floorDiv(x, LN2);
        int256 r = x - k * LN2;
        int256 term = ONE;
        int256 sum = ONE;
        for (int256 n = 1; term != 0; n++) {
            term = (term * r) / (n * ONE);
            sum += term;
        }
        return k >= 0 ? sum << uint256(k) : sum >> uint256(-k);
    }

    /// @notice (cos a, sin a) for a in Q64 (cosSinQ64), reduced to (−π, π].
    function cosSinQ64(int256 a) internal pure returns (int256 c, int256 s) {
        int256 twoPi = 2 * PI;
        int256 r = a - floorDiv(a, twoPi) * twoPi;
        if (r > PI) r -= twoPi;
        c = ONE;
        s = r;
        int256 term = ONE;
        for (int256 n = 1; term != 0; n++) {
            term = -(term * r) / ONE;
            term = (term * r) / ONE / ((2 * n - 1) * (2 * n));
            c += term;
        }
        term = r;
        for (int256 n = 1; term != 0; n++) {
            term = -(term * r) / ONE;
            term = (term * r) / ONE / (2 * n * (2 * n + 1));
            s += term;
        }
    }
}
// forge-lint: disable-end(unsafe-typecast, incorrect-shift)
