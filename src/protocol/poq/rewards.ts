/**
 * Cost-aware rewards (cost-aware PoQ paper, PAPERS.md §2), for inference and evaluator nodes alike:
 *
 *   R = α · quality_norm − β · cost_norm
 *
 * with our normalizations (the paper's are unknown):
 * - inference node: quality_norm = consensus / 10; evaluator node: quality_norm = 1 − |s − c| / 10;
 * - cost_norm = cost / (largest cost in the node's pool), in [0, 1]; the cost is latency (inference:
 *   the node's cost profile; evaluators: their measured scoring time).
 * α and β are per node type, in params (defaults ours; swept in docs/reproductions/poq-cost-aware.md).
 *
 * Amounts that settle are bigint fixed point: each round's float reward becomes ⌊x · 10^d⌋ computed on
 * the float's exact binary value (so rounding is toward −∞ and no node is ever credited more than its
 * float reward), and ledgers sum bigints exactly.
 */

/** α and β of one node type. */
export interface RewardWeights {
  readonly alpha: number;
  readonly beta: number;
}

/** Reward parameters for both node types. */
export interface RewardParams {
  readonly inference: RewardWeights;
  readonly evaluator: RewardWeights;
}

/** cost / maxCost, or 0 when the pool has no cost. */
export function normalizeCost(cost: number, maxCost: number): number {
  return maxCost > 0 ? cost / maxCost : 0;
}

/** An inference node's reward for one output with consensus score `consensus` (0–10). */
export function inferenceReward(consensus: number, costNorm: number, w: RewardWeights): number {
  return (w.alpha * consensus) / 10 - w.beta * costNorm;
}

/** An evaluator's reward for reporting `score` when the consensus was `consensus`. */
export function evaluatorReward(
  score: number,
  consensus: number,
  costNorm: number,
  w: RewardWeights,
): number {
  return w.alpha * (1 - Math.abs(score - consensus) / 10) - w.beta * costNorm;
}

const F64 = new Float64Array(1);
const WORDS = new Uint32Array(F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const POW10: bigint[] = [];
/** 10^d as a bigint, cached (settlement runs once per node per round). */
function pow10(d: number): bigint {
  let p = POW10[d];
  if (p === undefined) {
    p = 10n ** BigInt(d);
    POW10[d] = p;
  }
  return p;
}

/** ⌊x · 10^decimals⌋ computed exactly from the binary value of the double x. */
export function toFixedPoint(x: number, decimals: number): bigint {
  if (!Number.isFinite(x)) throw new RangeError(`cannot settle a non-finite amount (${x})`);
  if (x === 0) return 0n;
  F64[0] = x;
  const hi = WORDS[LITTLE_ENDIAN ? 1 : 0] as number;
  const lo = WORDS[LITTLE_ENDIAN ? 0 : 1] as number;
  const exponentBits = (hi >>> 20) & 0x7ff;
  // x = ±mantissa · 2^exponent exactly; the 53-bit mantissa is exact in a double.
  const fraction = (hi & 0xfffff) * 0x1_0000_0000 + lo;
  const mantissa = exponentBits === 0 ? fraction : fraction + 2 ** 52;
  const exponent = (exponentBits === 0 ? 1 : exponentBits) - 1075;
  const scaled = BigInt(hi >>> 31 ? -mantissa : mantissa) * pow10(decimals);
  // BigInt >> rounds toward −∞ for negative values too, which is the floor we want.
  return exponent >= 0 ? scaled << BigInt(exponent) : scaled >> BigInt(-exponent);
}

/** A fixed-point amount as a decimal string with `shown` fractional digits (truncated toward zero). */
export function formatFixedPoint(amount: bigint, decimals: number, shown = decimals): string {
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const scale = 10n ** BigInt(decimals);
  const fraction = (abs % scale).toString().padStart(decimals, "0").slice(0, shown);
  return `${negative ? "-" : ""}${abs / scale}${fraction ? `.${fraction}` : ""}`;
}

/** Per-node sums of settled rewards, exact. */
export class RewardLedger {
  private readonly balances = new Map<string, bigint>();
  constructor(readonly decimals: number) {}

  /** Credits (or debits, when negative) one round's float reward. */
  credit(node: string, amount: number): void {
    this.balances.set(node, (this.balances.get(node) ?? 0n) + toFixedPoint(amount, this.decimals));
  }

  /** Each node's signed balance; negative balances are owed penalties (paid from stake, issue #6). */
  balancesByNode(): ReadonlyMap<string, bigint> {
    return this.balances;
  }

  /** Total of all balances. */
  total(): bigint {
    let sum = 0n;
    for (const v of this.balances.values()) sum += v;
    return sum;
  }
}
