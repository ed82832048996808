/**
 * The dispute game over an execution trace (docs/spec/otr.md §4): a k-ary dissection of the trace's
 * Merkle tree down to one leaf, then a one-step check. Claims commit to values, not to players:
 *
 * - the root claim is the receipt's trace root (the defender side; backed by the worker's stake);
 * - an ATTACK (challenger side, bonded) says one committed node value is wrong;
 * - a DISSECT (defender side, bonded) answers an attack on a node by revealing its descendants
 *   log₂k levels down (k of them), which must hash up to the attacked value — so every level is bound
 *   to its parent's committed hash;
 * - an attack on a leaf is answered by a ONE-STEP check that recomputes the leaf from inputs proven
 *   against the trace root: equal to the committed leaf, the attack is countered.
 *
 * Anyone may make any move (several challengers, any defender of the honest branch); each node is
 * attacked at most once per dissection, each attack dissected at most once (a second set of children
 * hashing to the same value would be a hash collision). Chess clocks: each claim records the time each
 * side has used along its path, and its answer deadline — cached when the claim is made — is what the
 * answering side has left, but never less than an extension (longer for a one-step). Resolution is
 * bottom-up once every deadline has passed: a claim is countered iff one of its answers is uncountered
 * (or, for an attack on a leaf, a one-step check succeeded).
 *
 * Pure: moves take the time as an argument; the state is a value the caller owns.
 */

import { bytesToHex, type Hex, hexToBytes, isHexOfLength } from "../encoding/hex.ts";
import { fail, ok, type Verdict } from "../errors.ts";
import { attackBond, type DisputeParams, dissectBond } from "../params/otr.ts";
import { equalBytes, type Hash32, treeDepth } from "../verifiable/trace.ts";

/** The two sides of a game. */
export type Side = "defender" | "challenger";

/** What a game is about: one receipt's trace. */
export interface GameSubject {
  /** The receipt's trace root (the root claim). */
  readonly traceRoot: Hex;
  /** Leaves of the trace: fixed by the receipt (docs/spec/otr.md §4.1), so the tree's depth is too. */
  readonly leafCount: number;
  /** The worker, who loses its slash when the root claim is countered. */
  readonly worker: Hex;
}

/** A claim of the game. */
export interface Claim {
  readonly id: number;
  readonly kind: "root" | "attack" | "dissect";
  /** The claim this one answers (null for the root). */
  readonly parent: number | null;
  readonly side: Side;
  readonly claimant: Hex;
  readonly bond: bigint;
  readonly createdAt: number;
  /** The node a root or attack claim is about, or the node a dissection opens. */
  readonly height: number;
  readonly index: number;
  /** The node's committed value (root and attack claims). */
  readonly value: Hex;
  /** Attack: which child of the parent dissection (−1 for an attack on the root claim). */
  readonly child: number;
  /** Dissect: the revealed descendants at `childHeight`. */
  readonly children: readonly Hex[];
  readonly childHeight: number;
  /** Time each side has used along the path to this claim. */
  readonly clock: { readonly defender: number; readonly challenger: number };
  /** The last moment an answer to this claim is accepted (cached at creation). */
  readonly deadline: number;
}

/** A successful one-step check: the attack it answers is countered. */
export interface OneStepRecord {
  readonly attack: number;
  readonly claimant: Hex;
  readonly at: number;
}

/** A game's state. */
export interface GameState {
  readonly subject: GameSubject;
  readonly params: DisputeParams;
  readonly depth: number;
  readonly claims: Claim[];
  readonly oneSteps: OneStepRecord[];
}

/** Checks a leaf of the trace: returns the correct leaf at `index`, or why the evidence is unusable. */
export type StepVerifier = (index: number, evidence: unknown) => Verdict<Uint8Array>;

/** Where a game's bonds and the worker's slash go when it is resolved. */
export interface Payout {
  readonly to: Hex | "burn";
  readonly amount: bigint;
  readonly reason: string;
}

