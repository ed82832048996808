/**
 * Parameters of the Optimistic TEE-Rollup (PAPERS.md §1; docs/spec/otr.md): batching, the challenge
 * window, the dispute game's arity, clocks and bonds, spot-checks, stakes and epochs. The paper publishes
 * none of them ("unknown"); every default here is our choice, says why, and is swept in
 * docs/reproductions/otr.md. Amounts are bigint wei of the staking token (18 decimals); times are
 * milliseconds.
 */
import { DEFAULT_POQ_ROUND_PARAMS } from "./poq.ts";

/** Batching and finality. */
export interface RollupParams {
  /** A batch is sealed when it holds this many receipts… */
  readonly maxBatchReceipts: number;
  /** …or this many bytes of receipt data (what data availability posts)… */
  readonly maxBatchBytes: number;
  /** …or when its oldest receipt has waited this long. */
  readonly maxBatchAgeMs: number;
  /** A posted batch's receipts (and a receipt a client forced in) become final this long after, unless disputed. */
  readonly challengeWindowMs: number;
  /**
   * A receipt posted (or forced in) more than this long after it was signed (its `timestamp`) is
   * stale: it cannot be disputed or spot-checked, and earns nothing (receiptAge.ts). This bounds how
   * long a worker must keep what its defence and its proofs need; the sequencer admits a receipt only
   * within half of it, leaving the other half for the batch to be posted.
   */
  readonly maxReceiptAgeMs: number;
  /** What the sequencer stakes behind its provisional-finality promises. */
  readonly sequencerBond: bigint;
}

/** The dispute game (docs/spec/otr.md §4). */
export interface DisputeParams {
  /** Children revealed per dissection (a power of two): 16 → ⌈depth / 4⌉ rounds. */
  readonly arity: number;
  /** Time each side may spend along one path of the game (a chess clock). */
  readonly maxClockMs: number;
  /** The least time a side is given to answer any claim (a clock about to run out is extended to this). */
  readonly extensionMs: number;
  /**
   * The least time to answer an attack on a leaf: regenerate the trace, upload the step's inputs and
   * proofs, and (for the ZK path) prove. Longer than every auxiliary step a move may need.
   */
  readonly oneStepExtensionMs: number;
  /** Gas of each move (estimates until the contracts measure them) and the gas price bonds are sized at. */
  readonly gas: { readonly attack: number; readonly dissect: number; readonly oneStep: number };
  readonly bondGasPriceWei: bigint;
  /** Bonds are this many times the gas of the move they force on the other side. */
  readonly bondSafetyFactor: number;
  /** What a worker loses for a receipt proven wrong, and the share (basis points) paid to the challenger. */
  readonly workerSlash: bigint;
  readonly challengerShareBps: number;
}

/** Stochastic ZK spot-checks (docs/spec/otr.md §5). */
export interface SpotCheckParams {
  /** The fraction ρ of receipts that owe a proof, in parts per million (10,000 = 1%). */
  readonly rhoPpm: number;
  /** Blocks between a batch's posting and the block whose hash seeds its selection. */
  readonly seedDelayBlocks: number;
  /** Time a worker has to submit the proof. */
  readonly proofDeadlineMs: number;
  /** Time anyone has, after a proof is accepted, to show that it is not bound to the receipt. */
  readonly bindingWindowMs: number;
  /** Slashed for a missing or invalid proof. */
  readonly missingProofSlash: bigint;
}

/** Stakes, epochs and rewards (docs/spec/otr.md §6). */
export interface PoeaParams {
  readonly minWorkerStake: bigint;
  readonly minEvaluatorStake: bigint;
  readonly unbondingMs: number;
  readonly epochMs: number;
  /** After an epoch ends, evaluators commit their scores of it during this phase, then reveal them. */
  readonly scoreCommitMs: number;
  readonly scoreRevealMs: number;
  /**
   * PoQ's k: evaluators drawn to score each receipt (all of them where fewer are registered). Fixed by
   * ScoreCommits, so that the evaluators and the settler use one draw.
   */
  readonly evaluatorsPerReceipt: number;
  /** Rewards minted per epoch, split between workers, evaluators and fishermen (basis points). */
  readonly epochRewards: bigint;
  readonly workerShareBps: number;
  readonly evaluatorShareBps: number;
  readonly fishermanShareBps: number;
}

