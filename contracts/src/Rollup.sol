// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Receipts} from "./Receipts.sol";
import {Registry} from "./Registry.sol";
import {VerinferToken} from "./VerinferToken.sol";

/// @title The settlement contract: batches of receipts, their challenge windows and finality
/// @notice docs/spec/otr.md §3; src/protocol/rollup/rollupState.ts is the same state machine. Receipts
/// are EIP-712 data in this contract's domain (`verinfer`, `1`, chainId, this address). The sequencer
/// posts batch roots in index order, bonded; each receipt becomes final when its batch's window closes
/// unless the dispute game opened a dispute against it, and a lost dispute voids that receipt alone. A
/// censored client forces its receipt in, as a batch of one numbered from FORCED_BASE so that it never
/// takes an index the sequencer has promised; a sequencer that breaks a signed inclusion promise loses
/// its bond.
contract Rollup is Ownable, EIP712 {
    using SafeERC20 for IERC20;

    enum DataKind {
        Calldata,
        Blob,
        Forced
    }

    enum Status {
        Unknown,
        Posted,
        Disputed,
        Final,
        Voided
    }

    /// @dev Two storage words. The data's pointer (keccak256 of the calldata, or of the blobs' versioned
    /// hashes) and who posted are in the BatchPosted event, which readers of the data follow anyway; a
    /// forced receipt's digest is in ReceiptForced.
    struct Batch {
        bytes32 root;
        uint32 count;
        DataKind kind;
        uint64 postedAt;
        /// @dev The block it was posted in: spot-check selection draws from a later block's hash.
        uint64 postedBlock;
    }

    struct InclusionPromise {
        bytes32 receiptDigest;
        uint64 batch;
        uint32 position;
        uint64 admittedAt;
    }

    bytes32 internal constant PROMISE_TYPEHASH =
        keccak256("InclusionPromise(bytes32 receiptDigest,uint64 batch,uint32 position,uint64 admittedAt)");

    Registry public immutable registry;
    VerinferToken public immutable token;
    uint64 public immutable challengeWindow;
    /// @notice Seconds after its signing (the receipt's timestamp, in ms) past which a receipt is stale
    /// when posted or forced in: no dispute or spot-check opens over it (docs/spec/otr.md §3.4), so a
    /// worker keeps what its defence needs for a bounded time.
    uint64 public immutable maxReceiptAge;
    uint256 public immutable minSequencerBond;
    /// @notice Share (basis points) of a slashed sequencer bond paid to whoever proved the breach.
    uint256 public immutable proverShareBps;

    /// @notice Forced receipts are batches FORCED_BASE, FORCED_BASE + 1, …: the sequencer's indices
    /// (0, 1, …, promised to clients before they are posted) stay its own. Below 2^32, every batch index
    /// fits the 4-byte batch field of revealed scores (ScoreCommits).
    uint64 public constant FORCED_BASE = 1 << 31;

    address public sequencer;
    /// @notice Batches the sequencer has posted (packed with `sequencer`: posting reads both).
    uint64 public batchCount;
    /// @notice Receipts forced in by their clients.
    uint64 public forcedCount;
    uint256 public sequencerBond;
    /// @notice The dispute game: the one contract that may open and settle disputes.
    address public disputeGame;
    /// @dev A batch's count is never 0: a zero count means no such batch.
    mapping(uint64 index => Batch) internal batches;
    /// @dev keccak256(batch, position) → 1 disputed, 2 voided.
    mapping(bytes32 => uint8) internal marks;
    mapping(bytes32 digest => bool) public forced;
    /// @dev Promises already proven broken (each is slashed once).
    mapping(bytes32 => bool) internal brokenProven;

    event SequencerSet(address indexed sequencer);
    event DisputeGameSet(address indexed game);
    event BondDeposited(address indexed sequencer, uint256 amount);
    event BatchPosted(uint64 indexed index, bytes32 root, uint32 count, DataKind kind, bytes32 dataRef);
    event ReceiptForced(uint64 indexed index, bytes32 indexed digest, address client);
    event DisputeOpened(uint64 indexed batch, uint32 position);
    event DisputeSettled(uint64 indexed batch, uint32 position, bool voided);
    event InvalidInclusionProven(uint64 indexed batch, uint32 position, uint8 fault, address prover, uint256 slashed);
    event PromiseBroken(uint64 indexed batch, uint32 position, bytes32 receiptDigest, address prover, uint256 slashed);

    error NotSequencer(address caller);
    error NotDisputeGame(address caller);
    error BondTooLow(uint256 bond, uint256 minimum);
    error BatchIndexWrong(uint64 expected, uint64 given);
    error BatchDataMalformed(string why);
    error BatchUnknown(uint64 batch, uint32 position);
    error ChallengeWindowClosed(Status status);
    error ReceiptReplayed(bytes32 digest);
    error ReceiptNotInBatch(bytes32 digest);
    error SequencerPromiseKept(bytes32 digest);
    error PromiseSignatureInvalid(address recovered);
    error PromiseAlreadyProven();
    error NoBlob();
    error InclusionValid(bytes32 digest);
    error ReceiptStale(uint64 timestampMs, uint64 at);

    constructor(
        address owner,
        Registry registry_,
        uint64 challengeWindowSeconds,
        uint64 maxReceiptAgeSeconds,
        uint256 minSequencerBond_,
        uint256 proverShareBps_
    ) Ownable(owner) EIP712("verinfer", "1") {
        registry = registry_;
        token = registry_.token();
        challengeWindow = challengeWindowSeconds;
        maxReceiptAge = maxReceiptAgeSeconds;
        minSequencerBond = minSequencerBond_;
        proverShareBps = proverShareBps_;
    }

    // ---- governance ----

    function setSequencer(address sequencer_) external onlyOwner {
        sequencer = sequencer_;
        emit SequencerSet(sequencer_);
    }

    function setDisputeGame(address game) external onlyOwner {
        disputeGame = game;
        emit DisputeGameSet(game);
    }

    /// @notice The sequencer's bond behind its promises (anyone may top it up).
    function depositBond(uint256 amount) external {
        IERC20(address(token)).safeTransferFrom(msg.sender, address(this), amount);
        sequencerBond += amount;
        emit BondDeposited(sequencer, amount);
    }

    // ---- batches ----

    /// @notice Posts batch `index` with its data in this transaction's calldata (src/protocol/rollup/batchData.ts).
    function postBatch(uint64 index, bytes32 root, uint32 count, bytes calldata data) external {
        _post(index, root, count, DataKind.Calldata, keccak256(data));
    }

    /// @notice Posts batch `index` whose data is this transaction's blobs, in order (a 1 MiB batch needs
    /// up to nine): the data pointer is keccak256 of their versioned hashes (src/chain/blobs.ts).
    function postBatchBlob(uint64 index, bytes32 root, uint32 count) external {
        if (blobhash(0) == bytes32(0)) revert NoBlob();
        uint256 n = 1;
        while (blobhash(n) != bytes32(0)) n++;
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) hashes[i] = blobhash(i);
        _post(index, root, count, DataKind.Blob, keccak256(abi.encodePacked(hashes)));
    }

    function _post(uint64 index, bytes32 root, uint32 count, DataKind kind, bytes32 dataRef) internal {
        if (msg.sender != sequencer) revert NotSequencer(msg.sender);
        if (sequencerBond < minSequencerBond) revert BondTooLow(sequencerBond, minSequencerBond);
        uint64 next = batchCount;
        // The sequencer's index space ends where forced receipts' begins.
        if (index != next || next == FORCED_BASE) revert BatchIndexWrong(next, index);
        if (count == 0) revert BatchDataMalformed("a batch holds at least one receipt");
        batchCount = next + 1;
        batches[index] = Batch(root, count, kind, uint64(block.timestamp), uint64(block.number));
        emit BatchPosted(index, root, count, kind, dataRef);
    }

    /// @notice A censored client includes its own receipt: the admission checks run here, and the
    /// receipt becomes a batch of one (root = its leaf at position 0) with its own window, numbered
    /// FORCED_BASE + n. A receipt the sequencer sequences as well is then on chain twice: epoch
    /// settlement counts each digest once (src/node/services/settler/settlerService.ts).
    function forceInclude(Receipts.Receipt calldata r, bytes calldata signature) external returns (uint64 index) {
        bytes32 digest = registry.checkReceipt(r, signature, _domainSeparatorV4());
        if (_stale(r.timestamp, block.timestamp)) revert ReceiptStale(r.timestamp, uint64(block.timestamp));
        if (forced[digest]) revert ReceiptReplayed(digest);
        forced[digest] = true;
        index = FORCED_BASE + forcedCount++;
        batches[index] = Batch(
            Receipts.leaf(0, digest, signature), 1, DataKind.Forced, uint64(block.timestamp), uint64(block.number)
        );
        emit ReceiptForced(index, digest, msg.sender);
    }

    // ---- status and disputes ----

    function batch(uint64 index) external view returns (Batch memory) {
        return batches[index];
    }

    /// @notice Whether a receipt signed at `timestampMs` was stale when batch `index` was posted (receiptAge.ts).
    function receiptStale(uint64 index, uint64 timestampMs) external view returns (bool) {
        Batch storage b = batches[index];
        return b.count > 0 && _stale(timestampMs, b.postedAt);
    }

    function _stale(uint64 timestampMs, uint256 atSeconds) internal view returns (bool) {
        return uint256(timestampMs) + uint256(maxReceiptAge) * 1000 < atSeconds * 1000;
    }

    function windowEnd(uint64 index) public view returns (uint64) {
        Batch storage b = batches[index];
        return b.count > 0 ? b.postedAt + challengeWindow : type(uint64).max;
    }

    function status(uint64 index, uint32 position) public view returns (Status) {
        if (position >= batches[index].count) return Status.Unknown;
        uint8 mark = marks[_key(index, position)];
        if (mark == 2) return Status.Voided;
        if (mark == 1) return Status.Disputed;
        return block.timestamp >= windowEnd(index) ? Status.Final : Status.Posted;
    }

    /// @notice Whether `proof` shows the receipt (`digest`, signed with a signature hashing to
    /// `signatureHash`) at `position` of batch `index`.
    function includes(uint64 index, uint32 position, bytes32 digest, bytes32 signatureHash, bytes32[] calldata proof)
        public
        view
        returns (bool)
    {
        if (position >= batches[index].count) return false;
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(uint64(position), digest, signatureHash))));
        return MerkleProof.verifyCalldata(proof, batches[index].root, leaf);
    }

    function openDispute(uint64 index, uint32 position) external {
        if (msg.sender != disputeGame) revert NotDisputeGame(msg.sender);
        Status s = status(index, position);
        if (s == Status.Unknown) revert BatchUnknown(index, position);
        if (s != Status.Posted) revert ChallengeWindowClosed(s);
        marks[_key(index, position)] = 1;
        emit DisputeOpened(index, position);
    }

    function settleDispute(uint64 index, uint32 position, bool voided) external {
        if (msg.sender != disputeGame) revert NotDisputeGame(msg.sender);
        marks[_key(index, position)] = voided ? 2 : 0;
        emit DisputeSettled(index, position, voided);
    }

    // ---- invalid inclusions ----

    /// @notice Proves that receipt `position` of batch `index` should never have been admitted (a fault
    /// no later change can mend: Registry.invariantFault) while its window is open: the receipt is voided
    /// and a tenth of the minimum sequencer bond slashed, `proverShareBps` of it to the prover.
    function proveInvalidInclusion(
        uint64 index,
        uint32 position,
        Receipts.Receipt calldata r,
        bytes calldata signature,
        bytes32[] calldata proof
    ) external returns (uint8 fault) {
        bytes32 digest = Receipts.digest(r, _domainSeparatorV4());
        if (!includes(index, position, digest, keccak256(signature), proof)) revert ReceiptNotInBatch(digest);
        Status s = status(index, position);
        if (s != Status.Posted && s != Status.Disputed) revert ChallengeWindowClosed(s);
        fault = registry.invariantFault(r, signature, _domainSeparatorV4());
        if (fault == 0) revert InclusionValid(digest);
        marks[_key(index, position)] = 2;
        uint256 slashed = minSequencerBond / 10 < sequencerBond ? minSequencerBond / 10 : sequencerBond;
        sequencerBond -= slashed;
        uint256 paid = (slashed * proverShareBps) / 10_000;
        emit InvalidInclusionProven(index, position, fault, msg.sender, slashed);
        if (paid > 0) IERC20(address(token)).safeTransfer(msg.sender, paid);
        if (slashed > paid) token.burn(slashed - paid);
    }

    // ---- broken promises ----

    function promiseDigest(InclusionPromise calldata p) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(PROMISE_TYPEHASH, p.receiptDigest, p.batch, p.position, p.admittedAt)));
    }

    /// @notice Proves that the sequencer broke a promise it signed: the batch holds fewer receipts than
    /// the promised position, or `proof` shows another receipt at it. Slashes the sequencer's bond:
    /// `proverShareBps` to the caller, the rest burned.
    function proveBrokenPromise(
        InclusionPromise calldata p,
        bytes calldata sequencerSignature,
        bytes32 actualDigest,
        bytes32 actualSignatureHash,
        bytes32[] calldata proof
    ) external returns (uint256 slashed) {
        bytes32 pd = promiseDigest(p);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(pd, sequencerSignature);
        if (err != ECDSA.RecoverError.NoError || signer != sequencer) revert PromiseSignatureInvalid(signer);
        if (brokenProven[pd]) revert PromiseAlreadyProven();
        if (batches[p.batch].count == 0 || p.batch >= FORCED_BASE) revert BatchUnknown(p.batch, p.position);
        if (p.position < batches[p.batch].count) {
            if (!includes(p.batch, p.position, actualDigest, actualSignatureHash, proof)) {
                revert ReceiptNotInBatch(actualDigest);
            }
            if (actualDigest == p.receiptDigest) revert SequencerPromiseKept(actualDigest);
        }
        brokenProven[pd] = true;
        slashed = sequencerBond;
        sequencerBond = 0;
        uint256 paid = (slashed * proverShareBps) / 10_000;
        emit PromiseBroken(p.batch, p.position, p.receiptDigest, msg.sender, slashed);
        if (paid > 0) IERC20(address(token)).safeTransfer(msg.sender, paid);
        if (slashed > paid) token.burn(slashed - paid);
    }

    /// @notice The EIP-712 domain separator receipts and promises are signed under.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _key(uint64 index, uint32 position) internal pure returns (bytes32) {
        return keccak256(abi.encode(index, position));
    }
}
