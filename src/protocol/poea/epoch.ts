/**
 * Epoch settlement of Proof of Efficient Attribution (PAPERS.md §1; docs/spec/otr.md §6.2): each
 * epoch's minted rewards are split into worker, evaluator and fisherman pools, and each pool is paid
 * pro rata, in bigint wei, floor division, the dust burned — so every epoch conserves exactly:
 * payouts + burned = minted.
 *
 * - Workers: attribution = verified work × quality × efficiency, where work is the tokens of the
 *   worker's final, non-voided receipts (what the chain can see), quality its mean PoQ consensus on
 *   0–10, and efficiency the cheapest worker's cost per token over its own (1 for the cheapest). All
 *   three in integer units (tokens, ppm, ppm). Payment follows the model that really ran: a receipt
 *   voided for a model or trace mismatch earns nothing and its worker is slashed.
 * - Evaluators: pro rata to their positive PoQ round rewards of the epoch (settled bigint, round.ts).
 * - Fishermen: a baseline pro rata to the stake of active fishermen, so that someone watches even when
 *   nobody cheats (Truebit's verifier's dilemma); dispute bounties come on top, from slashes.
 * Splitting an identity in two changes nothing but rounding (Sybil neutrality; property-tested).
 */
import type { Hex } from "../encoding/hex.ts";
import type { PoeaParams } from "../params/otr.ts";

/** A worker's epoch. */
export interface WorkerEpoch {
  readonly worker: Hex;
  /** Input + output tokens of its final, non-voided receipts. */
  readonly tokens: bigint;
  /** Mean PoQ consensus of its outputs, 0–10. */
  readonly quality: number;
  /** What a token cost it (any unit shared by all workers; > 0). */
  readonly costPerToken: number;
}

/** An evaluator's epoch: the sum of its settled PoQ rewards (may be negative). */
export interface EvaluatorEpoch {
  readonly evaluator: Hex;
  readonly reward: bigint;
}

/** A fisherman's epoch. */
export interface FishermanEpoch {
  readonly fisherman: Hex;
  readonly stake: bigint;
  readonly active: boolean;
}

/** A payout of the epoch. */
export interface EpochPayout {
  readonly to: Hex;
  readonly role: "worker" | "evaluator" | "fisherman";
  readonly amount: bigint;
}

/** The epoch's settlement. */
export interface EpochSettlement {
  readonly payouts: readonly EpochPayout[];
  /** Rounding dust and the pools nobody qualified for. */
  readonly burned: bigint;
  /** Each worker's attribution weight (tokens × quality ppm × efficiency ppm). */
  readonly attribution: Readonly<Record<string, string>>;
}

const PPM = 1_000_000;

/** Splits `pool` pro rata to `weights` (floor); returns the amounts and the dust. */
export function proRata(pool: bigint, weights: readonly bigint[]): { amounts: bigint[]; dust: bigint } {
  const total = weights.reduce((s, w) => s + (w > 0n ? w : 0n), 0n);
  if (total === 0n) return { amounts: weights.map(() => 0n), dust: pool };
  const amounts = weights.map((w) => (w > 0n ? (pool * w) / total : 0n));
  return { amounts, dust: pool - amounts.reduce((s, a) => s + a, 0n) };
}

/**
 * A worker's attribution weight: verified tokens × quality (ppm of 10) × efficiency (ppm). The
 * cheapest cost is taken over workers with verified work only: one whose receipts were all voided
 * (or that served none) has no cost to compare, and must not move anyone else's efficiency.
 */
export function attributionWeights(workers: readonly WorkerEpoch[]): bigint[] {
  const cheapest = Math.min(
    ...workers.filter((w) => w.tokens > 0n && w.costPerToken > 0).map((w) => w.costPerToken),
  );
  return workers.map((w) => {
    if (!(w.costPerToken > 0) || w.tokens <= 0n) return 0n;
    const quality = BigInt(Math.round((Math.min(10, Math.max(0, w.quality)) / 10) * PPM));
    const efficiency = BigInt(Math.round((cheapest / w.costPerToken) * PPM));
    return w.tokens * quality * efficiency;
  });
}