/** All OTR parameters. */
export interface OtrParams {
  readonly rollup: RollupParams;
  readonly dispute: DisputeParams;
  readonly spotcheck: SpotCheckParams;
  readonly poea: PoeaParams;
}

const ETH = 10n ** 18n;
const GWEI = 10n ** 9n;

/**
 * Our defaults. Batches: 10,000 receipts or 1 MiB of calldata or 2 s (sub-second provisional finality
 * does not wait for sealing). Window: 1 hour — minutes-scale like the issue asks of the contracts, long
 * enough for a fisherman to re-execute a sample (docs/reproductions/otr.md sweeps it). Clocks: 30 minutes
 * per side, 5-minute extensions, 20 minutes for a one-step (trace regeneration of a 4,096-position
 * request on our CPU engine is minutes). Bonds at 30 gwei × 4. ρ = 1% as in the paper.
 */
export const DEFAULT_OTR_PARAMS: OtrParams = {
  rollup: {
    maxBatchReceipts: 10_000,
    maxBatchBytes: 1 << 20,
    maxBatchAgeMs: 2_000,
    challengeWindowMs: 3_600_000,
    // A day: far beyond any honest batch's posting (seconds), and what a worker keeps beyond the window.
    maxReceiptAgeMs: 86_400_000,
    sequencerBond: 10n * ETH,
  },
  dispute: {
    arity: 16,
    maxClockMs: 1_800_000,
    extensionMs: 300_000,
    oneStepExtensionMs: 1_200_000,
    // Measured on the contracts (`npm run bench -- contracts`, docs/contracts.md), as transactions: a
    // 16-child dissection ≈ 78–79k, an attack ≈ 72k (bounded by 80k); a one-step check is answerable
    // only if it fits a 30M-gas block, and the costliest ones at stories15M's shape approach that.
    gas: { attack: 80_000, dissect: 80_000, oneStep: 30_000_000 },
    bondGasPriceWei: 30n * GWEI,
    bondSafetyFactor: 4,
    workerSlash: 5n * ETH,
    challengerShareBps: 5_000,
  },
  spotcheck: {
    rhoPpm: 10_000,
    seedDelayBlocks: 2,
    proofDeadlineMs: 1_800_000,
    bindingWindowMs: 3_600_000,
    missingProofSlash: 5n * ETH,
  },
  poea: {
    minWorkerStake: 10n * ETH,
    minEvaluatorStake: 1n * ETH,
    unbondingMs: 7 * 24 * 3_600_000,
    epochMs: 3_600_000,
    scoreCommitMs: 600_000,
    scoreRevealMs: 600_000,
    evaluatorsPerReceipt: DEFAULT_POQ_ROUND_PARAMS.k,
    epochRewards: 1_000n * ETH,
    workerShareBps: 7_000,
    evaluatorShareBps: 2_000,
    fishermanShareBps: 1_000,
  },
};

/**
 * The devnet's parameters (`verinfer devnet up`): the defaults with every clock shortened so that a
 * batch becomes final, a dispute is played out and a spot-check deadline passes within a demo's
 * minutes on one machine: batches sealed after 500 ms, a 30 s challenge window, receipts stale after 10 minutes, 20 s chess clocks (5 s
 * extensions, 10 s for a one-step), a 60 s proof deadline, 1-minute epochs whose scores are committed and revealed in 15 s each. Amounts are the defaults'.
 */
