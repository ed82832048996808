// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// forge-lint: disable-start(unsafe-typecast, incorrect-shift)

import {treeDepth, verifyPath} from "./OrderedMerkle.sol";

/// @title What a verifiable engine's receipt commits to, as the chain reads it
/// @notice The model shape and tree (src/protocol/verifiable/modelCommitment.ts) and the steps and leaves
/// of a trace (trace.ts), proven with OrderedMerkle.sol's paths. Shared by the one-step check
/// (TraceStepVerifier) and the ZK spot-check verifier (zk/ZkSliceVerifier), which read the same
/// commitments.
abstract contract EngineCommitments {
    /// @notice Evidence that does not fit its commitments (it accuses nobody).
    error StepEvidenceMalformed(string why);

    struct Shape {
        uint256 dim;
        uint256 hidden;
        uint256 nLayers;
        uint256 nHeads;
        uint256 nKvHeads;
        uint256 vocab;
        uint256 seqLen;
        bool shared;
        uint256 headSize;
        uint256 kvDim;
        uint256 perPosition;
        uint256 perLayer;
        uint256 modelDepth;
        bytes32 modelRoot;
    }

    /// @dev Rows [row0, row0 + count) of a tensor.
    struct Rows {
        uint256 tensor;
        uint256 layer;
        uint256 row0;
        uint256 count;
    }

    struct Step {
        uint256 pos;
        uint256 layer;
        uint256 op;
        uint256 part;
    }

    // Operations (trace.ts OP).
    uint256 internal constant EMBED = 0;
    uint256 internal constant ATT_NORM = 1;
    uint256 internal constant ATT_QUANT = 2;
    uint256 internal constant Q = 3;
    uint256 internal constant K = 4;
    uint256 internal constant V = 5;
    uint256 internal constant Q_ROPE = 6;
    uint256 internal constant K_ROPE = 7;
    uint256 internal constant ATTN = 8;
    uint256 internal constant ATTN_QUANT = 9;
    uint256 internal constant WO = 10;
    uint256 internal constant RESID1 = 11;
    uint256 internal constant FFN_NORM = 12;
    uint256 internal constant FFN_QUANT = 13;
    uint256 internal constant W1 = 14;
    uint256 internal constant W3 = 15;
    uint256 internal constant SWIGLU = 16;
    uint256 internal constant SWIGLU_QUANT = 17;
    uint256 internal constant W2 = 18;
    uint256 internal constant RESID2 = 19;
    uint256 internal constant FINAL_NORM = 20;
    uint256 internal constant FINAL_QUANT = 21;
    uint256 internal constant LOGITS = 22;
    uint256 internal constant SAMPLE = 23;
    uint256 internal constant LAYER_OPS = 19;
    uint256 internal constant PART_ROWS = 1024;

    // Tensors of the model commitment (modelCommitment.ts TENSOR).
    uint256 internal constant T_EMBEDDING = 1;
    uint256 internal constant T_RMS_ATT = 2;
    uint256 internal constant T_WQ = 3;
    uint256 internal constant T_WK = 4;
    uint256 internal constant T_WV = 5;
    uint256 internal constant T_WO = 6;
    uint256 internal constant T_RMS_FFN = 7;
    uint256 internal constant T_W1 = 8;
    uint256 internal constant T_W2 = 9;
    uint256 internal constant T_W3 = 10;
    uint256 internal constant T_RMS_FINAL = 11;
    uint256 internal constant T_WCLS = 12;

    /// @notice The model shape `f` (dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen,
    /// sharedClassifier), checked and proven as leaf 0 of the model tree under `modelRoot`.
    function shapeOf(uint32[8] calldata f, bytes32[] calldata proof, bytes32 modelRoot)
        internal
        pure
        returns (Shape memory sh)
    {
        sh.dim = f[0];
        sh.hidden = f[1];
        sh.nLayers = f[2];
        sh.nHeads = f[3];
        sh.nKvHeads = f[4];
        sh.vocab = f[5];
        sh.seqLen = f[6];
        sh.shared = f[7] == 1;
        if (
            sh.dim == 0 || sh.hidden == 0 || sh.nLayers == 0 || sh.nHeads == 0 || sh.nKvHeads == 0 || sh.vocab == 0
                || sh.seqLen == 0 || f[7] > 1 || sh.dim % sh.nHeads != 0 || (sh.dim / sh.nHeads) % 2 != 0
                || sh.nHeads % sh.nKvHeads != 0
        ) revert StepEvidenceMalformed("not a model shape");
        sh.headSize = sh.dim / sh.nHeads;
        sh.kvDim = sh.nKvHeads * sh.headSize;
        sh.perPosition = 1 + LAYER_OPS * sh.nLayers + 2 + (sh.vocab + PART_ROWS - 1) / PART_ROWS + 1;
        sh.perLayer = 2 + 3 * sh.dim + 2 * sh.kvDim + 2 * sh.hidden;
        uint256 leaves = 1 + sh.vocab + sh.nLayers * sh.perLayer + 1 + (sh.shared ? 0 : sh.vocab);
        sh.modelDepth = treeDepth(leaves);
        sh.modelRoot = modelRoot;
        bytes32 leaf =
            keccak256(abi.encodePacked("verinfer-int-model-v1", f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]));
        if (!verifyPath(modelRoot, leaf, 0, proof, sh.modelDepth)) {
            revert StepEvidenceMalformed("the shape is not the registered model's");
        }
    }

    /// @notice The model leaf of a tensor's first row (modelCommitment.ts's order).
    function tensorStart(Shape memory sh, uint256 tensor, uint256 layer) internal pure returns (uint256) {
        if (tensor == T_EMBEDDING) return 1;
        uint256 end = 1 + sh.vocab + sh.nLayers * sh.perLayer;
        if (tensor == T_RMS_FINAL) return end;
        if (tensor == T_WCLS) return end + 1;
        uint256 ptr = 1 + sh.vocab + layer * sh.perLayer;
        if (tensor == T_RMS_ATT) return ptr;
        ptr += 1;
        if (tensor == T_WQ) return ptr;
        ptr += sh.dim;
        if (tensor == T_WK) return ptr;
        ptr += sh.kvDim;
        if (tensor == T_WV) return ptr;
        ptr += sh.kvDim;
        if (tensor == T_WO) return ptr;
        ptr += sh.dim;
        if (tensor == T_RMS_FFN) return ptr;
        ptr += 1;
        if (tensor == T_W1) return ptr;
        ptr += sh.hidden;
        if (tensor == T_W2) return ptr;
        return ptr + sh.dim; // W3
    }

    // ---- steps and leaves (trace.ts, replay.ts) ----

    /// @notice The step committed by leaf `index` (stepAt).
    function stepAt(Shape memory sh, uint256 index) internal pure returns (Step memory st) {
        uint256 per = sh.perPosition;
        st.pos = index / per;
        uint256 k = index % per;
        if (k == 0) return st; // EMBED
        if (k <= LAYER_OPS * sh.nLayers) {
            st.layer = (k - 1) / LAYER_OPS;
            st.op = ATT_NORM + ((k - 1) % LAYER_OPS);
            return st;
        }
        st.layer = sh.nLayers;
        uint256 rest = k - 1 - LAYER_OPS * sh.nLayers;
        if (rest == 0) st.op = FINAL_NORM;
        else if (rest == 1) st.op = FINAL_QUANT;
        else if (k == per - 1) st.op = SAMPLE;
        else (st.op, st.part) = (LOGITS, rest - 2);
    }

    /// @notice The leaf index of a step (indexOfStep).
    function indexOfStep(Shape memory sh, Step memory st) internal pure returns (uint256) {
        uint256 base = st.pos * sh.perPosition;
        uint256 finals = 1 + LAYER_OPS * sh.nLayers;
        if (st.op == EMBED) return base;
        if (st.op == FINAL_NORM) return base + finals;
        if (st.op == FINAL_QUANT) return base + finals + 1;
        if (st.op == LOGITS) return base + finals + 2 + st.part;
        if (st.op == SAMPLE) return base + sh.perPosition - 1;
        return base + 1 + st.layer * LAYER_OPS + (st.op - ATT_NORM);
    }

    /// @notice The leaf committing a step's output (trace.ts leafHash).
    function leafHash(Step memory st, bytes32 outputHash) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(uint32(st.pos), uint16(st.layer), uint16(st.op), uint16(st.part), outputHash));
    }
}
