// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Receipts} from "./Receipts.sol";
import {VerinferToken} from "./VerinferToken.sol";

/// @title Registry of models, workers, evaluators and fishermen, with their stakes
/// @notice docs/spec/otr.md §1 and §6.1; src/protocol/poea/stakes.ts is the same state machine in
/// TypeScript. A participant is identified by its signing address (a worker's enclave key) and run by an
/// operator (the account that registered and stakes for it). Stake is slashable while it unbonds.
///
/// NVIDIA evidence (P-384 certificates, XML-signed RIMs) cannot be verified on chain at sane gas. A
/// worker's attestation reaches the chain as an attester's EIP-712 verdict over the evidence digest:
/// `Attestation(worker, operator, modelId, attestationHash, expiresAt)`, signed by an attester the owner
/// lists after it verified the public evidence with `verinfer attest verify`. That adds trust in the
/// attesters (docs/contracts.md says how much and how to remove an attester that lied).
contract Registry is Ownable, EIP712 {
    using SafeERC20 for IERC20;

    enum Role {
        None,
        Worker,
        Evaluator,
        Fisherman
    }

    struct Unbonding {
        uint128 amount;
        uint64 availableAt;
    }

    struct Participant {
        address operator;
        Role role;
        bytes32 modelId;
        bytes32 attestationHash;
        uint64 attestedUntil;
        /// @dev When a reattestation last changed the worker's evidence (0: never).
        uint64 evidenceChangedAt;
        /// @dev The evidence before that change: a receipt naming it and signed before the change was
        /// admissible when signed, and stays so (`checkReceipt`): a client can still force it in.
        bytes32 previousAttestationHash;
        uint256 active;
        Unbonding[] unbonding;
    }

    struct Model {
        bytes32 weightsHash;
        /// @dev Trace leaves per position of the verifiable engine (engine spec v2): a receipt's trace has
        /// stepsPerPosition × (inputTokens + max(outputTokens, 1) − 1) leaves. 0: not verifiable (no disputes).
        uint32 stepsPerPosition;
        /// @dev The longest trace (in positions) whose every one-step check fits a block: longer receipts
        /// cannot be disputed (a leaf nobody can answer on chain would convict an honest worker), and rely
        /// on attestation and spot-checks alone. Measured per shape (`npm run bench -- contracts`).
        uint32 maxDisputePositions;
        bool registered;
    }

    bytes32 internal constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(address worker,address operator,bytes32 modelId,bytes32 attestationHash,uint64 expiresAt)"
    );
    /// @notice Pending unbondings per participant (each withdrawal walks them).
    uint256 public constant MAX_UNBONDINGS = 16;

    VerinferToken public immutable token;
    uint64 public immutable unbondingDelay;
    /// @notice Minimum active stake per role (index = Role).
    uint256[4] public minStake;

    mapping(bytes32 modelId => Model) public models;
    mapping(bytes32 modelId => mapping(bytes32 engineHash => bool)) public engineAllowed;
    mapping(address => Participant) internal participants;
    mapping(address => bool) public attesters;
    mapping(address => bool) public slashers;
    /// @notice Totals for reconciliation: deposited = held + withdrawn + slashed.
    uint256 public deposited;
    uint256 public withdrawn;
    uint256 public slashed;

    event ModelRegistered(
        bytes32 indexed modelId, bytes32 weightsHash, uint32 stepsPerPosition, uint32 maxDisputePositions
    );
    event EngineAllowed(bytes32 indexed modelId, bytes32 indexed engineHash, bool allowed);
    event AttesterSet(address indexed attester, bool allowed);
    event SlasherSet(address indexed slasher, bool allowed);
    event Registered(address indexed participant, address indexed operator, Role role, bytes32 modelId);
    event Attested(address indexed worker, bytes32 attestationHash, uint64 until);
    event Deposited(address indexed participant, uint256 amount);
    event UnbondingStarted(address indexed participant, uint256 amount, uint64 availableAt);
    event Withdrawn(address indexed participant, uint256 amount);
    event Slashed(address indexed participant, uint256 amount, address beneficiary, uint256 paid);

    error ZeroAmount();
    error UnknownModel(bytes32 modelId);
    error AlreadyRegistered(address participant);
    error NotRegistered(address participant);
    error NotOperator(address participant, address caller);
    error NotWorker(address participant);
    error AttesterUnknown(address recovered);
    error AttestationExpired(uint64 expiresAt);
    error UnbondTooLarge(uint256 active, uint256 requested);
    error TooManyUnbondings();
    error NotSlasher(address caller);
    error ShareTooLarge(uint256 bps);
    /// @dev Receipt verdicts, named as the TypeScript verdict codes (RECEIPT_*).
    error ReceiptWorkerUnknown(address worker);
    error ReceiptSignatureInvalid(address recovered);
    error ReceiptWorkerNotAttested(address worker);
    error ReceiptAttestationMismatch(bytes32 receipt, bytes32 registered);
    error ReceiptWorkerUnstaked(uint256 stake, uint256 minimum);
    error ReceiptModelMismatch(bytes32 modelId, bytes32 weightsHash);
    error ReceiptEngineNotAllowed(bytes32 engineHash);
    error ReceiptNotDisputable(uint64 positions, uint32 maxDisputePositions);

    constructor(address owner, VerinferToken token_, uint64 unbondingDelay_, uint256[4] memory minStake_)
        Ownable(owner)
        EIP712("verinfer-registry", "1")
    {
        token = token_;
        unbondingDelay = unbondingDelay_;
        minStake = minStake_;
    }

    // ---- governance ----

    function registerModel(
        bytes32 modelId,
        bytes32 weightsHash,
        uint32 stepsPerPosition,
        uint32 maxDisputePositions,
        bytes32[] calldata engines
    ) external onlyOwner {
        models[modelId] = Model(weightsHash, stepsPerPosition, maxDisputePositions, true);
        emit ModelRegistered(modelId, weightsHash, stepsPerPosition, maxDisputePositions);
        for (uint256 i = 0; i < engines.length; i++) {
            engineAllowed[modelId][engines[i]] = true;
            emit EngineAllowed(modelId, engines[i], true);
        }
    }

    function setEngine(bytes32 modelId, bytes32 engineHash, bool allowed) external onlyOwner {
        if (!models[modelId].registered) revert UnknownModel(modelId);
        engineAllowed[modelId][engineHash] = allowed;
        emit EngineAllowed(modelId, engineHash, allowed);
    }

    function setAttester(address attester, bool allowed) external onlyOwner {
        attesters[attester] = allowed;
        emit AttesterSet(attester, allowed);
    }

    function setSlasher(address slasher, bool allowed) external onlyOwner {
        slashers[slasher] = allowed;
        emit SlasherSet(slasher, allowed);
    }

    // ---- registration ----

    /// @notice Registers `worker` (its enclave key's address) for `modelId`, operated by the caller, with
    /// an attester's verdict over its evidence.
    function registerWorker(
        address worker,
        bytes32 modelId,
        bytes32 attestationHash,
        uint64 expiresAt,
        bytes calldata attesterSignature
    ) external {
        if (!models[modelId].registered) revert UnknownModel(modelId);
        Participant storage p = _new(worker, Role.Worker);
        p.modelId = modelId;
        emit Registered(worker, msg.sender, Role.Worker, modelId);
        _attest(p, worker, attestationHash, expiresAt, attesterSignature);
    }

    /// @notice Renews a worker's attestation (new evidence, or the old one re-verified before expiry).
    /// New evidence keeps the previous one for the receipts signed before the change (`checkReceipt`).
    function reattest(address worker, bytes32 attestationHash, uint64 expiresAt, bytes calldata attesterSignature)
        external
    {
        Participant storage p = _operated(worker);
        if (p.role != Role.Worker) revert NotWorker(worker);
        _attest(p, worker, attestationHash, expiresAt, attesterSignature);
    }

    /// @notice Registers the caller as an evaluator or a fisherman.
    function register(Role role) external {
        if (role != Role.Evaluator && role != Role.Fisherman) revert NotWorker(msg.sender);
        _new(msg.sender, role);
        emit Registered(msg.sender, msg.sender, role, bytes32(0));
    }

    function _new(address who, Role role) internal returns (Participant storage p) {
        p = participants[who];
        if (p.role != Role.None) revert AlreadyRegistered(who);
        p.operator = msg.sender;
        p.role = role;
    }

    function _attest(
        Participant storage p,
        address worker,
        bytes32 attestationHash,
        uint64 expiresAt,
        bytes calldata signature
    ) internal {
        if (expiresAt <= block.timestamp) revert AttestationExpired(expiresAt);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(ATTESTATION_TYPEHASH, worker, p.operator, p.modelId, attestationHash, expiresAt))
        );
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        if (err != ECDSA.RecoverError.NoError || !attesters[signer]) revert AttesterUnknown(signer);
        if (p.attestationHash != attestationHash && p.attestationHash != bytes32(0)) {
            p.previousAttestationHash = p.attestationHash;
            p.evidenceChangedAt = uint64(block.timestamp);
        }
        p.attestationHash = attestationHash;
        p.attestedUntil = expiresAt;
        emit Attested(worker, attestationHash, expiresAt);
    }

    function _operated(address who) internal view returns (Participant storage p) {
        p = participants[who];
        if (p.role == Role.None) revert NotRegistered(who);
        if (p.operator != msg.sender) revert NotOperator(who, msg.sender);
    }

    // ---- stake ----

    function deposit(address who, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Participant storage p = _operated(who);
        IERC20(address(token)).safeTransferFrom(msg.sender, address(this), amount);
        p.active += amount;
        deposited += amount;
        emit Deposited(who, amount);
    }

    /// @notice Starts unbonding `amount`: still slashable until `now + unbondingDelay`.
    function unbond(address who, uint256 amount) external {
        Participant storage p = _operated(who);
        if (amount == 0 || amount > p.active) revert UnbondTooLarge(p.active, amount);
        if (p.unbonding.length >= MAX_UNBONDINGS) revert TooManyUnbondings();
        p.active -= amount;
        uint64 availableAt = uint64(block.timestamp) + unbondingDelay;
        p.unbonding.push(Unbonding(SafeCast.toUint128(amount), availableAt));
        emit UnbondingStarted(who, amount, availableAt);
    }

    /// @notice Withdraws to the operator everything whose unbonding delay has passed.
    function withdraw(address who) external returns (uint256 out) {
        Participant storage p = _operated(who);
        Unbonding[] storage u = p.unbonding;
        for (uint256 i = u.length; i > 0; i--) {
            if (u[i - 1].availableAt > block.timestamp) continue;
            out += u[i - 1].amount;
            u[i - 1] = u[u.length - 1];
            u.pop();
        }
        withdrawn += out;
        emit Withdrawn(who, out);
        if (out > 0) IERC20(address(token)).safeTransfer(p.operator, out);
    }

    /// @notice Takes up to `amount` (active first, then the newest unbonding), pays `shareBps` of what it
    /// took to `beneficiary` and burns the rest. Only the protocol's contracts (slashers) may.
    function slash(address who, uint256 amount, address beneficiary, uint256 shareBps)
        external
        returns (uint256 taken)
    {
        if (!slashers[msg.sender]) revert NotSlasher(msg.sender);
        if (shareBps > 10_000) revert ShareTooLarge(shareBps);
        Participant storage p = participants[who];
        uint256 left = amount;
        uint256 fromActive = left < p.active ? left : p.active;
        p.active -= fromActive;
        left -= fromActive;
        Unbonding[] storage u = p.unbonding;
        for (uint256 i = u.length; i > 0 && left > 0; i--) {
            uint256 take = left < u[i - 1].amount ? left : u[i - 1].amount;
            u[i - 1].amount -= SafeCast.toUint128(take);
            left -= take;
            if (u[i - 1].amount == 0) {
                u[i - 1] = u[u.length - 1];
                u.pop();
            }
        }
        taken = amount - left;
        slashed += taken;
        uint256 paid = beneficiary == address(0) ? 0 : (taken * shareBps) / 10_000;
        emit Slashed(who, taken, beneficiary, paid);
        if (paid > 0) IERC20(address(token)).safeTransfer(beneficiary, paid);
        if (taken > paid) token.burn(taken - paid);
    }

    // ---- views ----

    function participant(address who)
        external
        view
        returns (address operator, Role role, bytes32 modelId, bytes32 attestationHash, uint64 attestedUntil, uint256 active)
    {
        Participant storage p = participants[who];
        return (p.operator, p.role, p.modelId, p.attestationHash, p.attestedUntil, p.active);
    }

    /// @notice A worker's evidence before its last change, and when that was (zeros: never changed).
    function previousEvidence(address worker) external view returns (bytes32 attestationHash, uint64 changedAt) {
        Participant storage p = participants[worker];
        return (p.previousAttestationHash, p.evidenceChangedAt);
    }

    /// @notice Active plus unbonding: everything a slash can still reach.
    function atRisk(address who) public view returns (uint256 total) {
        Participant storage p = participants[who];
        total = p.active;
        for (uint256 i = 0; i < p.unbonding.length; i++) {
            total += p.unbonding[i].amount;
        }
    }

    function isActive(address who) external view returns (bool) {
        Participant storage p = participants[who];
        return p.role != Role.None && p.active >= minStake[uint8(p.role)]
            && (p.role != Role.Worker || p.attestedUntil > block.timestamp);
    }

    /// @notice Every stateless PoEA check of a signed receipt, in the order of the TypeScript
    /// `checkReceipt`, reverting with the matching verdict; returns the receipt's digest under the
    /// settlement contract's `domainSeparator`.
    function checkReceipt(Receipts.Receipt calldata r, bytes calldata signature, bytes32 domainSeparator)
        external
        view
        returns (bytes32 digest)
    {
        Participant storage p = participants[r.worker];
        if (p.role != Role.Worker) revert ReceiptWorkerUnknown(r.worker);
        digest = Receipts.digest(r, domainSeparator);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        if (err != ECDSA.RecoverError.NoError || signer != r.worker) revert ReceiptSignatureInvalid(signer);
        if (p.attestedUntil <= block.timestamp) revert ReceiptWorkerNotAttested(r.worker);
        if (r.attestationHash != p.attestationHash && !_signedUnderPreviousEvidence(p, r)) {
            revert ReceiptAttestationMismatch(r.attestationHash, p.attestationHash);
        }
        if (p.active < minStake[uint8(Role.Worker)]) revert ReceiptWorkerUnstaked(p.active, minStake[uint8(Role.Worker)]);
        Model storage m = models[r.modelId];
        if (r.modelId != p.modelId || !m.registered || m.weightsHash != r.weightsHash) {
            revert ReceiptModelMismatch(r.modelId, r.weightsHash);
        }
        if (!engineAllowed[r.modelId][r.engineHash]) revert ReceiptEngineNotAllowed(r.engineHash);
        // A receipt longer than its model's dispute game accepts could never be disputed (its one-step
        // checks would not fit a block): an honest worker caps its generations, and nobody admits more.
        uint64 positions = Receipts.positions(r);
        if (m.stepsPerPosition != 0 && positions > m.maxDisputePositions) {
            revert ReceiptNotDisputable(positions, m.maxDisputePositions);
        }
    }

    /// @dev A receipt naming the worker's evidence before its last change, signed (by its own timestamp,
    /// ms) before that change. Backdating gains a worker nothing its key could not sign anyway, and a
    /// receipt older than the rollup's maxReceiptAge is refused as stale.
    function _signedUnderPreviousEvidence(Participant storage p, Receipts.Receipt calldata r)
        internal
        view
        returns (bool)
    {
        return p.evidenceChangedAt != 0 && r.attestationHash == p.previousAttestationHash
            && uint256(r.timestamp) < uint256(p.evidenceChangedAt) * 1000;
    }

    /// @notice A fault of a receipt that no later change can mend — so an admission that let it in was
    /// wrong when it happened: 0 none, 1 `ReceiptWorkerUnknown` (no worker registered at its address;
    /// registration is permanent), 2 `ReceiptSignatureInvalid` (not signed by that address under this
    /// domain), 3 `ReceiptModelMismatch` (not the model the worker registered for; fixed at
    /// registration). Expiry, stake, evidence, weights and engines can change after admission, so they
    /// never count here: an honest sequencer is never slashed for what happened later.
    function invariantFault(Receipts.Receipt calldata r, bytes calldata signature, bytes32 domainSeparator)
        external
        view
        returns (uint8)
    {
        Participant storage p = participants[r.worker];
        if (p.role != Role.Worker) return 1;
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(Receipts.digest(r, domainSeparator), signature);
        if (err != ECDSA.RecoverError.NoError || signer != r.worker) return 2;
        if (r.modelId != p.modelId) return 3;
        return 0;
    }

    /// @notice The attester-verdict digest (for off-chain signing and tests).
    function attestationDigest(address worker, address operator, bytes32 modelId, bytes32 attestationHash, uint64 expiresAt)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(abi.encode(ATTESTATION_TYPEHASH, worker, operator, modelId, attestationHash, expiresAt))
        );
    }
}