export const DEVNET_OTR_PARAMS: OtrParams = {
  rollup: {
    ...DEFAULT_OTR_PARAMS.rollup,
    maxBatchAgeMs: 500,
    challengeWindowMs: 30_000,
    maxReceiptAgeMs: 600_000,
  },
  dispute: {
    ...DEFAULT_OTR_PARAMS.dispute,
    maxClockMs: 20_000,
    extensionMs: 5_000,
    oneStepExtensionMs: 10_000,
  },
  spotcheck: { ...DEFAULT_OTR_PARAMS.spotcheck, proofDeadlineMs: 60_000, bindingWindowMs: 60_000 },
  poea: {
    ...DEFAULT_OTR_PARAMS.poea,
    unbondingMs: 60_000,
    epochMs: 60_000,
    scoreCommitMs: 15_000,
    scoreRevealMs: 15_000,
  },
};

/** Every problem with OTR parameters (empty when valid). */
export function otrProblems(p: OtrParams): string[] {
  const problems: string[] = [];
  const positive = (v: number, name: string) => {
    if (!(Number.isFinite(v) && v > 0)) problems.push(`${name} must be positive, got ${v}`);
  };
  const integer = (v: number, name: string, min: number, max: number) => {
    if (!(Number.isInteger(v) && v >= min && v <= max))
      problems.push(`${name} must be an integer in ${min}..${max}, got ${v}`);
  };
  const amount = (v: bigint, name: string) => {
    if (v < 0n) problems.push(`${name} must be ≥ 0, got ${v}`);
  };
  const bps = (v: number, name: string) => integer(v, name, 0, 10_000);
  const r = p.rollup;
  integer(r.maxBatchReceipts, "rollup.maxBatchReceipts", 1, 1_000_000);
  integer(r.maxBatchBytes, "rollup.maxBatchBytes", 1024, 1 << 30);
  positive(r.maxBatchAgeMs, "rollup.maxBatchAgeMs");
  positive(r.challengeWindowMs, "rollup.challengeWindowMs");
  positive(r.maxReceiptAgeMs, "rollup.maxReceiptAgeMs");
  amount(r.sequencerBond, "rollup.sequencerBond");
  const d = p.dispute;
  if (!(Number.isInteger(d.arity) && d.arity >= 2 && d.arity <= 256 && (d.arity & (d.arity - 1)) === 0))
    problems.push(`dispute.arity must be a power of two in 2..256, got ${d.arity}`);
  positive(d.maxClockMs, "dispute.maxClockMs");
  positive(d.extensionMs, "dispute.extensionMs");
  positive(d.oneStepExtensionMs, "dispute.oneStepExtensionMs");
  if (d.extensionMs > d.maxClockMs || d.oneStepExtensionMs > d.maxClockMs)
    problems.push("dispute extensions must not exceed the clock");
  integer(d.gas.attack, "dispute.gas.attack", 1, 1e9);
  integer(d.gas.dissect, "dispute.gas.dissect", 1, 1e9);
  integer(d.gas.oneStep, "dispute.gas.oneStep", 1, 1e9);
  amount(d.bondGasPriceWei, "dispute.bondGasPriceWei");
  if (!(d.bondSafetyFactor >= 1))
    problems.push(`dispute.bondSafetyFactor must be ≥ 1, got ${d.bondSafetyFactor}`);
  amount(d.workerSlash, "dispute.workerSlash");
  const gasValid = [d.gas.attack, d.gas.dissect, d.gas.oneStep].every(Number.isSafeInteger);
  if (gasValid && d.bondSafetyFactor >= 1 && d.bondGasPriceWei >= 0n) {
    const g = griefingCost(d);
    if (g.aboveLeaves.honest > g.aboveLeaves.attackerBond || g.atLeaves.honest > g.atLeaves.attackerBond)
      problems.push(
        "dispute bonds must cover the answers they force (attackBond ≥ the dissection's bond and gas, and ≥ a one-step's gas): raise bondSafetyFactor or gas.dissect",
      );
  }
  bps(d.challengerShareBps, "dispute.challengerShareBps");
  const s = p.spotcheck;
  integer(s.rhoPpm, "spotcheck.rhoPpm", 0, 1_000_000);
  integer(s.seedDelayBlocks, "spotcheck.seedDelayBlocks", 1, 256);
  positive(s.proofDeadlineMs, "spotcheck.proofDeadlineMs");
  positive(s.bindingWindowMs, "spotcheck.bindingWindowMs");
  amount(s.missingProofSlash, "spotcheck.missingProofSlash");
  const e = p.poea;
  amount(e.minWorkerStake, "poea.minWorkerStake");
  amount(e.minEvaluatorStake, "poea.minEvaluatorStake");
  positive(e.unbondingMs, "poea.unbondingMs");
  positive(e.epochMs, "poea.epochMs");
  positive(e.scoreCommitMs, "poea.scoreCommitMs");
  positive(e.scoreRevealMs, "poea.scoreRevealMs");
  integer(e.evaluatorsPerReceipt, "poea.evaluatorsPerReceipt", 1, 1000);
  amount(e.epochRewards, "poea.epochRewards");
  for (const [name, v] of [
    ["poea.workerShareBps", e.workerShareBps],
    ["poea.evaluatorShareBps", e.evaluatorShareBps],
    ["poea.fishermanShareBps", e.fishermanShareBps],
  ] as const)
    bps(v, name);
  if (e.workerShareBps + e.evaluatorShareBps + e.fishermanShareBps !== 10_000)
    problems.push("poea reward shares must sum to 10,000 basis points");
  return problems;
}

