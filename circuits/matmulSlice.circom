pragma circom 2.1.0;

// A ZK spot-check slice of the verifiable engine (docs/spec/spotcheck.md): R consecutive output rows of
// one `matmulRows` step (docs/spec/verifiable-engine.md §3), exactly as src/protocol/verifiable/intOps.ts
// computes them, plus a Poseidon commitment of every value the rows depend on or produce. The commitment
// is the only public signal; the contract binds it to the receipt's keccak commitments (trace root, model
// root) optimistically (SpotChecks.challengeBinding).
//
// Every signal is range-checked so that each field equation below is also an integer equation (all
// magnitudes stay far below the BN254 modulus, about 2^253).

include "node_modules/circomlib/circuits/bitify.circom";
include "node_modules/circomlib/circuits/comparators.circom";
include "node_modules/circomlib/circuits/poseidon.circom";

// v ∈ [−2^(b−1), 2^(b−1)): v + 2^(b−1) fits b bits.
template SignedRange(b) {
    signal input in;
    component bits = Num2Bits(b);
    bits.in <== in + (1 << (b - 1));
}

// One output row: acc = Σ q·a; t = roundShift(acc, 8); p = t·scale; y0 = roundShift(p·2^k, 16), which
// equals roundShift(p, 16 − k) for k ≤ 16; y = saturate24(y0).
template MatmulRow(N) {
    signal input a[N];      // the int16 input, range-checked by the caller
    signal input q[N];      // the int8 weight row
    signal input scale;     // Q24 row scale, [0, 2^22)
    signal input pk;        // 2^k
    signal output y;

    signal prod[N];
    var acc = 0;
    component qRange[N];
    for (var j = 0; j < N; j++) {
        qRange[j] = SignedRange(8);
        qRange[j].in <== q[j];
        prod[j] <== q[j] * a[j];
        acc += prod[j];
    }
    // |acc| < 2^7 · 2^15 · N ≤ 2^31 for N ≤ 512.
    component scaleRange = Num2Bits(22);
    scaleRange.in <== scale;

    // acc + 2^7 = 2^8·t + r1, 0 ≤ r1 < 2^8: t = floor((acc + 128) / 256).
    signal t <-- (acc + 128 + (1 << 40)) \ 256 - (1 << 32);  // floor, computed on a positive integer
    signal r1 <== acc + 128 - 256 * t;
    component r1Range = Num2Bits(8);
    r1Range.in <== r1;
    component tRange = SignedRange(32);
    tRange.in <== t;

    // |p| < 2^23 · 2^22 (|t| ≤ |acc| / 2^8 + 1); |p·2^k| < 2^60.
    signal p <== t * scale;
    signal pShifted <== p * pk;

    // pShifted + 2^15 = 2^16·y0 + r2, 0 ≤ r2 < 2^16.
    signal y0 <-- (pShifted + 32768 + (1 << 80)) \ 65536 - (1 << 64);
    signal r2 <== pShifted + 32768 - 65536 * y0;
    component r2Range = Num2Bits(16);
    r2Range.in <== r2;
    component y0Range = SignedRange(54);
    y0Range.in <== y0;

    // Saturation to ±(2^24 − 1), comparisons on values offset by 2^53 (so both sides are < 2^54).
    var B = (1 << 24) - 1;
    var OFF = 1 << 53;
    component above = LessThan(54);
    above.in[0] <== B + OFF;
    above.in[1] <== y0 + OFF;
    component below = LessThan(54);
    below.in[0] <== y0 + OFF;
    below.in[1] <== OFF - B;
    signal fromAbove <== above.out * (B - y0);
    signal fromBelow <== below.out * (-B - y0);
    y <== y0 + fromAbove + fromBelow;
}

// The slice: R rows over an N-long input; `commitment` = the Poseidon sponge of spotcheck.md §2 over
// [N + 2^16·R + 2^32·k, packed a (15 per element), per row: packed q (31 per element), scale + 2^22·(y + 2^24)].
template MatmulSlice(N, R) {
    signal input k;
    signal input a[N];
    signal input q[R][N];
    signal input scale[R];
    signal output commitment;
    signal y[R];

    component kBits = Num2Bits(4);  // k ≤ 15: matmul inputs are saturated at 2^24, so k ≤ 10
    kBits.in <== k;
    signal f01 <== (1 + kBits.out[0]) * (1 + 3 * kBits.out[1]);
    signal f23 <== (1 + 15 * kBits.out[2]) * (1 + 255 * kBits.out[3]);
    signal pk <== f01 * f23;

    component aRange[N];
    for (var j = 0; j < N; j++) {
        aRange[j] = SignedRange(16);
        aRange[j].in <== a[j];
    }

    component rows[R];
    for (var r = 0; r < R; r++) {
        rows[r] = MatmulRow(N);
        rows[r].a <== a;
        rows[r].q <== q[r];
        rows[r].scale <== scale[r];
        rows[r].pk <== pk;
        y[r] <== rows[r].y;
    }

    // The committed elements, each an injective packing of range-checked values.
    var AE = (N + 14) \ 15;
    var QE = (N + 30) \ 31;
    var E = 1 + AE + R * (QE + 1);
    signal elements[E];
    elements[0] <== N + 65536 * R + 4294967296 * k;
    for (var e = 0; e < AE; e++) {
        var lc = 0;
        for (var i = 0; i < 15 && 15 * e + i < N; i++) lc += (a[15 * e + i] + 32768) * (1 << (16 * i));
        elements[1 + e] <== lc;
    }
    for (var r = 0; r < R; r++) {
        var base = 1 + AE + r * (QE + 1);
        for (var e = 0; e < QE; e++) {
            var lc = 0;
            for (var i = 0; i < 31 && 31 * e + i < N; i++) lc += (q[r][31 * e + i] + 128) * (1 << (8 * i));
            elements[base + e] <== lc;
        }
        elements[base + QE] <== scale[r] + 4194304 * (y[r] + 16777216);
    }

    // Sponge: h = Poseidon(h, 15 elements) per block, zero-padded; h starts at 0.
    var BLOCKS = (E + 14) \ 15;
    component sponge[BLOCKS];
    for (var b = 0; b < BLOCKS; b++) {
        sponge[b] = Poseidon(16);
        sponge[b].inputs[0] <== b == 0 ? 0 : sponge[b - 1].out;
        for (var i = 0; i < 15; i++) sponge[b].inputs[1 + i] <== 15 * b + i < E ? elements[15 * b + i] : 0;
    }
    commitment <== sponge[BLOCKS - 1].out;
}
