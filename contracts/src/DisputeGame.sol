// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Receipts} from "./Receipts.sol";
import {Registry} from "./Registry.sol";
import {Rollup} from "./Rollup.sol";
import {treeDepth, verifyPath} from "./verifiable/OrderedMerkle.sol";

/// @notice Recomputes one leaf of a receipt's execution trace from evidence proven against its trace
/// root and model root (engine spec v2; src/protocol/dispute/traceStep.ts). Reverts when the evidence is
/// unusable (that accuses nobody).
interface IStepVerifier {
    function correctLeaf(DisputeGame.Subject calldata subject, uint256 index, bytes calldata evidence)
        external
        view
        returns (bytes32);
}

/// @title The dispute game over one receipt's execution trace
/// @notice docs/spec/otr.md §4; src/protocol/dispute/game.ts is the same game in TypeScript and its
/// solver plays it. A k-ary dissection of the trace's Merkle tree (k ≤ 16 on chain) down to a leaf,
/// then a one-step check by the step verifier. Claims commit to values, not players: anyone may attack a
/// committed node (bonded), anyone may answer an attack by revealing the node's descendants, which must
/// fold to its value (bonded), and anyone may answer an attack on a leaf with a one-step check. Chess
/// clocks per side along each path, with a minimum time to answer (longer for a leaf). Once the last
/// deadline has passed, claims resolve bottom-up — in slices, so no resolution can run out of gas — and
/// bonds are credited (pull payments); a countered root voids the receipt in the rollup and slashes the
/// worker, half to the first uncountered attack on the root.
/// @dev The game stores one word per claim: the hash of its fields, with its mutable state (attacked
/// children, answered, countered) in the low 32 bits. Moves pass the claims they touch as calldata,
/// checked against that hash, and the events carry every new claim whole so that players rebuild them
/// (src/chain/gameMirror.ts) — a move then writes one new word, which keeps it under 80k gas. A
/// dissection's children are read from its calldata: dissect must be called directly, not through
/// another contract, for players to see them.
contract DisputeGame is ReentrancyGuard {
    enum Kind {
        Root,
        Attack,
        Dissect
    }

    /// @notice What a game is about: one posted receipt's trace.
    struct Subject {
        bytes32 traceRoot;
        uint64 leafCount;
        address worker;
        bytes32 modelId;
        bytes32 weightsHash;
        bytes32 promptHash;
        bytes32 paramsHash;
        uint64 batch;
        uint32 position;
    }

    /// @notice A claim's fields, fixed when it is made (its bond follows from its kind and height).
    struct Claim {
        uint32 parent;
        Kind kind;
        uint8 height;
        uint8 childHeight;
        uint16 child; // attack: index among its dissection's children (0xffff: the root claim)
        uint40 createdAt;
        uint40 deadline;
        uint32 clockDefender;
        uint32 clockChallenger;
        address claimant;
        uint64 index;
        /// @dev Root and attack: the node's value; dissection: the dissected node's value, which its
        /// children fold to (so an attack proves its child against it with a Merkle path).
        bytes32 value;
    }

    struct Game {
        Subject subject;
        uint8 depth;
        uint40 lastDeadline;
        uint32 claimCount;
        /// @dev Claims above the root resolved so far (resolution runs from the last claim down).
        uint32 resolvedCount;
        bool resolved;
        bool rootCountered;
        /// @dev Where players start reading the game's events.
        uint64 openedBlock;
    }

    uint16 internal constant ROOT_CHILD = 0xffff;
    /// @dev A claim's word: its hash above these bits, its mutable state in them.
    uint256 internal constant STATE_BITS = 0xffffffff;
    /// @dev Bits 0–15: the children attacked (the root claim: bit 0); then answered and countered.
    uint256 internal constant ANSWERED = 1 << 16;
    uint256 internal constant COUNTERED = 1 << 17;

    Registry public immutable registry;
    Rollup public immutable rollup;
    IStepVerifier public immutable stepVerifier;
    uint8 public immutable arityLog2;
    uint32 public immutable maxClock;
    uint32 public immutable extension;
    uint32 public immutable oneStepExtension;
    uint256 public immutable attackNodeBond;
    uint256 public immutable attackLeafBond;
    uint256 public immutable dissectBond;
    uint256 public immutable workerSlash;
    uint256 public immutable challengerShareBps;

    uint256 public gameCount;
    mapping(uint256 game => Game) internal games;
    mapping(uint256 game => mapping(uint256 claim => uint256)) internal words;
    /// @dev Who wins a countered claim's bond: its earliest uncountered answer's claimant, or the one-step submitter.
    mapping(uint256 game => mapping(uint256 claim => address)) internal winners;
    mapping(address => uint256) public credits;

    event GameOpened(uint256 indexed game, uint64 batch, uint32 position, bytes32 traceRoot, uint64 leafCount, Claim root);
    event Attacked(uint256 indexed game, uint256 id, Claim claim);
    /// @dev The children are in the transaction's calldata (players read them there, as the rollup's
    /// batch data): logging them too would cost a 16-child dissection 4k more gas.
    event Dissected(uint256 indexed game, uint256 id, Claim claim);
    event OneStep(uint256 indexed game, uint256 attack, bytes32 leaf, address claimant);
    event Resolved(uint256 indexed game, bool rootCountered);

    error BondWrong(uint256 sent, uint256 required);
    error GameUnknown(uint256 game);
    error ClaimUnknown(uint256 claim);
    error ClaimMismatch(uint256 claim);
    error DisputeMoveInvalid(string why);
    error ReceiptStale(uint64 batch, uint64 timestampMs);
    error DisputeDuplicate(uint256 claim);
    error DisputeTooLate(uint256 claim, uint40 deadline);
    error DisputeStepNotCountered(bytes32 correct, bytes32 claimed);
    error DisputeTooLong(uint64 positions, uint32 maxPositions);
    error ReceiptNotInBatch(bytes32 digest);
    error NotResolvableYet(uint40 lastDeadline);
    error AlreadyResolved();

    struct Params {
        uint8 arityLog2;
        uint32 maxClock;
        uint32 extension;
        uint32 oneStepExtension;
        uint256 attackNodeBond;
        uint256 attackLeafBond;
        uint256 dissectBond;
        uint256 workerSlash;
        uint256 challengerShareBps;
    }

    constructor(Registry registry_, Rollup rollup_, IStepVerifier stepVerifier_, Params memory p) {
        require(p.arityLog2 >= 1 && p.arityLog2 <= 4, "arity must be 2..16 on chain");
        require(p.extension <= p.maxClock && p.oneStepExtension <= p.maxClock, "extensions exceed the clock");
        registry = registry_;
        rollup = rollup_;
        stepVerifier = stepVerifier_;
        arityLog2 = p.arityLog2;
        maxClock = p.maxClock;
        extension = p.extension;
        oneStepExtension = p.oneStepExtension;
        attackNodeBond = p.attackNodeBond;
        attackLeafBond = p.attackLeafBond;
        dissectBond = p.dissectBond;
        workerSlash = p.workerSlash;
        challengerShareBps = p.challengerShareBps;
    }

    // ---- opening ----

    /// @notice Disputes the receipt at `position` of batch `batch_`: proves it is there, opens the dispute
    /// in the rollup (inside its window), and makes the first attack on its trace root (bonded).
    function challenge(
        uint64 batch_,
        uint32 position,
        Receipts.Receipt calldata r,
        bytes calldata signature,
        bytes32[] calldata proof
    ) external payable returns (uint256 game_) {
        bytes32 digest = Receipts.digest(r, rollup.domainSeparator());
        if (!rollup.includes(batch_, position, digest, keccak256(signature), proof)) revert ReceiptNotInBatch(digest);
        // A receipt posted past its maximum age: its worker need no longer hold what a defence takes.
        if (rollup.receiptStale(batch_, r.timestamp)) revert ReceiptStale(batch_, r.timestamp);
        rollup.openDispute(batch_, position);
        Claim memory root;
        (game_, root) = _newGame(r, batch_, position);
        _attack(game_, games[game_], 0, words[game_][0], root, ROOT_CHILD, r.traceRoot);
    }

    /// @dev A game over the receipt's trace, whose model must let a trace this long be disputed.
    function _newGame(Receipts.Receipt calldata r, uint64 batch_, uint32 position)
        internal
        returns (uint256 game_, Claim memory root)
    {
        (Subject memory subject, uint32 maxPositions) = TraceSubjects.subjectOf(registry, r, batch_, position);
        uint64 positions = Receipts.positions(r);
        if (positions > maxPositions) revert DisputeTooLong(positions, maxPositions);
        uint64 leafCount = subject.leafCount;
        if (leafCount == 0) revert DisputeMoveInvalid("a trace has at least one leaf");
        game_ = gameCount++;
        Game storage g = games[game_];
        g.subject = subject;
        uint8 depth = uint8(treeDepth(leafCount));
        g.depth = depth;
        g.lastDeadline = uint40(block.timestamp);
        g.openedBlock = uint64(block.number);
        root.kind = Kind.Root;
        root.height = depth;
        root.childHeight = depth;
        root.child = ROOT_CHILD;
        root.createdAt = uint40(block.timestamp);
        root.deadline = uint40(block.timestamp);
        root.claimant = r.worker;
        root.value = r.traceRoot;
        _push(game_, g, root);
        emit GameOpened(game_, batch_, position, r.traceRoot, leafCount, root);
    }

    // ---- moves ----

    /// @notice Attacks child `child` of dissection `parent` (the claim as its event gave it): `value` is
    /// that child, proven by `proof` — its Merkle path up to the dissected node. Bond: `attackLeafBond`
    /// on a leaf, else `attackNodeBond`. (The root claim is attacked once, by the challenge.)
    function attack(
        uint256 game_,
        uint256 parent,
        Claim calldata p,
        uint16 child,
        bytes32 value,
        bytes32[] calldata proof
    ) external payable returns (uint256) {
        Game storage g = _live(game_);
        uint256 word = _load(game_, parent, p);
        if (p.kind == Kind.Root) revert DisputeDuplicate(parent);
        if (p.kind != Kind.Dissect) revert DisputeMoveInvalid("attack a dissection's children, not an attack");
        uint256 levels = p.height - p.childHeight;
        if (child >> levels != 0) revert DisputeMoveInvalid("no such child");
        if (!verifyPath(p.value, value, child, proof, levels)) {
            revert DisputeMoveInvalid("the value is not the dissection's child");
        }
        return _attack(game_, g, parent, word, p, child, value);
    }

    function _attack(
        uint256 game_,
        Game storage g,
        uint256 parent,
        uint256 parentWord,
        Claim memory p,
        uint16 child,
        bytes32 value
    ) internal returns (uint256 id) {
        if (p.kind != Kind.Root && block.timestamp > p.deadline) revert DisputeTooLate(parent, p.deadline);
        uint256 bit = child == ROOT_CHILD ? 1 : uint256(1) << child;
        if (parentWord & bit != 0) revert DisputeDuplicate(parent);
        words[game_][parent] = parentWord | bit;
        uint8 height = p.kind == Kind.Root ? p.height : p.childHeight;
        uint256 bond = height == 0 ? attackLeafBond : attackNodeBond;
        if (msg.value != bond) revert BondWrong(msg.value, bond);
        Claim memory c;
        c.parent = SafeCast.toUint32(parent);
        c.kind = Kind.Attack;
        c.height = height;
        c.childHeight = height;
        c.child = child;
        c.claimant = msg.sender;
        c.index = p.kind == Kind.Root ? 0 : p.index * (uint64(1) << (p.height - p.childHeight)) + child;
        c.value = value;
        _time(g, c, p.createdAt, p.clockDefender, p.clockChallenger, false, height == 0);
        id = _push(game_, g, c);
        emit Attacked(game_, id, c);
    }

    /// @notice Answers attack `attackId` (the claim as its event gave it) on a node above the leaves
    /// with its descendants `log₂k` levels down (fewer near the leaves), which must fold pairwise to the
    /// attacked value. Bond: `dissectBond`.
    function dissect(uint256 game_, uint256 attackId, Claim calldata a, bytes32[] calldata children)
        external
        payable
        returns (uint256 id)
    {
        Game storage g = _live(game_);
        uint256 word = _load(game_, attackId, a);
        if (a.kind != Kind.Attack) revert DisputeMoveInvalid("not an attack");
        if (block.timestamp > a.deadline) revert DisputeTooLate(attackId, a.deadline);
        if (a.height == 0) revert DisputeMoveInvalid("an attack on a leaf is answered by a one-step check");
        if (word & ANSWERED != 0) revert DisputeDuplicate(attackId);
        uint8 childHeight = a.height > arityLog2 ? a.height - arityLog2 : 0;
        if (children.length != uint256(1) << (a.height - childHeight)) revert DisputeMoveInvalid("wrong number of children");
        if (_fold(children) != a.value) revert DisputeMoveInvalid("the children do not hash to the attacked value");
        if (msg.value != dissectBond) revert BondWrong(msg.value, dissectBond);
        words[game_][attackId] = word | ANSWERED;
        Claim memory c;
        c.parent = SafeCast.toUint32(attackId);
        c.kind = Kind.Dissect;
        c.height = a.height;
        c.childHeight = childHeight;
        c.claimant = msg.sender;
        c.index = a.index;
        c.value = a.value;
        _time(g, c, a.createdAt, a.clockDefender, a.clockChallenger, true, false);
        id = _push(game_, g, c);
        emit Dissected(game_, id, c);
    }

    /// @notice Answers attack `attackId` on a leaf: the step verifier recomputes the leaf; equal to the
    /// attacked value, the attack is countered (and its bond is the submitter's), otherwise this reverts.
    function oneStep(uint256 game_, uint256 attackId, Claim calldata a, bytes calldata evidence) external {
        Game storage g = _live(game_);
        uint256 word = _load(game_, attackId, a);
        if (a.kind != Kind.Attack || a.height != 0) revert DisputeMoveInvalid("not an attack on a leaf");
        if (block.timestamp > a.deadline) revert DisputeTooLate(attackId, a.deadline);
        if (word & ANSWERED != 0) revert DisputeDuplicate(attackId);
        Subject memory s = g.subject;
        // Padding leaves are zero: no evidence needed.
        bytes32 correct = a.index >= s.leafCount ? bytes32(0) : stepVerifier.correctLeaf(s, a.index, evidence);
        if (correct != a.value) revert DisputeStepNotCountered(correct, a.value);
        words[game_][attackId] = word | ANSWERED | COUNTERED;
        winners[game_][attackId] = msg.sender;
        emit OneStep(game_, attackId, correct, msg.sender);
    }

    // ---- resolution ----

    /// @notice Once every deadline has passed, resolves the claims in `slice` — the next ones down from
    /// the last claim not yet resolved (`claimCount − 1 − resolvedCount`), as their events gave them —
    /// and, when only the root is left, settles the receipt in the rollup and slashes a worker whose root
    /// claim was countered. Call again with the next slice until `resolved`.
    function resolve(uint256 game_, Claim[] calldata slice) external nonReentrant {
        Game storage g = _live(game_);
        if (block.timestamp <= g.lastDeadline) revert NotResolvableYet(g.lastDeadline);
        uint256 i = g.claimCount - 1 - g.resolvedCount;
        if (slice.length > i) revert DisputeMoveInvalid("more claims than are left to resolve");
        for (uint256 k = 0; k < slice.length; k++) {
            Claim calldata c = slice[k];
            uint256 word = _load(game_, i, c);
            uint256 bond = c.kind == Kind.Attack ? (c.height == 0 ? attackLeafBond : attackNodeBond) : dissectBond;
            if (word & COUNTERED != 0) {
                credits[winners[game_][i]] += bond;
            } else {
                credits[c.claimant] += bond;
                // An uncountered answer counters its parent; resolving downwards, the last one written is
                // the earliest answer.
                words[game_][c.parent] |= COUNTERED;
                winners[game_][c.parent] = c.claimant;
            }
            i--;
        }
        g.resolvedCount += uint32(slice.length);
        if (i > 0) return;
        g.resolved = true;
        bool rootCountered = words[game_][0] & COUNTERED != 0;
        g.rootCountered = rootCountered;
        emit Resolved(game_, rootCountered);
        Subject storage s = g.subject;
        rollup.settleDispute(s.batch, s.position, rootCountered);
        if (rootCountered) registry.slash(s.worker, workerSlash, winners[game_][0], challengerShareBps);
    }

    /// @notice Withdraws the caller's credited bonds.
    function withdraw() external nonReentrant {
        uint256 amount = credits[msg.sender];
        credits[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        require(ok, "transfer failed");
    }

    // ---- views ----

    function game(uint256 id) external view returns (Game memory) {
        return games[id];
    }

    function claimCount(uint256 game_) external view returns (uint256) {
        return games[game_].claimCount;
    }

    /// @notice A claim's mutable state: the children attacked (a bitmap; the root claim's is bit 0),
    /// whether an attack was answered, whether the claim is countered (set while resolving, or by a
    /// one-step check), and the hash its fields must have.
    function claimState(uint256 game_, uint256 id)
        external
        view
        returns (uint16 attacked, bool answered, bool countered, bytes32 hash)
    {
        uint256 word = words[game_][id];
        if (word == 0) revert ClaimUnknown(id);
        return (uint16(word), word & ANSWERED != 0, word & COUNTERED != 0, bytes32(word & ~STATE_BITS));
    }

    // ---- internals ----

    /// @dev The game, unless it does not exist or is resolved.
    function _live(uint256 game_) internal view returns (Game storage g) {
        g = games[game_];
        if (g.claimCount == 0) revert GameUnknown(game_);
        if (g.resolved) revert AlreadyResolved();
    }

    /// @dev Claim `id`'s word, once `c` is shown to be its fields.
    function _load(uint256 game_, uint256 id, Claim calldata c) internal view returns (uint256 word) {
        word = words[game_][id];
        if (word == 0) revert ClaimUnknown(id);
        uint256 h;
        assembly ("memory-safe") {
            // A calldata struct of value types is its ABI encoding: hash it where it lies, unvalidated
            // (only the canonical encoding has the committed hash; its fields are validated when read).
            let ptr := mload(0x40)
            calldatacopy(ptr, c, 384)
            h := keccak256(ptr, 384)
        }
        if (word & ~STATE_BITS != h & ~STATE_BITS) revert ClaimMismatch(id);
    }

    function _push(uint256 game_, Game storage g, Claim memory c) internal returns (uint256 id) {
        id = g.claimCount;
        g.claimCount = SafeCast.toUint32(id + 1);
        words[game_][id] = _hash(c);
    }

    /// @dev keccak256(abi.encode(c)) without the copy: a memory struct of value types is its ABI encoding.
    function _hash(Claim memory c) internal pure returns (uint256 h) {
        assembly ("memory-safe") {
            h := keccak256(c, 384)
        }
        h &= ~STATE_BITS;
    }

    /// @dev The new claim's clock (the answering side's time grows by what it took) and its deadline:
    /// what the other side has left, never less than an extension.
    function _time(Game storage g, Claim memory c, uint40 parentCreatedAt, uint32 parentClockDefender, uint32 parentClockChallenger, bool defender, bool leafAttack) internal {
        uint32 took = SafeCast.toUint32(block.timestamp - parentCreatedAt);
        c.clockDefender = parentClockDefender + (defender ? took : 0);
        c.clockChallenger = parentClockChallenger + (defender ? 0 : took);
        uint32 used = defender ? c.clockChallenger : c.clockDefender;
        uint32 remaining = used >= maxClock ? 0 : maxClock - used;
        uint32 least = leafAttack ? oneStepExtension : extension;
        c.createdAt = uint40(block.timestamp);
        c.deadline = uint40(block.timestamp) + (remaining > least ? remaining : least);
        if (c.deadline > g.lastDeadline) g.lastDeadline = c.deadline;
    }

    /// @dev The node `children` fold to pairwise (a Merkle tree over them; their count a power of two).
    /// The first level is hashed straight from calldata, the next ones in place in memory, each pair in
    /// the scratch space: a dissection folds 16 children per move (OrderedMerkle's verifyRange would do
    /// the same work with bounds-checked memory copies: 94.8k gas for a 16-child dissection, not 77.9k).
    function _fold(bytes32[] calldata children) internal pure returns (bytes32 node) {
        assembly ("memory-safe") {
            let n := children.length
            let level := mload(0x40)
            for { let i := 0 } lt(i, shr(1, n)) { i := add(i, 1) } {
                calldatacopy(0x00, add(children.offset, shl(6, i)), 0x40)
                mstore(add(level, shl(5, i)), keccak256(0x00, 0x40))
            }
            for { n := shr(1, n) } gt(n, 1) { n := shr(1, n) } {
                for { let i := 0 } lt(i, shr(1, n)) { i := add(i, 1) } {
                    mstore(0x00, mload(add(level, shl(6, i))))
                    mstore(0x20, mload(add(level, add(shl(6, i), 0x20))))
                    mstore(add(level, shl(5, i)), keccak256(0x00, 0x40))
                }
            }
            node := mload(level)
            if eq(children.length, 1) { node := calldataload(children.offset) }
        }
    }
}

/// @notice The receipt's model was registered without a step count: its receipts have no execution trace
/// to dispute or spot-check (a GGUF model served by llama.cpp, for one).
error ModelNotVerifiable(bytes32 modelId);

/// @notice What a receipt's trace is, for the dispute game and the spot-checks alike: its root, its
/// leaf count under the registered model (steps per position × positions), and what it is bound to.
library TraceSubjects {
    /// @dev Reverts ModelNotVerifiable for a model registered without a step count (not disputable).
    function subjectOf(Registry registry, Receipts.Receipt calldata r, uint64 batch, uint32 position)
        internal
        view
        returns (DisputeGame.Subject memory s, uint32 maxPositions)
    {
        (bytes32 weightsHash, uint32 steps, uint32 maxPositions_,) = registry.models(r.modelId);
        if (steps == 0) revert ModelNotVerifiable(r.modelId);
        s.traceRoot = r.traceRoot;
        s.leafCount = uint64(steps) * Receipts.positions(r);
        s.worker = r.worker;
        s.modelId = r.modelId;
        s.weightsHash = weightsHash;
        s.promptHash = r.promptHash;
        s.paramsHash = r.paramsHash;
        s.batch = batch;
        s.position = position;
        maxPositions = maxPositions_;
    }
}
