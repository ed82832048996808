/**
 * One Yuma consensus epoch (Bittensor subtensor's `epoch`, Yuma2 and Yuma3 with liquid alpha), on
 * exact I32F32 arithmetic so that its u16/u64 outputs equal the chain's bit for bit
 * (../shared/data/yuma/README.md §4). Validators' weights over miners (rows: validators) become
 * consensus (stake-weighted κ-median per miner), clipped weights, incentive, bonds (EMA) and dividends.
 */
import {
  add,
  clamp,
  type Fixed,
  fromInt,
  fromU16Proportion,
  max,
  mul,
  ONE,
  safeDiv,
  safeExp,
  satDiv,
  sub,
  toU16Proportion,
  ZERO,
} from "./i32f32.ts";
import {
  colClip,
  colMaxUpscale,
  colNormalize,
  interpolate,
  isTopkNonzero,
  type Matrix,
  matEma,
  matEmaAlpha,
  matmul,
  matmulTranspose,
  normalize,
  rowHadamard,
  rowNormalize,
  rowSum,
  sum,
  weightedMedianCol,
} from "./yumaMath.ts";

/** Subnet parameters (u16/u64 as stored on chain). */
export interface YumaParams {
  readonly n: number;
  readonly kappaU16: number;
  readonly bondsPenaltyU16: number;
  /** Per 1e6. */
  readonly bondsMovingAverage: number;
  readonly activityCutoff: number;
  readonly tempo: number;
  readonly maxAllowedValidators: number;
  readonly yuma3: boolean;
  readonly liquidAlpha: {
    readonly enabled: boolean;
    readonly alphaLowU16?: number;
    readonly alphaHighU16?: number;
    readonly sigmoidSteepness?: number;
  };
  readonly raoEmission: bigint;
}

/** The chain state an epoch reads. */
export interface YumaState {
  readonly currentBlock: number;
  readonly stakeRaw: readonly bigint[];
  readonly blockAtRegistration: readonly number[];
  /** Stored u16 weights, rows = setters. */
  readonly weights: readonly (readonly number[])[];
  readonly lastUpdate: readonly number[];
  readonly validatorPermits: readonly boolean[];
  /** Stored u16 bonds. */
  readonly bonds: readonly (readonly number[])[];
}

/** What the epoch writes (u16 proportions and u64 emissions). */
export interface YumaOutput {
  readonly active: boolean[];
  readonly stakeWeight: number[];
  readonly consensus: number[];
  readonly incentive: number[];
  readonly dividends: number[];
  readonly validatorTrust: number[];
  readonly emission: bigint[];
  readonly serverEmission: bigint[];
  readonly validatorEmission: bigint[];
  readonly newValidatorPermits: boolean[];
  readonly bonds: number[][];
}

/** Stake normalized in I64F64 ((x << 64) / Σ), truncated to I32F32. */
function stakeWeights(raw: readonly bigint[]): Fixed[] {
  const total = raw.reduce((a, b) => a + b, 0n);
  return raw.map((x) => (total === 0n ? 0n : ((x << 64n) / total) >> 32n));
}

/** 1 − bma/1e6, via I64F64 division truncated to I32F32. */
function disabledLiquidAlpha(bondsMovingAverage: number): Fixed {
  return sub(ONE, ((BigInt(bondsMovingAverage) << 64n) / 1_000_000n) >> 32n);
}

/** Liquid alpha of one (validator, miner) pair (`alpha_sigmoid`). */
function alphaSigmoid(
  consensus: Fixed,
  weight: Fixed,
  bond: Fixed,
  low: Fixed,
  high: Fixed,
  steepness: Fixed,
): Fixed {
  const diffBuy = clamp(sub(weight, consensus), ZERO, ONE);
  const diffSell = clamp(sub(bond, weight), ZERO, ONE);
  const diff = weight >= bond ? diffBuy : diffSell;
  const exponent = mul(satDiv(steepness, fromInt(-100)), sub(diff, satDiv(ONE, fromInt(2))));
  const sigmoid = satDiv(ONE, add(ONE, safeExp(exponent)));
  return clamp(add(low, mul(sigmoid, sub(high, low))), low, high);
}

