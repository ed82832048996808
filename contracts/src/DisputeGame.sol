// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Receipts} from "./Receipts.sol";
import {Registry} from "./Registry.sol";
import {Rollup} from "./Rollup.sol";

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

    /// @dev Three storage words. Bonds are not stored: they follow from the kind and the height.
    struct Claim {
        uint32 parent;
        Kind kind;
        uint8 height;
        uint8 childHeight;
        uint16 child; // attack: index among its dissection's children (0xffff: the root claim)
        uint16 attacked; // dissection (and root): bitmap of its attacked children
        uint40 createdAt;
        uint40 deadline;
        uint32 clockDefender;
        uint32 clockChallenger;
        bool answered; // attack: dissected or countered by a one-step check
        bool countered; // set while resolving (or by a one-step check)
        address claimant;
        uint64 index;
        bytes32 value; // root and attack: the node's value; dissection: keccak256 of its children
    }

    struct Game {
        Subject subject;
        uint8 depth;
        uint40 lastDeadline;
        /// @dev Claims still to resolve (resolution runs from the last claim down to the root).
        uint32 unresolved;
        bool resolved;
        bool rootCountered;
    }

    uint16 internal constant ROOT_CHILD = 0xffff;

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

    Game[] internal games;
    mapping(uint256 game => Claim[]) internal claims;
    /// @dev Who wins a countered claim's bond: its earliest uncountered answer's claimant, or the one-step submitter.
    mapping(uint256 game => mapping(uint256 claim => address)) internal winners;
    mapping(address => uint256) public credits;

    event GameOpened(uint256 indexed game, uint64 batch, uint32 position, bytes32 traceRoot, uint64 leafCount);
    event Attacked(uint256 indexed game, uint256 claim, uint256 parent, uint16 child, uint8 height, uint64 index, address claimant);
    event Dissected(uint256 indexed game, uint256 claim, uint256 attack, bytes32[] children, address claimant);
    event OneStep(uint256 indexed game, uint256 attack, bytes32 leaf, address claimant);
    event Resolved(uint256 indexed game, bool rootCountered);

    error BondWrong(uint256 sent, uint256 required);
    error ClaimUnknown(uint256 claim);
    error DisputeMoveInvalid(string why);
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
    ) external payable returns (uint256 game) {
        bytes32 digest = Receipts.digest(r, rollup.domainSeparator());
        if (!rollup.includes(batch_, position, digest, keccak256(signature), proof)) revert ReceiptNotInBatch(digest);
        rollup.openDispute(batch_, position);
        game = _newGame(r, batch_, position);
        _attack(game, 0, ROOT_CHILD, r.traceRoot);
    }

    /// @dev A game over the receipt's trace, whose model must let a trace this long be disputed.
    function _newGame(Receipts.Receipt calldata r, uint64 batch_, uint32 position) internal returns (uint256 game) {
        (Subject memory subject, uint32 maxPositions) = TraceSubjects.subjectOf(registry, r, batch_, position);
        uint64 positions = Receipts.positions(r);
        if (positions > maxPositions) revert DisputeTooLong(positions, maxPositions);
        uint64 leafCount = subject.leafCount;
        if (leafCount == 0) revert DisputeMoveInvalid("a trace has at least one leaf");
        game = games.length;
        Game storage g = games.push();
        g.subject = subject;
        uint8 depth = _depth(leafCount);
        g.depth = depth;
        g.lastDeadline = uint40(block.timestamp);
        Claim storage root = claims[game].push();
        root.kind = Kind.Root;
        root.height = depth;
        root.childHeight = depth;
        root.child = ROOT_CHILD;
        root.createdAt = uint40(block.timestamp);
        root.deadline = uint40(block.timestamp);
        root.claimant = r.worker;
        root.value = r.traceRoot;
        emit GameOpened(game, batch_, position, r.traceRoot, leafCount);
    }

    // ---- moves ----

    /// @notice Attacks child `child` of dissection `parent` (its value given with all the dissection's
    /// children, which must hash to what the dissection committed), or the root claim (`parent` 0,
    /// `child` 0xffff, `children` empty). Bond: `attackLeafBond` on a leaf, else `attackNodeBond`.
    function attack(uint256 game, uint256 parent, uint16 child, bytes32[] calldata children)
        external
        payable
        returns (uint256)
    {
        Claim storage p = _claim(game, parent);
        bytes32 value;
        if (p.kind == Kind.Root) {
            if (child != ROOT_CHILD) revert DisputeMoveInvalid("an attack on the root claim names child 0xffff");
            value = p.value;
        } else if (p.kind == Kind.Dissect) {
            if (keccak256(abi.encodePacked(children)) != p.value) revert DisputeMoveInvalid("children differ from the dissection's");
            if (child >= children.length) revert DisputeMoveInvalid("no such child");
            value = children[child];
        } else {
            revert DisputeMoveInvalid("attack a dissection's children, not an attack");
        }
        return _attack(game, parent, child, value);
    }

    function _attack(uint256 game, uint256 parent, uint16 child, bytes32 value) internal returns (uint256 id) {
        Claim[] storage cs = claims[game];
        Claim storage p = cs[parent];
        if (p.kind != Kind.Root && block.timestamp > p.deadline) revert DisputeTooLate(parent, p.deadline);
        uint16 bit = child == ROOT_CHILD ? 1 : uint16(1) << child;
        if (p.attacked & bit != 0) revert DisputeDuplicate(parent);
        p.attacked |= bit;
        uint8 height = p.kind == Kind.Root ? p.height : p.childHeight;
        uint64 index = p.kind == Kind.Root ? 0 : p.index * (uint64(1) << (p.height - p.childHeight)) + child;
        uint256 bond = height == 0 ? attackLeafBond : attackNodeBond;
        if (msg.value != bond) revert BondWrong(msg.value, bond);
        id = cs.length;
        Claim storage c = cs.push();
        c.parent = SafeCast.toUint32(parent);
        c.kind = Kind.Attack;
        c.height = height;
        c.childHeight = height;
        c.child = child;
        c.claimant = msg.sender;
        c.index = index;
        c.value = value;
        _time(game, c, p, false, height == 0);
        emit Attacked(game, id, parent, child, height, index, msg.sender);
    }

    /// @notice Answers attack `attackId` on a node above the leaves with its descendants `log₂k` levels
    /// down (fewer near the leaves), which must fold pairwise to the attacked value. Bond: `dissectBond`.
    function dissect(uint256 game, uint256 attackId, bytes32[] calldata children) external payable returns (uint256 id) {
        Claim[] storage cs = claims[game];
        Claim storage a = _claim(game, attackId);
        if (a.kind != Kind.Attack) revert DisputeMoveInvalid("not an attack");
        if (block.timestamp > a.deadline) revert DisputeTooLate(attackId, a.deadline);
        if (a.height == 0) revert DisputeMoveInvalid("an attack on a leaf is answered by a one-step check");
        if (a.answered) revert DisputeDuplicate(attackId);
        uint8 childHeight = a.height > arityLog2 ? a.height - arityLog2 : 0;
        if (children.length != uint256(1) << (a.height - childHeight)) revert DisputeMoveInvalid("wrong number of children");
        if (_fold(children) != a.value) revert DisputeMoveInvalid("the children do not hash to the attacked value");
        if (msg.value != dissectBond) revert BondWrong(msg.value, dissectBond);
        a.answered = true;
        id = cs.length;
        Claim storage c = cs.push();
        c.parent = SafeCast.toUint32(attackId);
        c.kind = Kind.Dissect;
        c.height = a.height;
        c.childHeight = childHeight;
        c.claimant = msg.sender;
        c.index = a.index;
        c.value = keccak256(abi.encodePacked(children));
        _time(game, c, a, true, false);
        emit Dissected(game, id, attackId, children, msg.sender);
    }

    /// @notice Answers attack `attackId` on a leaf: the step verifier recomputes the leaf; equal to the
    /// attacked value, the attack is countered (and its bond is the submitter's), otherwise this reverts.
    function oneStep(uint256 game, uint256 attackId, bytes calldata evidence) external {
        Claim storage a = _claim(game, attackId);
        if (a.kind != Kind.Attack || a.height != 0) revert DisputeMoveInvalid("not an attack on a leaf");
        if (block.timestamp > a.deadline) revert DisputeTooLate(attackId, a.deadline);
        if (a.answered) revert DisputeDuplicate(attackId);
        Subject memory s = games[game].subject;
        // Padding leaves are zero: no evidence needed.
        bytes32 correct = a.index >= s.leafCount ? bytes32(0) : stepVerifier.correctLeaf(s, a.index, evidence);
        if (correct != a.value) revert DisputeStepNotCountered(correct, a.value);
        a.answered = true;
        a.countered = true;
        winners[game][attackId] = msg.sender;
        emit OneStep(game, attackId, correct, msg.sender);
    }

    // ---- resolution ----

    /// @notice Resolves up to `maxClaims` claims, from the last to the first, once every deadline has
    /// passed; when the root is reached, settles the receipt in the rollup and slashes a worker whose
    /// root claim was countered. Call again until `resolved`.
    function resolve(uint256 game, uint256 maxClaims) external nonReentrant {
        Game storage g = games[game];
        if (g.resolved) revert AlreadyResolved();
        if (block.timestamp <= g.lastDeadline) revert NotResolvableYet(g.lastDeadline);
        Claim[] storage cs = claims[game];
        if (g.unresolved == 0) g.unresolved = SafeCast.toUint32(cs.length);
        uint256 i = g.unresolved;
        for (uint256 n = 0; n < maxClaims && i > 0; n++) {
            i--;
            Claim storage c = cs[i];
            if (i == 0) break;
            uint256 bond = _bond(c);
            if (c.countered) {
                credits[winners[game][i]] += bond;
            } else {
                credits[c.claimant] += bond;
                // An uncountered answer counters its parent; resolving downwards, the last one written is
                // the earliest answer.
                Claim storage p = cs[c.parent];
                p.countered = true;
                winners[game][c.parent] = c.claimant;
            }
        }
        g.unresolved = SafeCast.toUint32(i);
        if (i > 0) return;
        g.resolved = true;
        bool rootCountered = cs[0].countered;
        g.rootCountered = rootCountered;
        emit Resolved(game, rootCountered);
        Subject storage s = g.subject;
        rollup.settleDispute(s.batch, s.position, rootCountered);
        if (rootCountered) registry.slash(s.worker, workerSlash, winners[game][0], challengerShareBps);
    }

    /// @notice Withdraws the caller's credited bonds.
    function withdraw() external nonReentrant {
        uint256 amount = credits[msg.sender];
        credits[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        require(ok, "transfer failed");
    }

    // ---- views ----

    function gameCount() external view returns (uint256) {
        return games.length;
    }

    function game(uint256 id) external view returns (Game memory) {
        return games[id];
    }

    function claimCount(uint256 game_) external view returns (uint256) {
        return claims[game_].length;
    }

    function claim(uint256 game_, uint256 id) external view returns (Claim memory) {
        return claims[game_][id];
    }

    function bondOf(uint256 game_, uint256 id) external view returns (uint256) {
        return _bond(claims[game_][id]);
    }

    // ---- internals ----

    function _claim(uint256 game_, uint256 id) internal view returns (Claim storage) {
        if (game_ >= games.length || id >= claims[game_].length) revert ClaimUnknown(id);
        if (games[game_].resolved) revert AlreadyResolved();
        return claims[game_][id];
    }

    function _bond(Claim storage c) internal view returns (uint256) {
        if (c.kind == Kind.Attack) return c.height == 0 ? attackLeafBond : attackNodeBond;
        if (c.kind == Kind.Dissect) return dissectBond;
        return 0;
    }

    /// @dev The new claim's clock (the answering side's time grows by what it took) and its cached
    /// deadline: what the other side has left, never less than an extension.
    function _time(uint256 game_, Claim storage c, Claim storage parent, bool defender, bool leafAttack) internal {
        uint32 took = SafeCast.toUint32(block.timestamp - parent.createdAt);
        c.clockDefender = parent.clockDefender + (defender ? took : 0);
        c.clockChallenger = parent.clockChallenger + (defender ? 0 : took);
        uint32 used = defender ? c.clockChallenger : c.clockDefender;
        uint32 remaining = used >= maxClock ? 0 : maxClock - used;
        uint32 least = leafAttack ? oneStepExtension : extension;
        c.createdAt = uint40(block.timestamp);
        c.deadline = uint40(block.timestamp) + (remaining > least ? remaining : least);
        Game storage g = games[game_];
        if (c.deadline > g.lastDeadline) g.lastDeadline = c.deadline;
    }

    function _fold(bytes32[] calldata children) internal pure returns (bytes32) {
        bytes32[] memory level = children;
        for (uint256 n = level.length; n > 1; n /= 2) {
            for (uint256 i = 0; i < n / 2; i++) {
                level[i] = keccak256(abi.encodePacked(level[2 * i], level[2 * i + 1]));
            }
        }
        return level[0];
    }

    function _depth(uint64 leaves) internal pure returns (uint8 d) {
        while ((uint64(1) << d) < leaves) d++;
    }
}

/// @notice What a receipt's trace is, for the dispute game and the spot-checks alike: its root, its
/// leaf count under the registered model (steps per position × positions), and what it is bound to.
library TraceSubjects {
    error ModelNotVerifiable(bytes32 modelId);

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