/** The outcome of a resolved game. */
export interface GameOutcome {
  /** True when the root claim was countered: the receipt is voided and the worker slashed. */
  readonly rootCountered: boolean;
  readonly countered: readonly boolean[];
  readonly payouts: readonly Payout[];
}

const other = (side: Side): Side => (side === "defender" ? "challenger" : "defender");
const log2 = (k: number) => Math.round(Math.log2(k));

/** Starts a game: the root claim (the receipt's trace root) and the first attack on it. */
export function openGame(
  subject: GameSubject,
  params: DisputeParams,
  challenger: Hex,
  now: number,
): Verdict<GameState> {
  if (!isHexOfLength(subject.traceRoot, 32))
    return fail("DISPUTE_MOVE_INVALID", "the trace root is not 32 bytes of hex");
  if (!(Number.isInteger(subject.leafCount) && subject.leafCount >= 1))
    return fail("DISPUTE_MOVE_INVALID", `a trace has at least one leaf, not ${subject.leafCount}`);
  const depth = treeDepth(subject.leafCount);
  const root: Claim = {
    id: 0,
    kind: "root",
    parent: null,
    side: "defender",
    claimant: subject.worker,
    bond: 0n,
    createdAt: now,
    height: depth,
    index: 0,
    value: subject.traceRoot.toLowerCase() as Hex,
    child: -1,
    children: [],
    childHeight: depth,
    clock: { defender: 0, challenger: 0 },
    deadline: now,
  };
  const state: GameState = { subject, params, depth, claims: [root], oneSteps: [] };
  const first = attack(state, 0, -1, challenger, now);
  return first.ok ? ok(state) : first;
}

/** The claim `id`, or a verdict saying it does not exist. */
function claimOf(state: GameState, id: number): Verdict<Claim> {
  const c = state.claims[id];
  return c ? ok(c) : fail("DISPUTE_MOVE_INVALID", `claim ${id} does not exist`);
}

/** A new claim answering `parent` at `now`: its clock and its cached answer deadline. */
function timed(state: GameState, parent: Claim, side: Side, now: number, leafAttack: boolean) {
  const clock = { ...parent.clock, [side]: parent.clock[side] + (now - parent.createdAt) };
  const p = state.params;
  const remaining = p.maxClockMs - clock[other(side)];
  const least = leafAttack ? p.oneStepExtensionMs : p.extensionMs;
  return { clock, deadline: now + Math.max(remaining, least) };
}

function tooLate(parent: Claim, now: number): Verdict<never> | null {
  return now > parent.deadline
    ? fail(
        "DISPUTE_TOO_LATE",
        `claim ${parent.id} could be answered until ${parent.deadline}; it is ${now}`,
        {
          claim: parent.id,
          deadline: parent.deadline,
        },
      )
    : null;
}

/**
 * Attacks a committed node: the root claim (`parentId` 0, `child` −1) or child `child` of a dissection.
 * Returns the new claim's id.
 */
export function attack(
  state: GameState,
  parentId: number,
  child: number,
  claimant: Hex,
  now: number,
): Verdict<number> {
  const parent = claimOf(state, parentId);
  if (!parent.ok) return parent;
  const p = parent.value;
  const late = p.kind === "root" ? null : tooLate(p, now);
  if (late) return late;
  let height: number;
  let index: number;
  let value: Hex;
  if (p.kind === "root") {
    if (child !== -1) return fail("DISPUTE_MOVE_INVALID", "an attack on the root claim names child −1");
    ({ height, index, value } = p);
  } else if (p.kind === "dissect") {
    if (!(Number.isInteger(child) && child >= 0 && child < p.children.length))
      return fail(
        "DISPUTE_MOVE_INVALID",
        `dissection ${p.id} has children 0..${p.children.length - 1}, not ${child}`,
      );
    height = p.childHeight;
    index = p.index * p.children.length + child;
    value = p.children[child] as Hex;
  } else return fail("DISPUTE_MOVE_INVALID", `claim ${p.id} is an attack; attack its dissection's children`);
  if (state.claims.some((c) => c.kind === "attack" && c.parent === parentId && c.child === child))
    return fail("DISPUTE_DUPLICATE", `node ${child} of claim ${parentId} is already attacked`, {
      claim: parentId,
      child,
    });
  const { clock, deadline } = timed(state, p, "challenger", now, height === 0);
  const id = state.claims.length;
  state.claims.push({
    id,
    kind: "attack",
    parent: parentId,
    side: "challenger",
    claimant,
    bond: attackBond(state.params, height),
    createdAt: now,
    height,
    index,
    value,
    child,
    children: [],
    childHeight: height,
    clock,
    deadline,
  });
  return ok(id);
}

