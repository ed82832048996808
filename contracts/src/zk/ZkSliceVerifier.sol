// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Fixed-width integer layouts of the engine's trace and model (docs/spec/verifiable-engine.md §2, §5).
// forge-lint: disable-start(unsafe-typecast, incorrect-shift)

import {DisputeGame} from "../DisputeGame.sol";
import {ISpotCheckVerifier} from "../SpotChecks.sol";
import {EngineCommitments} from "../verifiable/EngineCommitments.sol";
import {treeDepth, verifyPath, verifyRange} from "../verifiable/OrderedMerkle.sol";
import {PoseidonT17} from "./PoseidonT17.sol";
import {SliceProofVerifier} from "./SliceProofVerifier.sol";

/// @title ZK spot-check verifier: a Groth16 proof of a selected slice, bound to the receipt
/// @notice docs/spec/spotcheck.md. The selector picks a slice — SLICE_ROWS rows of one matmul step
/// (src/protocol/spotcheck/slice.ts sliceOf). The worker's submission carries the Groth16 proof, its
/// public input (the Poseidon commitment of the slice's values) and the slice's trace values: the matmul's
/// input vector and the step's output vector, each with its Merkle path to the receipt's trace root.
/// `verifySlice` checks the paths (so the trace values are on chain, proven to be the receipt's) and the
/// proof. That the commitment is the commitment of exactly those values and of the model's weight rows is
/// checked optimistically: `bindingHolds` recomputes it (Poseidon on chain, about 3M gas) when someone
/// challenges, and SpotChecks slashes the worker when it does not hold. Evidence that does not fit its
/// commitments reverts (StepEvidenceMalformed) and accuses nobody.
contract ZkSliceVerifier is ISpotCheckVerifier, EngineCommitments {
    uint256 public constant SLICE_INPUTS = 288;
    uint256 public constant SLICE_ROWS = 3;

    SliceProofVerifier public immutable groth16;
    PoseidonT17 public immutable poseidon;

    /// @notice A worker's submission (src/chain/zkSpotChecks.ts encodes it).
    struct SliceProof {
        uint256[8] proof;
        uint256 commitment;
        uint32[8] shape;
        bytes32[] shapeProof; // model leaf 0
        bytes input; // the input step's output bytes: shift u8 ‖ int16le × dim
        bytes32[] inputProof;
        bytes output; // the matmul step's output bytes: int32le × rows
        bytes32[] outputProof;
    }

    /// @notice A slice: rows [row0, row0 + SLICE_ROWS) of the matmul `step`, reading `inputOp`'s output.
    struct Slice {
        Step step;
        uint256 inputOp;
        uint256 rows;
        uint256 tensor;
        uint256 row0;
    }

    constructor(SliceProofVerifier groth16_, PoseidonT17 poseidon_) {
        groth16 = groth16_;
        poseidon = poseidon_;
    }

    /// @inheritdoc ISpotCheckVerifier
    function verifySlice(DisputeGame.Subject calldata subject, bytes32 selector, bytes calldata proof)
        external
        view
        returns (bool)
    {
        SliceProof calldata sp = _decode(proof);
        _provenSlice(subject, selector, sp);
        return groth16.verifyProof(sp.proof, sp.commitment);
    }

    /// @inheritdoc ISpotCheckVerifier
    function bindingHolds(
        DisputeGame.Subject calldata subject,
        bytes32 selector,
        bytes calldata proof,
        bytes calldata weights,
        bytes32[] calldata weightsProof
    ) external view returns (bool) {
        (Shape memory sh, Slice memory sl) = _provenSlice(subject, selector, _decode(proof));
        _checkRows(sh, sl, weights, weightsProof);
        return _commitmentHolds(sh, sl, _decode(proof), weights);
    }

    function _commitmentHolds(Shape memory sh, Slice memory sl, SliceProof calldata sp, bytes calldata weights)
        private
        view
        returns (bool)
    {
        return poseidon.sponge(sliceElements(sh, sl, sp.input, sp.output, weights)) == sp.commitment;
    }

    /// @notice The slice a selector picks in a trace of `positions` positions (slice.ts sliceOf):
    /// successive remainders of the selector pick the position, the layer, the operation (Q, K, V, WO,
    /// W1, W3) and the block of rows; the last block of an operation overlaps the one before.
    function sliceOf(Shape memory sh, uint256 positions, uint256 selector) public pure returns (Slice memory sl) {
        uint256 s = selector;
        sl.step.pos = s % positions;
        s /= positions;
        sl.step.layer = s % sh.nLayers;
        s /= sh.nLayers;
        uint256 which = s % 6;
        s /= 6;
        uint8[6] memory ops = [uint8(Q), uint8(K), uint8(V), uint8(WO), uint8(W1), uint8(W3)];
        uint8[6] memory tensors = [uint8(T_WQ), uint8(T_WK), uint8(T_WV), uint8(T_WO), uint8(T_W1), uint8(T_W3)];
        sl.step.op = ops[which];
        sl.tensor = tensors[which];
        sl.inputOp = which < 3 ? ATT_QUANT : which == 3 ? ATTN_QUANT : FFN_QUANT;
        sl.rows = which == 1 || which == 2 ? sh.kvDim : which >= 4 ? sh.hidden : sh.dim;
        uint256 block = (s % ((sl.rows + SLICE_ROWS - 1) / SLICE_ROWS)) * SLICE_ROWS;
        sl.row0 = block < sl.rows - SLICE_ROWS ? block : sl.rows - SLICE_ROWS;
    }

    uint256 internal constant INPUT_ELEMENTS = (SLICE_INPUTS + 14) / 15;
    uint256 internal constant ROW_ELEMENTS = (SLICE_INPUTS + 30) / 31;

    /// @notice The committed elements of docs/spec/spotcheck.md §2 (slice.ts sliceElements).
    function sliceElements(
        Shape memory sh,
        Slice memory sl,
        bytes calldata input,
        bytes calldata output,
        bytes calldata weights
    ) public pure returns (uint256[] memory e) {
        e = new uint256[](1 + INPUT_ELEMENTS + SLICE_ROWS * (ROW_ELEMENTS + 1));
        e[0] = SLICE_INPUTS + (SLICE_ROWS << 16) + (uint256(uint8(input[0])) << 32);
        for (uint256 j = 0; j < SLICE_INPUTS; j++) {
            uint256 a = j < sh.dim ? uint256(int256(_int16le(input, 1 + 2 * j)) + 32768) : 32768;
            e[1 + j / 15] |= a << (16 * (j % 15));
        }
        for (uint256 r = 0; r < SLICE_ROWS; r++) {
            _packRow(e, 1 + INPUT_ELEMENTS + r * (ROW_ELEMENTS + 1), weights[r * (4 + sh.dim):(r + 1) * (4 + sh.dim)]);
            int256 y = _int32le(output, 4 * (sl.row0 + r));
            e[1 + INPUT_ELEMENTS + r * (ROW_ELEMENTS + 1) + ROW_ELEMENTS] |= uint256(y + (1 << 24)) << 22;
        }
    }

    /// @dev One row's elements from its model bytes (scale int32le ‖ int8 × dim): the packed weights at
    /// `base`, then the scale (the output is added by the caller).
    function _packRow(uint256[] memory e, uint256 base, bytes calldata row) private pure {
        uint256 dim = row.length - 4;
        for (uint256 j = 0; j < SLICE_INPUTS; j++) {
            uint256 q = j < dim ? uint256(int256(int8(uint8(row[4 + j]))) + 128) : 128;
            e[base + j / 31] |= q << (8 * (j % 31));
        }
        e[base + ROW_ELEMENTS] = uint256(_int32le(row, 0));
    }

    // ---- evidence ----

    function _decode(bytes calldata proof) internal pure returns (SliceProof calldata sp) {
        if (proof.length < 32) revert StepEvidenceMalformed("proof too short");
        assembly ("memory-safe") {
            sp := add(proof.offset, calldataload(proof.offset))
        }
    }

    /// @dev The shape (proven against the model root), the selected slice, and the input and output
    /// vectors proven against the trace root at the slice's steps.
    function _provenSlice(DisputeGame.Subject calldata subject, bytes32 selector, SliceProof calldata sp)
        internal
        pure
        returns (Shape memory sh, Slice memory sl)
    {
        sh = shapeOf(sp.shape, sp.shapeProof, subject.weightsHash);
        if (sh.dim > SLICE_INPUTS) revert StepEvidenceMalformed("the model is wider than the circuit");
        if (sh.kvDim < SLICE_ROWS) revert StepEvidenceMalformed("a matmul has fewer rows than a slice");
        if (subject.leafCount == 0 || subject.leafCount % sh.perPosition != 0) {
            revert StepEvidenceMalformed("the trace is not whole positions");
        }
        sl = sliceOf(sh, subject.leafCount / sh.perPosition, uint256(selector));
        if (sp.input.length != 1 + 2 * sh.dim) revert StepEvidenceMalformed("an input vector of the wrong size");
        if (sp.output.length != 4 * sl.rows) revert StepEvidenceMalformed("an output vector of the wrong size");
        uint256 depth = treeDepth(subject.leafCount);
        Step memory inputStep = Step(sl.step.pos, sl.step.layer, sl.inputOp, 0);
        bytes32 leaf = leafHash(inputStep, keccak256(sp.input));
        if (!verifyPath(subject.traceRoot, leaf, indexOfStep(sh, inputStep), sp.inputProof, depth)) {
            revert StepEvidenceMalformed("the input vector is not the trace's");
        }
        leaf = leafHash(sl.step, keccak256(sp.output));
        if (!verifyPath(subject.traceRoot, leaf, indexOfStep(sh, sl.step), sp.outputProof, depth)) {
            revert StepEvidenceMalformed("the output vector is not the trace's");
        }
    }

    /// @dev The slice's weight rows (scale int32le ‖ int8 row each) proven against the model root.
    function _checkRows(Shape memory sh, Slice memory sl, bytes calldata weights, bytes32[] calldata proof)
        internal
        pure
    {
        uint256 size = 4 + sh.dim;
        if (weights.length != SLICE_ROWS * size) revert StepEvidenceMalformed("weight rows of the wrong size");
        bytes32[] memory leaves = new bytes32[](SLICE_ROWS);
        for (uint256 i = 0; i < SLICE_ROWS; i++) {
            leaves[i] = keccak256(
                abi.encodePacked(
                    uint16(sl.tensor), uint16(sl.step.layer), uint32(sl.row0 + i), weights[i * size:(i + 1) * size]
                )
            );
        }
        uint256 first = tensorStart(sh, sl.tensor, sl.step.layer) + sl.row0;
        if (!verifyRange(sh.modelRoot, leaves, first, proof, sh.modelDepth)) {
            revert StepEvidenceMalformed("weight rows are not the registered model's");
        }
    }

    function _int16le(bytes calldata b, uint256 at) internal pure returns (int16) {
        return int16(uint16(uint8(b[at])) | (uint16(uint8(b[at + 1])) << 8));
    }

    function _int32le(bytes calldata b, uint256 at) internal pure returns (int256) {
        uint32 v = uint32(uint8(b[at])) | (uint32(uint8(b[at + 1])) << 8) | (uint32(uint8(b[at + 2])) << 16)
            | (uint32(uint8(b[at + 3])) << 24);
        return int256(int32(v));
    }
}
