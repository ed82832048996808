// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {DisputeGame, TraceSubjects} from "./DisputeGame.sol";
import {Receipts} from "./Receipts.sol";
import {Registry} from "./Registry.sol";
import {Rollup} from "./Rollup.sol";

/// @notice Verifies a spot-check proof: that `proof` proves the slice `selector` picks of the execution a
/// receipt committed to (its trace root, model root, prompt and parameters). The ZK issue's Groth16
/// verifier plugs in here.
interface ISpotCheckVerifier {
    /// @notice Whether `proof` proves the slice `selector` picks of the receipt `subject` describes.
    function verifySlice(DisputeGame.Subject calldata subject, bytes32 selector, bytes calldata proof)
        external
        view
        returns (bool);

    /// @notice For verifiers that bind a proof to the receipt optimistically: whether a proof accepted
    /// by verifySlice is bound to the receipt's committed values, shown with the model's weight rows
    /// (verifiers that bind on the spot return true).
    function bindingHolds(
        DisputeGame.Subject calldata subject,
        bytes32 selector,
        bytes calldata proof,
        bytes calldata weights,
        bytes32[] calldata weightsProof
    ) external view returns (bool);
}

/// @title Stochastic spot-checks: selection, obligations, proofs, slashing
/// @notice docs/spec/otr.md §5; src/protocol/spotcheck/spotcheck.ts decides the same. A receipt at
/// `position` of batch `b` owes a proof iff uint256(keccak256(root ‖ position u64 ‖ seed)) < ⌊2^256·ρ⌋,
/// where seed is the hash of the block `seedDelayBlocks` after the batch's (unknown when the root was
/// committed). Anyone opens the obligation of a selected receipt (proving it is in the batch) while the
/// batch's challenge window is open; the worker proves it through the verifier by the deadline (the
/// opening's time + proofDeadline, so an obligation opened late still leaves the worker its whole
/// proofDeadline) or anyone slashes it for the missing proof, with a share to the reporter. Only the worker (its enclave key or its
/// operator) submits the proof, and its first submission decides, as settleObligation does: valid, the
/// obligation is met; invalid, the worker is slashed at once. Nobody else can submit in its name, so
/// nobody can get an honest worker slashed with a bad proof.
contract SpotChecks is ReentrancyGuard {
    enum Status {
        None,
        Open,
        Proven,
        Slashed
    }

    /// @dev Four storage words: status, both deadlines and the worker share one. The trace subject is not
    /// stored: ObligationOpened carries it and calls that need it pass it back, checked by its hash.
    struct Obligation {
        Status status;
        uint40 deadline;
        /// @dev Set when proven: the binding of the proof can be challenged until bindingDeadline.
        uint40 bindingDeadline;
        address worker;
        bytes32 selector;
        bytes32 subjectHash;
        bytes32 proofHash;
    }

    Registry public immutable registry;
    Rollup public immutable rollup;
    ISpotCheckVerifier public immutable verifier;
    uint32 public immutable rhoPpm;
    uint8 public immutable seedDelayBlocks;
    uint32 public immutable proofDeadline;
    uint32 public immutable bindingWindow;
    uint256 public immutable missingProofSlash;
    uint256 public immutable reporterShareBps;

    mapping(uint64 batch => bytes32) public seeds;
    mapping(bytes32 key => Obligation) internal obligations;

    event SeedFixed(uint64 indexed batch, bytes32 seed);
    event ObligationOpened(
        uint64 indexed batch,
        uint32 position,
        address worker,
        uint64 deadline,
        bytes32 selector,
        DisputeGame.Subject subject
    );
    event ObligationProven(uint64 indexed batch, uint32 position);
    event ObligationSlashed(uint64 indexed batch, uint32 position, address worker, uint256 amount, address reporter);
    event BindingBroken(uint64 indexed batch, uint32 position, address worker, uint256 amount, address challenger);

    error SeedNotYet(uint256 seedBlock);
    error SeedExpired(uint256 seedBlock);
    error SeedUnknown(uint64 batch);
    error NotSelected(uint64 batch, uint32 position);
    error ReceiptNotInBatch(bytes32 digest);
    error ObligationExists(uint64 batch, uint32 position);
    error ObligationWindowClosed(uint64 windowEnd);
    error ReceiptStale(uint64 batch, uint64 timestampMs);
    error ObligationNotOpen(uint64 batch, uint32 position);
    error ProofTooLate(uint64 deadline);
    error NotTheWorker(address caller);
    error ProofNotDue(uint64 deadline);
    error ObligationNotProven(uint64 batch, uint32 position);
    error BindingWindowOver(uint64 deadline);
    error NotTheProof(bytes32 proofHash);
    error BindingHolds(uint64 batch, uint32 position);
    error NotTheSubject(bytes32 subjectHash);

    struct Params {
        uint32 rhoPpm;
        uint8 seedDelayBlocks;
        uint32 proofDeadline;
        uint32 bindingWindow;
        uint256 missingProofSlash;
        uint256 reporterShareBps;
    }

    constructor(Registry registry_, Rollup rollup_, ISpotCheckVerifier verifier_, Params memory p) {
        require(p.rhoPpm <= 1_000_000 && p.seedDelayBlocks >= 1 && p.reporterShareBps <= 10_000, "bad params");
        registry = registry_;
        rollup = rollup_;
        verifier = verifier_;
        rhoPpm = p.rhoPpm;
        seedDelayBlocks = p.seedDelayBlocks;
        proofDeadline = p.proofDeadline;
        bindingWindow = p.bindingWindow;
        missingProofSlash = p.missingProofSlash;
        reporterShareBps = p.reporterShareBps;
    }

    // ---- selection ----

    /// @notice Records batch `b`'s seed: the hash of block postedBlock + seedDelayBlocks, once it exists
    /// and while the EVM still returns it (256 blocks). Anyone may call; there is one seed per batch.
    function fixSeed(uint64 b) external returns (bytes32 seed) {
        seed = seeds[b];
        if (seed != bytes32(0)) return seed;
        uint256 seedBlock = uint256(rollup.batch(b).postedBlock) + seedDelayBlocks;
        if (block.number <= seedBlock) revert SeedNotYet(seedBlock);
        seed = blockhash(seedBlock);
        if (seed == bytes32(0)) revert SeedExpired(seedBlock);
        seeds[b] = seed;
        emit SeedFixed(b, seed);
    }

    /// @notice ⌊2^256 · ρ⌋ (selectionThreshold); ρ = 100% selects everything.
    function threshold() public view returns (uint256) {
        return Math.mulDiv(1 << 255, 2 * uint256(rhoPpm), 1_000_000);
    }

    /// @notice uint256(keccak256(root ‖ position u64 ‖ seed)) (selectionDraw).
    function draw(bytes32 root, uint32 position, bytes32 seed) public pure returns (uint256) {
        return uint256(keccak256(abi.encodePacked(root, uint64(position), seed)));
    }

    /// @notice Whether the receipt at `position` of batch `b` owes a proof (its seed must be fixed).
    function isSelected(uint64 b, uint32 position) public view returns (bool) {
        bytes32 seed = seeds[b];
        if (seed == bytes32(0)) revert SeedUnknown(b);
        return rhoPpm == 1_000_000 || draw(rollup.batch(b).root, position, seed) < threshold();
    }

    // ---- obligations ----

    /// @notice Opens the obligation of a selected receipt, shown to be at `position` of batch `b`.
    function open(
        uint64 b,
        uint32 position,
        Receipts.Receipt calldata r,
        bytes calldata signature,
        bytes32[] calldata proof
    ) external returns (bytes32 key) {
        bytes32 digest = Receipts.digest(r, rollup.domainSeparator());
        if (!rollup.includes(b, position, digest, keccak256(signature), proof)) revert ReceiptNotInBatch(digest);
        if (!isSelected(b, position)) revert NotSelected(b, position);
        // A receipt posted past its maximum age: its worker need no longer hold what a proof takes.
        if (rollup.receiptStale(b, r.timestamp)) revert ReceiptStale(b, r.timestamp);
        // Only while the receipt can still be disputed: a worker keeps what a proof needs that long, and
        // no longer.
        uint64 windowEnd = rollup.windowEnd(b);
        if (block.timestamp >= windowEnd) revert ObligationWindowClosed(windowEnd);
        key = keyOf(b, position);
        Obligation storage o = obligations[key];
        if (o.status != Status.None) revert ObligationExists(b, position);
        o.status = Status.Open;
        // From the opening, not the posting: an obligation nobody opened in time, opened late, must not be
        // overdue at once (its opener could then slash an honest worker that never had the chance to prove).
        // forge-lint: disable-next-line(unsafe-typecast)
        o.deadline = uint40(block.timestamp + proofDeadline); // seconds: 2^40 is 34,000 years
        o.worker = r.worker;
        o.selector = keccak256(abi.encode(seeds[b], rollup.batch(b).root, position));
        (DisputeGame.Subject memory subject,) = TraceSubjects.subjectOf(registry, r, b, position);
        o.subjectHash = keccak256(abi.encode(subject));
        emit ObligationOpened(b, position, r.worker, o.deadline, o.selector, subject);
    }

    /// @notice The worker answers its open obligation before the deadline: a valid proof meets it, an
    /// invalid one slashes the worker (the caller's own submission; no share is paid for it).
    /// `subject` is the one ObligationOpened carried.
    function prove(uint64 b, uint32 position, DisputeGame.Subject calldata subject, bytes calldata proof)
        external
        nonReentrant
        returns (bool valid)
    {
        Obligation storage o = obligations[keyOf(b, position)];
        if (o.status != Status.Open) revert ObligationNotOpen(b, position);
        (address operator,,,,,) = registry.participant(o.worker);
        if (msg.sender != o.worker && msg.sender != operator) revert NotTheWorker(msg.sender);
        if (block.timestamp > o.deadline) revert ProofTooLate(o.deadline);
        if (keccak256(abi.encode(subject)) != o.subjectHash) revert NotTheSubject(o.subjectHash);
        valid = verifier.verifySlice(subject, o.selector, proof);
        if (valid) {
            o.status = Status.Proven;
            o.proofHash = keccak256(proof);
            // forge-lint: disable-next-line(unsafe-typecast)
            o.bindingDeadline = uint40(block.timestamp + bindingWindow);
            emit ObligationProven(b, position);
        } else {
            o.status = Status.Slashed;
            uint256 taken = registry.slash(o.worker, missingProofSlash, address(0), 0);
            emit ObligationSlashed(b, position, o.worker, taken, address(0));
        }
    }

    /// @notice Slashes the worker of an obligation still unproven after its deadline; the reporter gets
    /// `reporterShareBps` of it, the rest is burned.
    function slashMissing(uint64 b, uint32 position) external nonReentrant returns (uint256 taken) {
        Obligation storage o = obligations[keyOf(b, position)];
        if (o.status != Status.Open) revert ObligationNotOpen(b, position);
        if (block.timestamp <= o.deadline) revert ProofNotDue(o.deadline);
        o.status = Status.Slashed;
        taken = registry.slash(o.worker, missingProofSlash, msg.sender, reporterShareBps);
        emit ObligationSlashed(b, position, o.worker, taken, msg.sender);
    }

    /// @notice Anyone shows, until the binding window closes, that an accepted proof is not bound to the
    /// receipt (the verifier recomputes its public input from the receipt's values and the model's
    /// `weights`): the worker is slashed, the challenger gets `reporterShareBps`. An honest worker's
    /// binding always holds, and then the challenge reverts.
    function challengeBinding(
        uint64 b,
        uint32 position,
        DisputeGame.Subject calldata subject,
        bytes calldata proof,
        bytes calldata weights,
        bytes32[] calldata weightsProof
    ) external nonReentrant returns (uint256 taken) {
        Obligation storage o = obligations[keyOf(b, position)];
        if (o.status != Status.Proven) revert ObligationNotProven(b, position);
        if (block.timestamp > o.bindingDeadline) revert BindingWindowOver(o.bindingDeadline);
        if (keccak256(proof) != o.proofHash) revert NotTheProof(o.proofHash);
        if (keccak256(abi.encode(subject)) != o.subjectHash) revert NotTheSubject(o.subjectHash);
        if (verifier.bindingHolds(subject, o.selector, proof, weights, weightsProof)) {
            revert BindingHolds(b, position);
        }
        o.status = Status.Slashed;
        taken = registry.slash(o.worker, missingProofSlash, msg.sender, reporterShareBps);
        emit BindingBroken(b, position, o.worker, taken, msg.sender);
    }

    function obligation(uint64 b, uint32 position) external view returns (Obligation memory) {
        return obligations[keyOf(b, position)];
    }

    function keyOf(uint64 b, uint32 position) public pure returns (bytes32) {
        return keccak256(abi.encode(b, position));
    }
}
