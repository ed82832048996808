// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {VerinferToken} from "./VerinferToken.sol";

/// @title Epoch rewards: an optimistic reward root, challengeable one entry at a time
/// @notice docs/spec/otr.md §6; src/protocol/poea/epoch.ts (settleEpoch) computes the same amounts. Per
/// epoch the bonded settler deposits the minted rewards and posts the root of an ordered tree of
/// entries — role-major (workers, evaluators, fishermen), each (account, role, weight, amount and the
/// running sums of weight and amount before it in its role) — with each role's total weight and count.
/// The contract derives the pools (70/20/10% at the defaults, floor, the rest to fishermen). Anyone can
/// prove one entry's arithmetic wrong — an amount that is not ⌊pool · weight / total⌋, an entry of the
/// wrong role, running sums that do not add up at a role's first, last or any two adjacent entries —
/// from one or two Merkle paths: the epoch is voided, its deposit returned and the settler's bond
/// slashed (a share to the challenger). After the window each entry is claimed once and the dust
/// (pools minus what the last entries say was paid) is burned. What the chain cannot recompute are the
/// inputs (verified tokens, PoQ quality and rewards, fishermen's stakes): the settler commits their
/// hash, they are public, and the trust this adds is documented in docs/contracts.md.
contract Epochs is Ownable, ReentrancyGuard {
    using SafeERC20 for VerinferToken;

    struct Entry {
        address account;
        uint8 role; // 0 worker, 1 evaluator, 2 fisherman
        uint256 weight; // ≥ 0 (a negative PoQ reward weighs 0)
        uint256 amount;
        uint256 weightBefore; // Σ weight of the role's earlier entries
        uint256 amountBefore; // Σ amount of the role's earlier entries
    }

    struct Epoch {
        bytes32 root;
        bytes32 inputsHash;
        uint256 minted;
        uint256[3] totals;
        uint32[3] counts;
        uint64 postedAt;
        bool voided;
        bool dustBurned;
    }

    VerinferToken public immutable token;
    uint16 public immutable workerShareBps;
    uint16 public immutable evaluatorShareBps;
    uint64 public immutable challengeWindow;
    uint256 public immutable minSettlerBond;
    uint16 public immutable challengerShareBps;

    address public settler;
    uint256 public settlerBond;
    mapping(uint64 => Epoch) internal epochs;
    mapping(uint64 => mapping(uint256 => bool)) public claimed;

    event EpochPosted(uint64 indexed epoch, bytes32 root, uint256 minted, bytes32 inputsHash);
    event EpochVoided(uint64 indexed epoch, string why, address challenger, uint256 slashed);
    event Claimed(uint64 indexed epoch, uint256 index, address account, uint256 amount);
    event DustBurned(uint64 indexed epoch, uint256 amount);

    error NotSettler(address caller);
    error BondTooLow(uint256 bond, uint256 required);
    error EpochPostedAlready(uint64 epoch);
    error EpochUnknown(uint64 epoch);
    error EpochVoid(uint64 epoch);
    error EpochMalformed(string why);
    error EntryNotInEpoch(uint256 index);
    error EntryCorrect(string what);
    error WindowOpen(uint64 until);
    error WindowClosed(uint64 until);
    error ClaimedAlready(uint256 index);
    error DustBurnedAlready(uint64 epoch);

    constructor(
        address owner_,
        VerinferToken token_,
        uint16 workerShareBps_,
        uint16 evaluatorShareBps_,
        uint64 challengeWindow_,
        uint256 minSettlerBond_,
        uint16 challengerShareBps_
    ) Ownable(owner_) {
        require(workerShareBps_ + evaluatorShareBps_ <= 10_000 && challengerShareBps_ <= 10_000, "bad shares");
        token = token_;
        workerShareBps = workerShareBps_;
        evaluatorShareBps = evaluatorShareBps_;
        challengeWindow = challengeWindow_;
        minSettlerBond = minSettlerBond_;
        challengerShareBps = challengerShareBps_;
    }

    function setSettler(address settler_) external onlyOwner {
        settler = settler_;
    }

    /// @notice The settler's bond (anyone may top it up).
    function depositBond(uint256 amount) external {
        token.safeTransferFrom(msg.sender, address(this), amount);
        settlerBond += amount;
    }

    /// @notice The pools of `minted` (settleEpoch's split: floor, the remainder to fishermen).
    function pools(uint256 minted) public view returns (uint256[3] memory p) {
        p[0] = (minted * workerShareBps) / 10_000;
        p[1] = (minted * evaluatorShareBps) / 10_000;
        p[2] = minted - p[0] - p[1];
    }

    // ---- posting ----

    /// @notice Posts epoch `e`'s reward root and deposits `minted` from the settler.
    function post(
        uint64 e,
        bytes32 root,
        uint256 minted,
        uint256[3] calldata totals,
        uint32[3] calldata counts,
        bytes32 inputsHash
    ) external {
        if (msg.sender != settler) revert NotSettler(msg.sender);
        if (settlerBond < minSettlerBond) revert BondTooLow(settlerBond, minSettlerBond);
        Epoch storage ep = epochs[e];
        if (ep.postedAt != 0 && !ep.voided) revert EpochPostedAlready(e);
        for (uint256 r = 0; r < 3; r++) {
            if ((counts[r] == 0) != (totals[r] == 0)) revert EpochMalformed("a role's count and total disagree");
        }
        token.safeTransferFrom(msg.sender, address(this), minted);
        epochs[e] = Epoch(root, inputsHash, minted, totals, counts, uint64(block.timestamp), false, false);
        emit EpochPosted(e, root, minted, inputsHash);
    }

    // ---- challenges ----

    /// @notice An entry whose role is not the one its position has, or whose amount is not
    /// ⌊pool · weight / total⌋.
    function challengeEntry(uint64 e, uint256 index, Entry calldata x, bytes32[] calldata proof) external nonReentrant {
        Epoch storage ep = _open(e);
        _prove(ep, index, x, proof);
        if (x.role != roleAt(ep, index)) return _void(e, ep, "an entry of the wrong role");
        uint256 pool = pools(ep.minted)[x.role];
        uint256 due = ep.totals[x.role] == 0 ? 0 : (pool * x.weight) / ep.totals[x.role];
        if (x.amount != due) return _void(e, ep, "an amount is not its pro-rata share");
        revert EntryCorrect("role and amount");
    }

    /// @notice Running sums that do not add up: at a role's first entry (not zero), its last (not the
    /// role's total; the paid amount above the pool), or between two adjacent entries of the role.
    function challengeSums(
        uint64 e,
        uint256 index,
        Entry calldata x,
        bytes32[] calldata proof,
        Entry calldata next,
        bytes32[] calldata nextProof
    ) external nonReentrant {
        Epoch storage ep = _open(e);
        _prove(ep, index, x, proof);
        (uint256 first, uint256 end) = roleRange(ep, x.role);
        if (index < first || index >= end) return _void(e, ep, "an entry of the wrong role");
        if (index == first && (x.weightBefore != 0 || x.amountBefore != 0)) {
            return _void(e, ep, "a role's first running sums are not zero");
        }
        if (index == end - 1) {
            if (x.weightBefore + x.weight != ep.totals[x.role]) return _void(e, ep, "weights do not sum to the total");
            if (x.amountBefore + x.amount > pools(ep.minted)[x.role]) return _void(e, ep, "amounts exceed the pool");
            revert EntryCorrect("sums");
        }
        _prove(ep, index + 1, next, nextProof);
        if (next.weightBefore != x.weightBefore + x.weight || next.amountBefore != x.amountBefore + x.amount) {
            return _void(e, ep, "running sums do not add up");
        }
        revert EntryCorrect("sums");
    }

    function _void(uint64 e, Epoch storage ep, string memory why) internal {
        ep.voided = true;
        token.safeTransfer(settler, ep.minted);
        uint256 slashed = settlerBond < minSettlerBond ? settlerBond : minSettlerBond;
        settlerBond -= slashed;
        uint256 share = (slashed * challengerShareBps) / 10_000;
        token.safeTransfer(msg.sender, share);
        token.burn(slashed - share);
        emit EpochVoided(e, why, msg.sender, slashed);
    }

    // ---- claims ----

    /// @notice Pays entry `index` of a settled epoch to its account, once.
    function claim(uint64 e, uint256 index, Entry calldata x, bytes32[] calldata proof) external nonReentrant {
        Epoch storage ep = _settled(e);
        _prove(ep, index, x, proof);
        if (claimed[e][index]) revert ClaimedAlready(index);
        claimed[e][index] = true;
        token.safeTransfer(x.account, x.amount);
        emit Claimed(e, index, x.account, x.amount);
    }

    /// @notice Burns a settled epoch's dust: each pool minus what its last entry says the role was paid
    /// (a role without entries burns its whole pool). `lasts[r]` is role r's last entry.
    function burnDust(uint64 e, Entry[3] calldata lasts, bytes32[][3] calldata proofs) external nonReentrant {
        Epoch storage ep = _settled(e);
        if (ep.dustBurned) revert DustBurnedAlready(e);
        uint256[3] memory p = pools(ep.minted);
        uint256 dust = 0;
        for (uint256 r = 0; r < 3; r++) {
            if (ep.counts[r] == 0) {
                dust += p[r];
                continue;
            }
            (, uint256 end) = roleRange(ep, uint8(r));
            _prove(ep, end - 1, lasts[r], proofs[r]);
            dust += p[r] - (lasts[r].amountBefore + lasts[r].amount);
        }
        ep.dustBurned = true;
        token.burn(dust);
        emit DustBurned(e, dust);
    }

    // ---- views and helpers ----

    function epoch(uint64 e) external view returns (Epoch memory) {
        return epochs[e];
    }

    /// @notice keccak256(abi.encode(entry)): a leaf of the ordered reward tree.
    function leafOf(Entry calldata x) public pure returns (bytes32) {
        return keccak256(abi.encode(x));
    }

    /// @notice Entries [first, end) are role r's (role-major order).
    function roleRange(Epoch storage ep, uint8 r) internal view returns (uint256 first, uint256 end) {
        for (uint256 i = 0; i < r; i++) first += ep.counts[i];
        end = first + ep.counts[r];
    }

    function roleAt(Epoch storage ep, uint256 index) internal view returns (uint8 r) {
        uint256 end = 0;
        for (r = 0; r < 3; r++) {
            end += ep.counts[r];
            if (index < end) return r;
        }
        revert EntryNotInEpoch(index);
    }

    function _open(uint64 e) internal view returns (Epoch storage ep) {
        ep = epochs[e];
        if (ep.postedAt == 0) revert EpochUnknown(e);
        if (ep.voided) revert EpochVoid(e);
        if (block.timestamp > ep.postedAt + challengeWindow) revert WindowClosed(ep.postedAt + challengeWindow);
    }

    function _settled(uint64 e) internal view returns (Epoch storage ep) {
        ep = epochs[e];
        if (ep.postedAt == 0) revert EpochUnknown(e);
        if (ep.voided) revert EpochVoid(e);
        if (block.timestamp <= ep.postedAt + challengeWindow) revert WindowOpen(ep.postedAt + challengeWindow);
    }

    /// @dev Entry `index` against the epoch's ordered, zero-padded tree (trace.ts's TraceTree).
    function _prove(Epoch storage ep, uint256 index, Entry calldata x, bytes32[] calldata proof) internal view {
        uint256 n = uint256(ep.counts[0]) + ep.counts[1] + ep.counts[2];
        uint256 depth = 0;
        while ((1 << depth) < n) depth++;
        if (index >= n || proof.length != depth) revert EntryNotInEpoch(index);
        bytes32 node = keccak256(abi.encode(x));
        for (uint256 h = 0; h < depth; h++) {
            node = (index >> h) & 1 == 0
                ? keccak256(abi.encodePacked(node, proof[h]))
                : keccak256(abi.encodePacked(proof[h], node));
        }
        if (node != ep.root) revert EntryNotInEpoch(index);
    }
}