/** Runs one epoch. */
export function yumaEpoch(p: YumaParams, s: YumaState): YumaOutput {
  const n = p.n;
  const inactive = s.lastUpdate.map((u) => u + p.activityCutoff < s.currentBlock);
  const active = inactive.map((x) => !x);

  const stake = stakeWeights(s.stakeRaw);
  const newPermits = isTopkNonzero(stake, p.maxAllowedValidators);
  const activeStake = normalize(stake.map((v, i) => (inactive[i] || !s.validatorPermits[i] ? ZERO : v)));

  // Weights: permitted rows only, no self-weight, none set before the target last registered.
  let weights: Matrix = s.weights.map((row, i) =>
    row.map((w, j) => {
      if (!s.validatorPermits[i] || i === j) return ZERO;
      if ((s.lastUpdate[i] as number) <= (s.blockAtRegistration[j] as number)) return ZERO;
      return fromInt(w);
    }),
  );
  weights = rowNormalize(weights);

  const kappa = satDiv(fromInt(p.kappaU16), fromInt(65535));
  const consensus = weightedMedianCol(activeStake, weights, kappa);
  const clipped = colClip(weights, consensus);
  const validatorTrust = rowSum(clipped);
  const incentive = normalize(matmul(clipped, activeStake));

  const bondsPenalty = satDiv(fromInt(p.bondsPenaltyU16), fromInt(65535));
  const weightsForBonds = interpolate(weights, clipped, bondsPenalty, ONE);
  const lastTempo = s.currentBlock - p.tempo;
  const recentlyRegistered = s.blockAtRegistration.map((b) => lastTempo <= b);

  let dividends: Fixed[];
  let storedBonds: number[][];
  if (p.yuma3) {
    const bonds: Matrix = s.bonds.map((row) =>
      row.map((b, j) => (recentlyRegistered[j] ? ZERO : fromU16Proportion(b))),
    );
    let ema: Matrix;
    if (p.liquidAlpha.enabled && consensus.some((c) => c !== ZERO)) {
      const low = fromU16Proportion(p.liquidAlpha.alphaLowU16 ?? 45875);
      const high = fromU16Proportion(p.liquidAlpha.alphaHighU16 ?? 58982);
      const steepness = fromInt(p.liquidAlpha.sigmoidSteepness ?? 1000);
      const alphas = weightsForBonds.map((row, i) =>
        row.map((w, j) =>
          alphaSigmoid(consensus[j] as Fixed, w, (bonds[i] as Fixed[])[j] as Fixed, low, high, steepness),
        ),
      );
      ema = matEmaAlpha(weightsForBonds, bonds, alphas, ONE);
    } else {
      ema = matEma(weightsForBonds, bonds, disabledLiquidAlpha(p.bondsMovingAverage), ONE);
    }
    const emaNorm = colNormalize(ema);
    const perValidator = emaNorm.map((row) => sum(row.map((v, j) => mul(v, incentive[j] as Fixed))));
    dividends = normalize(perValidator.map((v, i) => mul(v, activeStake[i] as Fixed)));
    storedBonds = ema.map((row) => row.map(toU16Proportion));
  } else {
    const bonds = colNormalize(
      s.bonds.map((row) => row.map((b, j) => (recentlyRegistered[j] ? ZERO : fromInt(b)))),
    );
    const delta = colNormalize(rowHadamard(weightsForBonds, activeStake));
    const ema = colNormalize(matEma(delta, bonds, disabledLiquidAlpha(p.bondsMovingAverage), ONE));
    dividends = normalize(matmulTranspose(ema, incentive));
    storedBonds = colMaxUpscale(ema).map((row) => row.map(toU16Proportion));
  }

  // Emission: incentive to servers, dividends to validators, both over Σ(I + D).
  const combined = incentive.map((v, i) => add(v, dividends[i] as Fixed));
  const emissionSum = sum(combined);
  let validatorShare = dividends.map((d) => safeDiv(d, emissionSum));
  const serverShare = incentive.map((x) => safeDiv(x, emissionSum));
  let combinedShare = normalize(combined);
  if (emissionSum === ZERO) {
    const fallback = activeStake.every((v) => v === ZERO) ? stake : activeStake;
    validatorShare = [...fallback];
    combinedShare = [...fallback];
  }
  const rao = (x: Fixed) => (max(x, ZERO) * p.raoEmission) >> 32n;

  const bonds = s.bonds.map((row, i) => {
    if (newPermits[i]) return storedBonds[i] as number[];
    if (s.validatorPermits[i]) return new Array<number>(n).fill(0);
    return [...row];
  });
  return {
    active,
    stakeWeight: stake.map(toU16Proportion),
    consensus: consensus.map(toU16Proportion),
    incentive: incentive.map(toU16Proportion),
    dividends: dividends.map(toU16Proportion),
    validatorTrust: validatorTrust.map(toU16Proportion),
    emission: combinedShare.map(rao),
    serverEmission: serverShare.map(rao),
    validatorEmission: validatorShare.map(rao),
    newValidatorPermits: newPermits,
    bonds,
  };
}