/** The value of a node from its descendants `levels` levels down (in order). */
export function foldUp(children: readonly Uint8Array[], hash: Hash32): Uint8Array {
  let level = [...children];
  const pair = new Uint8Array(64);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      pair.set(level[i] as Uint8Array, 0);
      pair.set(level[i + 1] as Uint8Array, 32);
      next.push(hash(pair));
    }
    level = next;
  }
  return level[0] as Uint8Array;
}

/** How many descendants a dissection of a node at `height` reveals, and at which height. */
export function dissectionShape(
  arity: number,
  height: number,
): { readonly count: number; readonly childHeight: number } {
  const childHeight = Math.max(0, height - log2(arity));
  return { count: 2 ** (height - childHeight), childHeight };
}

/** Answers an attack on a node above the leaves by revealing its descendants. Returns the claim's id. */
export function dissect(
  state: GameState,
  attackId: number,
  children: readonly Hex[],
  claimant: Hex,
  now: number,
  hash: Hash32,
): Verdict<number> {
  const parent = claimOf(state, attackId);
  if (!parent.ok) return parent;
  const a = parent.value;
  if (a.kind !== "attack") return fail("DISPUTE_MOVE_INVALID", `claim ${a.id} is not an attack`);
  const late = tooLate(a, now);
  if (late) return late;
  if (a.height === 0)
    return fail("DISPUTE_MOVE_INVALID", `claim ${a.id} attacks a leaf: answer it with a one-step check`);
  if (state.claims.some((c) => c.kind === "dissect" && c.parent === attackId))
    return fail("DISPUTE_DUPLICATE", `attack ${attackId} is already answered by a dissection`, {
      claim: attackId,
    });
  const shape = dissectionShape(state.params.arity, a.height);
  if (children.length !== shape.count || !children.every((c) => isHexOfLength(c, 32)))
    return fail(
      "DISPUTE_MOVE_INVALID",
      `a dissection of a node at height ${a.height} reveals ${shape.count} 32-byte hashes`,
    );
  const folded = foldUp(
    children.map((c) => hexToBytes(c)),
    hash,
  );
  if (!equalBytes(folded, hexToBytes(a.value)))
    return fail(
      "DISPUTE_MOVE_INVALID",
      `the revealed children hash to ${bytesToHex(folded)}, not to the attacked ${a.value}`,
    );
  const { clock, deadline } = timed(state, a, "defender", now, false);
  const id = state.claims.length;
  state.claims.push({
    id,
    kind: "dissect",
    parent: attackId,
    side: "defender",
    claimant,
    bond: dissectBond(state.params),
    createdAt: now,
    height: a.height,
    index: a.index,
    value: a.value,
    child: -1,
    children: children.map((c) => c.toLowerCase() as Hex),
    childHeight: shape.childHeight,
    clock,
    deadline,
  });
  return ok(id);
}

/**
 * Answers an attack on a leaf with a one-step check: `verify` recomputes the leaf from evidence proven
 * against the trace root. Equal to the attacked value, the attack is countered; otherwise the attack
 * stands (DISPUTE_STEP_NOT_COUNTERED) and nothing changes.
 */