/**
 * The bond an attack on a node at `height` posts: it forces a dissection (or, on a leaf, a one-step), so
 * it covers that move's gas (times the safety factor) and, above the leaves, the bond the dissection
 * locks — a defender never locks or spends more than its attacker posted, whatever the moves cost.
 */
export function attackBond(d: DisputeParams, height: number): bigint {
  return height === 0 ? scaledGas(d, d.gas.oneStep) : scaledGas(d, d.gas.dissect) + dissectBond(d);
}

/** The bond a dissection posts: it forces an attack from whoever disagrees. */
export function dissectBond(d: DisputeParams): bigint {
  return scaledGas(d, d.gas.attack);
}

/** What answering one attack costs the honest side, and what the attack itself posts. */
export interface GriefingCost {
  /** Bonds the honest side locks (returned) plus the gas it spends answering (paid back by the attack's bond). */
  readonly honest: bigint;
  readonly attackerBond: bigint;
}

/**
 * The griefing bound (docs/spec/otr.md §4.5) at an honest gas price: answering an attack above the
 * leaves costs a dissection (its bond and its gas), on a leaf a one-step (its gas). An attack's bond
 * covers the move it forces, so defending one batch against N attackers, each attacking a different
 * correct node, needs at most N × max(honest) of capital, and the attackers lose at least that much.
 */
export function griefingCost(
  d: DisputeParams,
  gasPriceWei: bigint = d.bondGasPriceWei,
): { readonly aboveLeaves: GriefingCost; readonly atLeaves: GriefingCost } {
  return {
    aboveLeaves: {
      honest: dissectBond(d) + BigInt(d.gas.dissect) * gasPriceWei,
      attackerBond: attackBond(d, 1),
    },
    atLeaves: { honest: BigInt(d.gas.oneStep) * gasPriceWei, attackerBond: attackBond(d, 0) },
  };
}

/** Capital an honest party needs to defend one batch against `attackers` griefing attacks. */
export function defenseCapital(d: DisputeParams, attackers: number, gasPriceWei?: bigint): bigint {
  const { aboveLeaves, atLeaves } = griefingCost(d, gasPriceWei);
  const worst = [aboveLeaves.honest, atLeaves.honest].sort((a, b) => (a < b ? 1 : -1))[0] as bigint;
  return BigInt(attackers) * worst;
}

function scaledGas(d: DisputeParams, gas: number): bigint {
  // Safety factor in thousandths, so fractional factors stay exact in bigint.
  return (BigInt(gas) * d.bondGasPriceWei * BigInt(Math.round(d.bondSafetyFactor * 1000))) / 1000n;
}