/** The worker, evaluator and fisherman pools of `minted` (floor; the remainder to fishermen). */
export function epochPools(params: PoeaParams, minted: bigint): [bigint, bigint, bigint] {
  const share = (bps: number) => (minted * BigInt(bps)) / 10_000n;
  const workerPool = share(params.workerShareBps);
  const evaluatorPool = share(params.evaluatorShareBps);
  return [workerPool, evaluatorPool, minted - workerPool - evaluatorPool];
}

/** Settles one epoch's minted rewards. */
export function settleEpoch(
  params: PoeaParams,
  minted: bigint,
  workers: readonly WorkerEpoch[],
  evaluators: readonly EvaluatorEpoch[],
  fishermen: readonly FishermanEpoch[],
): EpochSettlement {
  const [workerPool, evaluatorPool, fishermanPool] = epochPools(params, minted);
  const weights = attributionWeights(workers);
  const w = proRata(workerPool, weights);
  const e = proRata(
    evaluatorPool,
    evaluators.map((x) => x.reward),
  );
  const f = proRata(
    fishermanPool,
    fishermen.map((x) => (x.active ? x.stake : 0n)),
  );
  const payouts: EpochPayout[] = [
    ...workers.map((x, i) => ({ to: x.worker, role: "worker" as const, amount: w.amounts[i] as bigint })),
    ...evaluators.map((x, i) => ({
      to: x.evaluator,
      role: "evaluator" as const,
      amount: e.amounts[i] as bigint,
    })),
    ...fishermen.map((x, i) => ({
      to: x.fisherman,
      role: "fisherman" as const,
      amount: f.amounts[i] as bigint,
    })),
  ].filter((p) => p.amount > 0n);
  return {
    payouts,
    burned: w.dust + e.dust + f.dust,
    attribution: Object.fromEntries(workers.map((x, i) => [x.worker, String(weights[i])])),
  };
}

/** One entry of an epoch's reward root (contracts/src/Epochs.sol): role-major, with running sums. */
export interface RewardEntry {
  readonly account: Hex;
  /** 0 worker, 1 evaluator, 2 fisherman. */
  readonly role: 0 | 1 | 2;
  readonly weight: bigint;
  readonly amount: bigint;
  /** Σ weight and Σ amount of the role's earlier entries. */
  readonly weightBefore: bigint;
  readonly amountBefore: bigint;
}

/**
 * The entries an epoch's reward root commits to: every participant with a positive weight (negative
 * evaluator rewards and inactive fishermen weigh 0 and are left out), role by role in input order,
 * with the amounts settleEpoch pays; plus each role's total weight and count.
 */
export function rewardEntries(
  params: PoeaParams,
  minted: bigint,
  workers: readonly WorkerEpoch[],
  evaluators: readonly EvaluatorEpoch[],
  fishermen: readonly FishermanEpoch[],
): { entries: RewardEntry[]; totals: [bigint, bigint, bigint]; counts: [number, number, number] } {
  const pools = epochPools(params, minted);
  const roles: { account: Hex; weight: bigint }[][] = [
    attributionWeights(workers).map((weight, i) => ({ account: (workers[i] as WorkerEpoch).worker, weight })),
    evaluators.map((x) => ({ account: x.evaluator, weight: x.reward })),
    fishermen.map((x) => ({ account: x.fisherman, weight: x.active ? x.stake : 0n })),
  ];
  const entries: RewardEntry[] = [];
  roles.forEach((members, r) => {
    const positive = members.filter((m) => m.weight > 0n);
    const { amounts } = proRata(
      pools[r] as bigint,
      positive.map((m) => m.weight),
    );
    let weightBefore = 0n;
    let amountBefore = 0n;
    positive.forEach((m, i) => {
      const amount = amounts[i] as bigint;
      entries.push({
        account: m.account,
        role: r as 0 | 1 | 2,
        weight: m.weight,
        amount,
        weightBefore,
        amountBefore,
      });
      weightBefore += m.weight;
      amountBefore += amount;
    });
  });
  return { entries, ...roleTotals(entries) };
}

/** Each role's total weight and number of entries (what an epoch's settlement posts beside its root). */
export function roleTotals(entries: readonly RewardEntry[]): {
  totals: [bigint, bigint, bigint];
  counts: [number, number, number];
} {
  const totals: [bigint, bigint, bigint] = [0n, 0n, 0n];
  const counts: [number, number, number] = [0, 0, 0];
  for (const x of entries) {
    totals[x.role] += x.weight;
    counts[x.role]++;
  }
  return { totals, counts };
}
