// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Fixed-width integer arithmetic is this file's subject: every cast and shift below is the engine
// spec's (bounds in docs/spec/verifiable-engine.md §3), so these two lints only add noise here.
// forge-lint: disable-start(unsafe-typecast, incorrect-shift)

import {DisputeGame, IStepVerifier} from "../DisputeGame.sol";
import {EngineCommitments} from "./EngineCommitments.sol";
import {treeDepth, verifyPath, verifyRange} from "./OrderedMerkle.sol";
import {IntOps} from "./IntOps.sol";
import {IntSampler} from "./IntSampler.sol";

/// @title The on-chain one-step check of a verifiable engine's trace
/// @notice docs/spec/otr.md §4.3 and engine spec v2, the Solidity twin of
/// src/protocol/dispute/traceStep.ts: recomputes leaf `index` of a receipt's trace from evidence — the
/// model's shape (proven against the registered model root), the execution context (hashed against the
/// receipt's promptHash and paramsHash), each input step's output (proven against the trace root at the
/// index the step's position determines) and the weight rows or gains the step reads (a range proof
/// against the model root) — with the engine's integer operations (IntOps, IntSampler). Evidence that
/// does not fit reverts and accuses nobody; only the returned leaf, compared by the game with the
/// attacked one, decides. Encode evidence with src/chain/stepEvidence.ts.
contract TraceStepVerifier is IStepVerifier, EngineCommitments {
    struct Evidence {
        uint32[8] shape; // dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier
        bytes32[] shapeProof; // model leaf 0
        uint32[] prompt;
        uint32 temperatureMilli;
        uint32 topP16;
        uint32 seed;
        bytes[] inputs; // output bytes of each input step (inputsOf order)
        bytes32[][] inputProofs; // their paths in the trace tree
        bytes weights; // rows (scale int32le ‖ int8 row) or gains (int32le), as the model commits them
        bytes32[] weightsProof; // range proof of those leaves in the model tree
        bytes hints; // SAMPLE with top-p < 1: the nucleus boundary and the drawn token (4-byte big-endian ids)
    }


    /// @notice Code hashes of the table contracts (a STOP byte, then 3-byte big-endian entries; see
    /// src/chain/stepVerifier.ts): the exp2 fractions (1,024 × Q16) and the sigmoid (8,192 × Q16, in two
    /// halves because one contract holds at most 24,576 bytes). The tables' SHA-256 digests are pinned
    /// in verifiable.test.ts; a test pins these from the same tables.
    bytes32 public constant EXP2_CODEHASH = 0xc21bbebaddfee746c3c15a7a80d2a9478e20b917dd2214ad200414fb8481f6bb;
    bytes32 public constant SIGMOID_LOW_CODEHASH = 0x3969e48532b9a2f088f325d3059eeb9e6bc065e6895b9573537f960ea0fa13a5;
    bytes32 public constant SIGMOID_HIGH_CODEHASH = 0x05fb6e2c5da1efdab1b05424716aff750a73b56c70128786b3063da3ac54c031;

    address public immutable exp2Table;
    address public immutable sigmoidLow;
    address public immutable sigmoidHigh;

    error TableWrong(address table);

    constructor(address exp2Table_, address sigmoidLow_, address sigmoidHigh_) {
        if (exp2Table_.codehash != EXP2_CODEHASH) revert TableWrong(exp2Table_);
        if (sigmoidLow_.codehash != SIGMOID_LOW_CODEHASH) revert TableWrong(sigmoidLow_);
        if (sigmoidHigh_.codehash != SIGMOID_HIGH_CODEHASH) revert TableWrong(sigmoidHigh_);
        exp2Table = exp2Table_;
        sigmoidLow = sigmoidLow_;
        sigmoidHigh = sigmoidHigh_;
    }

    /// @inheritdoc IStepVerifier
    function correctLeaf(DisputeGame.Subject calldata s, uint256 index, bytes calldata evidence)
        external
        view
        returns (bytes32)
    {
        Evidence calldata ev = _decode(evidence);
        Shape memory sh = shapeOf(ev.shape, ev.shapeProof, s.weightsHash);
        if (s.leafCount % sh.perPosition != 0) revert StepEvidenceMalformed("the trace is not whole positions");
        if (index >= s.leafCount) return bytes32(0); // padding
        _checkContext(ev, s);
        Step memory st = stepAt(sh, index);
        if (st.pos >= sh.seqLen) revert StepEvidenceMalformed("position outside the context");
        _checkInputs(ev, sh, st, s);
        return leafHash(st, keccak256(_compute(ev, sh, st, s.weightsHash)));
    }

    // ---- evidence ----

    function _decode(bytes calldata evidence) private pure returns (Evidence calldata ev) {
        if (evidence.length < 32) revert StepEvidenceMalformed("evidence too short");
        assembly ("memory-safe") {
            ev := add(evidence.offset, calldataload(evidence.offset))
        }
    }

    function _checkContext(Evidence calldata ev, DisputeGame.Subject calldata s) private pure {
        uint256 n = ev.prompt.length;
        if (n == 0) revert StepEvidenceMalformed("empty prompt");
        bytes memory packed = new bytes(4 * n);
        for (uint256 i = 0; i < n; i++) {
            uint256 t = ev.prompt[i];
            assembly ("memory-safe") {
                let p := add(add(packed, 32), mul(4, i))
                mstore8(p, t)
                mstore8(add(p, 1), shr(8, t))
                mstore8(add(p, 2), shr(16, t))
                mstore8(add(p, 3), shr(24, t))
            }
        }
        if (keccak256(packed) != s.promptHash) revert StepEvidenceMalformed("prompt does not hash to promptHash");
        if (keccak256(abi.encodePacked(ev.temperatureMilli, ev.topP16, ev.seed)) != s.paramsHash) {
            revert StepEvidenceMalformed("sampling parameters do not hash to paramsHash");
        }
    }

    function _checkInputs(Evidence calldata ev, Shape memory sh, Step memory st, DisputeGame.Subject calldata s)
        private
        pure
    {
        Step[] memory producers = inputsOf(st, sh, ev.prompt.length);
        if (ev.inputs.length != producers.length || ev.inputProofs.length != producers.length) {
            revert StepEvidenceMalformed("wrong number of inputs");
        }
        uint256 depth = treeDepth(s.leafCount);
        for (uint256 i = 0; i < producers.length; i++) {
            bytes32 leaf = leafHash(producers[i], keccak256(ev.inputs[i]));
            if (!verifyPath(s.traceRoot, leaf, indexOfStep(sh, producers[i]), ev.inputProofs[i], depth)) {
                revert StepEvidenceMalformed("an input is not proven against the trace root");
            }
        }
    }

    // ---- the step ----

    function _compute(Evidence calldata ev, Shape memory sh, Step memory st, bytes32 modelRoot)
        private
        view
        returns (bytes memory)
    {
        uint256 op = st.op;
        if (op == EMBED) {
            uint256 token = st.pos == 0 ? ev.prompt[0] : _token(ev.inputs[0]);
            if (token >= sh.vocab) revert StepEvidenceMalformed("token outside the vocabulary");
            _rows(ev, sh, modelRoot, Rows(T_EMBEDDING, 0, token, 1));
            return _int32Bytes(IntOps.embed(_offset(ev.weights), sh.dim));
        }
        if (op == SAMPLE) return _sample(ev, sh, st);
        if (op == ATT_NORM || op == FFN_NORM || op == FINAL_NORM) {
            int256[] memory gains = _gains(ev, sh, modelRoot, op, st.layer);
            return _int32Bytes(IntOps.rmsnorm(_int32s(ev.inputs[0], sh.dim), gains));
        }
        if (op == ATT_QUANT || op == ATTN_QUANT || op == FFN_QUANT || op == SWIGLU_QUANT || op == FINAL_QUANT) {
            uint256 n = op == SWIGLU_QUANT ? sh.hidden : sh.dim;
            (int256[] memory q, uint256 k) = IntOps.quantize(_int32s(ev.inputs[0], n), 0, n);
            return _quantBytes(q, k);
        }
        if (op == Q_ROPE || op == K_ROPE) {
            int256[] memory v = _int32s(ev.inputs[0], op == Q_ROPE ? sh.dim : sh.kvDim);
            return _int32Bytes(IntOps.rope(v, st.pos, sh.headSize));
        }
        if (op == ATTN) return _attention(ev, sh);
        if (op == RESID1 || op == RESID2) {
            return _int32Bytes(IntOps.residual(_int32s(ev.inputs[0], sh.dim), _int32s(ev.inputs[1], sh.dim)));
        }
        if (op == SWIGLU) {
            return _int32Bytes(
                IntOps.swiglu(_int32s(ev.inputs[0], sh.hidden), _int32s(ev.inputs[1], sh.hidden), _sigmoid())
            );
        }
        return _matmul(ev, sh, st, modelRoot);
    }

    /// @dev Q, K, V, WO, W1, W3, W2 and LOGITS: the rows the step computes, proven against the model root.
    function _matmul(Evidence calldata ev, Shape memory sh, Step memory st, bytes32 modelRoot)
        private
        pure
        returns (bytes memory)
    {
        Rows memory r = _matrixOf(sh, st);
        (int256[] memory a16, uint256 k) = _quant(ev.inputs[0], r.tensor == T_W2 ? sh.hidden : sh.dim);
        _rows(ev, sh, modelRoot, r);
        return _int32Bytes(IntOps.matmul(a16, k, ev.weights, r.count));
    }

    /// @dev The matrix rows a matmul step reads (matmulOf).
    function _matrixOf(Shape memory sh, Step memory st) private pure returns (Rows memory r) {
        uint256 op = st.op;
        if (op == LOGITS) {
            r.row0 = st.part * PART_ROWS;
            r.count = sh.vocab - r.row0 < PART_ROWS ? sh.vocab - r.row0 : PART_ROWS;
            r.tensor = sh.shared ? T_EMBEDDING : T_WCLS;
            return r;
        }
        r.layer = st.layer;
        r.tensor = op == Q ? T_WQ : op == K ? T_WK : op == V ? T_WV : op == WO ? T_WO : op == W1 ? T_W1 : op == W3
            ? T_W3
            : T_W2;
        r.count = op == K || op == V ? sh.kvDim : op == W1 || op == W3 ? sh.hidden : sh.dim;
    }

    function _attention(Evidence calldata ev, Shape memory sh) private view returns (bytes memory) {
        int256[] memory q = _int32s(ev.inputs[0], sh.dim);
        uint256 positions = (ev.inputs.length - 1) / 2;
        uint256[] memory keys = new uint256[](positions);
        uint256[] memory values = new uint256[](positions);
        for (uint256 t = 0; t < positions; t++) {
            keys[t] = _vectorAt(ev.inputs[1 + 2 * t], sh.kvDim);
            values[t] = _vectorAt(ev.inputs[2 + 2 * t], sh.kvDim);
        }
        return _int32Bytes(IntOps.attention(q, keys, values, sh.nHeads, sh.nKvHeads, _exp2()));
    }

    function _sample(Evidence calldata ev, Shape memory sh, Step memory st) private view returns (bytes memory) {
        if (st.pos + 1 < ev.prompt.length) return _tokenBytes(ev.prompt[st.pos + 1]);
        int256[] memory logits = new int256[](sh.vocab);
        for (uint256 p = 0; p < ev.inputs.length; p++) {
            uint256 n = sh.vocab - p * PART_ROWS < PART_ROWS ? sh.vocab - p * PART_ROWS : PART_ROWS;
            if (ev.inputs[p].length != 4 * n) revert StepEvidenceMalformed("an int32 vector of the wrong size");
            uint256 src = _offset(ev.inputs[p]);
            assembly ("memory-safe") {
                let dst := add(add(logits, 32), shl(5, mul(p, PART_ROWS)))
                for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                    let w := calldataload(add(src, shl(2, i)))
                    let v := or(or(byte(0, w), shl(8, byte(1, w))), or(shl(16, byte(2, w)), shl(24, byte(3, w))))
                    mstore(add(dst, shl(5, i)), signextend(3, v))
                }
            }
        }
        return _tokenBytes(
            IntSampler.sample(logits, ev.temperatureMilli, ev.topP16, ev.seed, st.pos, ev.hints, _exp2())
        );
    }

    // ---- weights ----

    /// @dev Checks rows [row0, row0 + count) of a tensor, as `ev.weights` gives them, against the model root.
    function _rows(Evidence calldata ev, Shape memory sh, bytes32 modelRoot, Rows memory r) private pure {
        uint256 size = 4 + (r.tensor == T_W2 ? sh.hidden : sh.dim);
        if (ev.weights.length != r.count * size) revert StepEvidenceMalformed("weight rows of the wrong size");
        bytes32[] memory leaves = new bytes32[](r.count);
        for (uint256 i = 0; i < r.count; i++) {
            leaves[i] = keccak256(
                abi.encodePacked(
                    uint16(r.tensor), uint16(r.layer), uint32(r.row0 + i), ev.weights[i * size:(i + 1) * size]
                )
            );
        }
        uint256 leaf0 = tensorStart(sh, r.tensor, r.layer) + r.row0;
        if (!verifyRange(modelRoot, leaves, leaf0, ev.weightsProof, sh.modelDepth)) {
            revert StepEvidenceMalformed("weight rows are not the registered model's");
        }
    }

    function _gains(Evidence calldata ev, Shape memory sh, bytes32 modelRoot, uint256 op, uint256 layer)
        private
        pure
        returns (int256[] memory)
    {
        uint256 tensor = op == ATT_NORM ? T_RMS_ATT : op == FFN_NORM ? T_RMS_FFN : T_RMS_FINAL;
        if (tensor == T_RMS_FINAL) layer = 0;
        if (ev.weights.length != 4 * sh.dim) revert StepEvidenceMalformed("gains of the wrong size");
        bytes32[] memory leaf = new bytes32[](1);
        leaf[0] = keccak256(abi.encodePacked(uint16(tensor), uint16(layer), uint32(0), ev.weights));
        if (!verifyRange(modelRoot, leaf, tensorStart(sh, tensor, layer), ev.weightsProof, sh.modelDepth)) {
            revert StepEvidenceMalformed("gains are not the registered model's");
        }
        return _int32s(ev.weights, sh.dim);
    }

    // ---- tables ----

    function _exp2() private view returns (bytes memory t) {
        t = new bytes(3 * 1024);
        address a = exp2Table;
        assembly ("memory-safe") {
            extcodecopy(a, add(t, 32), 1, mul(3, 1024))
        }
    }

    function _sigmoid() private view returns (bytes memory t) {
        t = new bytes(3 * 8192);
        (address lo, address hi) = (sigmoidLow, sigmoidHigh);
        assembly ("memory-safe") {
            extcodecopy(lo, add(t, 32), 1, mul(3, 4096))
            extcodecopy(hi, add(t, add(32, mul(3, 4096))), 1, mul(3, 4096))
        }
    }

    // ---- steps and leaves (trace.ts, replay.ts) ----

    /// @notice The steps whose outputs a step reads, in the order it reads them (inputsOf).
    function inputsOf(Step memory st, Shape memory sh, uint256 promptTokens) internal pure returns (Step[] memory) {
        uint256 op = st.op;
        uint256 l = st.layer;
        if (op == EMBED) return st.pos == 0 ? new Step[](0) : _one(Step(st.pos - 1, sh.nLayers, SAMPLE, 0));
        if (op == SAMPLE) {
            if (st.pos + 1 < promptTokens) return new Step[](0);
            uint256 parts = (sh.vocab + PART_ROWS - 1) / PART_ROWS;
            Step[] memory logits = new Step[](parts);
            for (uint256 p = 0; p < parts; p++) logits[p] = Step(st.pos, sh.nLayers, LOGITS, p);
            return logits;
        }
        if (op == ATTN) {
            Step[] memory ins = new Step[](1 + 2 * (st.pos + 1));
            ins[0] = Step(st.pos, l, Q_ROPE, 0);
            for (uint256 t = 0; t <= st.pos; t++) {
                ins[1 + 2 * t] = Step(t, l, K_ROPE, 0);
                ins[2 + 2 * t] = Step(t, l, V, 0);
            }
            return ins;
        }
        if (op == RESID1 || op == RESID2) {
            Step[] memory two = new Step[](2);
            two[0] = op == RESID2 ? Step(st.pos, l, RESID1, 0) : _stream(st.pos, l);
            two[1] = Step(st.pos, l, op == RESID1 ? WO : W2, 0);
            return two;
        }
        if (op == SWIGLU) {
            Step[] memory gate = new Step[](2);
            gate[0] = Step(st.pos, l, W1, 0);
            gate[1] = Step(st.pos, l, W3, 0);
            return gate;
        }
        if (op == ATT_NORM) return _one(_stream(st.pos, l));
        if (op == FINAL_NORM) return _one(Step(st.pos, sh.nLayers - 1, RESID2, 0));
        uint256 from = op == ATT_QUANT
            ? ATT_NORM
            : op == Q || op == K || op == V
                ? ATT_QUANT
                : op == Q_ROPE
                    ? Q
                    : op == K_ROPE
                        ? K
                        : op == ATTN_QUANT
                            ? ATTN
                            : op == WO
                                ? ATTN_QUANT
                                : op == FFN_NORM
                                    ? RESID1
                                    : op == FFN_QUANT
                                        ? FFN_NORM
                                        : op == W1 || op == W3
                                            ? FFN_QUANT
                                            : op == SWIGLU_QUANT ? SWIGLU : op == W2 ? SWIGLU_QUANT : op == FINAL_QUANT ? FINAL_NORM : FINAL_QUANT; // LOGITS
        return _one(Step(st.pos, l, from, 0));
    }

    function _stream(uint256 pos, uint256 l) private pure returns (Step memory) {
        return l == 0 ? Step(pos, 0, EMBED, 0) : Step(pos, l - 1, RESID2, 0);
    }

    function _one(Step memory st) private pure returns (Step[] memory one) {
        one = new Step[](1);
        one[0] = st;
    }

    /// @notice leaf = keccak256(pos u32 ‖ layer u16 ‖ op u16 ‖ part u16 ‖ keccak256(output)) (leafHash).
    // ---- byte layouts (trace.ts) ----

    function _offset(bytes calldata b) private pure returns (uint256 o) {
        assembly ("memory-safe") {
            o := b.offset
        }
    }

    /// @dev The calldata offset of an int32 vector of `n` values (checked to be that long).
    function _vectorAt(bytes calldata b, uint256 n) private pure returns (uint256) {
        if (b.length != 4 * n) revert StepEvidenceMalformed("an int32 vector of the wrong size");
        return _offset(b);
    }

    function _int32s(bytes calldata b, uint256 n) private pure returns (int256[] memory v) {
        uint256 ptr = _vectorAt(b, n);
        v = new int256[](n);
        for (uint256 i = 0; i < n; i++) v[i] = IntOps.int32le(ptr + 4 * i);
    }

    function _quant(bytes calldata b, uint256 n) private pure returns (int256[] memory v, uint256 shift) {
        if (b.length != 1 + 2 * n) revert StepEvidenceMalformed("a quantized vector of the wrong size");
        shift = uint8(b[0]);
        v = new int256[](n);
        uint256 ptr = _offset(b) + 1;
        for (uint256 i = 0; i < n; i++) {
            int256 x;
            assembly ("memory-safe") {
                let w := calldataload(add(ptr, mul(2, i)))
                x := signextend(1, or(byte(0, w), shl(8, byte(1, w))))
            }
            v[i] = x;
        }
    }

    function _token(bytes calldata b) private pure returns (uint256 t) {
        if (b.length != 4) revert StepEvidenceMalformed("a token is 4 bytes");
        t = uint256(uint8(b[0])) | (uint256(uint8(b[1])) << 8) | (uint256(uint8(b[2])) << 16)
            | (uint256(uint8(b[3])) << 24);
    }

    function _int32Bytes(int256[] memory v) private pure returns (bytes memory out) {
        out = new bytes(4 * v.length);
        assembly ("memory-safe") {
            let src := add(v, 32)
            let dst := add(out, 32)
            for { let i := 0 } lt(i, mload(v)) { i := add(i, 1) } {
                let x := mload(add(src, mul(32, i)))
                let p := add(dst, mul(4, i))
                mstore8(p, x)
                mstore8(add(p, 1), shr(8, x))
                mstore8(add(p, 2), shr(16, x))
                mstore8(add(p, 3), shr(24, x))
            }
        }
    }

    function _quantBytes(int256[] memory v, uint256 shift) private pure returns (bytes memory out) {
        out = new bytes(1 + 2 * v.length);
        out[0] = bytes1(uint8(shift));
        assembly ("memory-safe") {
            let src := add(v, 32)
            let dst := add(out, 33)
            for { let i := 0 } lt(i, mload(v)) { i := add(i, 1) } {
                let x := mload(add(src, mul(32, i)))
                let p := add(dst, mul(2, i))
                mstore8(p, x)
                mstore8(add(p, 1), shr(8, x))
            }
        }
    }

    function _tokenBytes(uint256 t) private pure returns (bytes memory) {
        return abi.encodePacked(uint8(t), uint8(t >> 8), uint8(t >> 16), uint8(t >> 24));
    }
}
// forge-lint: disable-end(unsafe-typecast, incorrect-shift)