export function oneStep(
  state: GameState,
  attackId: number,
  evidence: unknown,
  verify: StepVerifier,
  claimant: Hex,
  now: number,
): Verdict<null> {
  const parent = claimOf(state, attackId);
  if (!parent.ok) return parent;
  const a = parent.value;
  if (a.kind !== "attack" || a.height !== 0)
    return fail("DISPUTE_MOVE_INVALID", `claim ${a.id} is not an attack on a leaf`);
  const late = tooLate(a, now);
  if (late) return late;
  if (state.oneSteps.some((s) => s.attack === attackId))
    return fail("DISPUTE_DUPLICATE", `attack ${attackId} is already countered`, { claim: attackId });
  const correct = verify(a.index, evidence);
  if (!correct.ok) return correct;
  if (!equalBytes(correct.value, hexToBytes(a.value)))
    return fail(
      "DISPUTE_STEP_NOT_COUNTERED",
      `leaf ${a.index} is ${bytesToHex(correct.value)}, the claim says ${a.value}: the attack stands`,
      { leaf: a.index },
    );
  state.oneSteps.push({ attack: attackId, claimant, at: now });
  return ok(null);
}

/** Whether no answer can still change claim `c` (its deadline passed, or a one-step countered it). */
function settled(state: GameState, c: Claim, now: number): boolean {
  return now > c.deadline || state.oneSteps.some((s) => s.attack === c.id);
}

/**
 * Resolves the game bottom-up once every claim is settled (null before): which claims are countered,
 * and where every bond and the worker's slash go. A countered claim's bond goes to whoever made its
 * earliest uncountered answer (for a leaf attack countered by a one-step check, to whoever submitted
 * it); an uncountered claim's bond is refunded. A countered root voids the receipt: the worker is
 * slashed, the first uncountered attack on the root earns the challenger share, the rest is burned.
 */
export function resolveGame(state: GameState, now: number): GameOutcome | null {
  const claims = state.claims;
  if (!claims.every((c) => c.kind === "root" || settled(state, c, now))) return null;
  const answers = claims.map(() => [] as Claim[]);
  for (const c of claims) if (c.parent !== null) (answers[c.parent] as Claim[]).push(c);
  const countered = new Array<boolean>(claims.length).fill(false);
  // Children always have larger ids than their parents: resolve from the last claim back.
  for (let i = claims.length - 1; i >= 0; i--) {
    const c = claims[i] as Claim;
    const stepCountered = c.kind === "attack" && state.oneSteps.some((s) => s.attack === c.id);
    countered[i] = stepCountered || (answers[i] as Claim[]).some((a) => !countered[a.id]);
  }
  const payouts: Payout[] = [];
  for (const c of claims) {
    if (c.kind === "root") continue;
    if (!countered[c.id]) {
      payouts.push({ to: c.claimant, amount: c.bond, reason: `bond of claim ${c.id} refunded` });
      continue;
    }
    const step = state.oneSteps.find((s) => s.attack === c.id);
    const winner = step
      ? step.claimant
      : ((answers[c.id] as Claim[]).find((a) => !countered[a.id]) as Claim).claimant;
    payouts.push({ to: winner, amount: c.bond, reason: `bond of countered claim ${c.id}` });
  }
  const rootCountered = countered[0] === true;
  if (rootCountered) {
    const d = state.params;
    const bounty = (d.workerSlash * BigInt(d.challengerShareBps)) / 10_000n;
    const firstAttack = (answers[0] as Claim[]).find((a) => !countered[a.id]) as Claim;
    payouts.push({
      to: firstAttack.claimant,
      amount: bounty,
      reason: "challenger's share of the worker's slash",
    });
    payouts.push({ to: "burn", amount: d.workerSlash - bounty, reason: "rest of the worker's slash" });
  }
  return { rootCountered, countered, payouts };
}

/** The latest answer deadline in the game: when it can be resolved at the latest. */
export function gameDeadline(state: GameState): number {
  return Math.max(...state.claims.filter((c) => c.kind !== "root").map((c) => c.deadline));
}
