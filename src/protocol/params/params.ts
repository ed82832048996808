/**
 * Protocol parameters. They are plain values passed into protocol functions (never read from a
 * global), so simulators can sweep them. Where a paper leaves a value unknown, the value here is our
 * choice and says so (PAPERS.md).
 */
import { fail, ok, type Verdict } from "../errors.ts";

/** Parameters of the Proof-of-Quality scoring layer and its statistics. */
export interface PoqScoringParams {
  /** Lowest and highest evaluator score; the PoQ papers score on 0–10. */
  readonly scoreMin: number;
  readonly scoreMax: number;
  /** Bootstrap resamples for confidence intervals (our choice: 1000, the usual default). */
  readonly bootstrapResamples: number;
  /** Two-sided confidence level of reported intervals. */
  readonly confidenceLevel: number;
  /** Longest text (UTF-16 code units) an evaluator accepts per field; longer input is rejected (our choice). */
  readonly maxTextChars: number;
}

/** All protocol parameters. */
export interface ProtocolParams {
  /** Preset name, recorded in reports. */
  readonly name: string;
  /** Decimals of the bigint fixed-point scale for amounts that settle (stakes, rewards, slashes). */
  readonly fixedPointDecimals: number;
  readonly poq: PoqScoringParams;
}

const POQ_DEFAULTS: PoqScoringParams = {
  scoreMin: 0,
  scoreMax: 10,
  bootstrapResamples: 1000,
  confidenceLevel: 0.95,
  maxTextChars: 200_000,
};

/** Parameter presets: `paper` follows the papers where they give values, `devnet` for a local network, `test` small and fast. */
export const PRESETS = {
  paper: { name: "paper", fixedPointDecimals: 18, poq: POQ_DEFAULTS },
  devnet: { name: "devnet", fixedPointDecimals: 18, poq: POQ_DEFAULTS },
  test: { name: "test", fixedPointDecimals: 18, poq: { ...POQ_DEFAULTS, bootstrapResamples: 200 } },
} as const satisfies Record<string, ProtocolParams>;

/** Name of a preset. */
export type PresetName = keyof typeof PRESETS;

/** Returns a preset by name. */
export function preset(name: PresetName): ProtocolParams {
  return PRESETS[name];
}

/** Validates parameters, reporting every problem at once. */
export function validateParams(params: ProtocolParams): Verdict<ProtocolParams> {
  const problems: string[] = [];
  const { poq } = params;
  if (
    !Number.isInteger(params.fixedPointDecimals) ||
    params.fixedPointDecimals < 0 ||
    params.fixedPointDecimals > 36
  ) {
    problems.push("fixedPointDecimals must be an integer in 0..36");
  }
  if (!(Number.isFinite(poq.scoreMin) && Number.isFinite(poq.scoreMax) && poq.scoreMin < poq.scoreMax)) {
    problems.push("poq.scoreMin must be below poq.scoreMax");
  }
  if (
    !Number.isInteger(poq.bootstrapResamples) ||
    poq.bootstrapResamples < 0 ||
    poq.bootstrapResamples > 1_000_000
  ) {
    problems.push("poq.bootstrapResamples must be an integer in 0..1000000");
  }
  if (!(poq.confidenceLevel > 0 && poq.confidenceLevel < 1))
    problems.push("poq.confidenceLevel must be in (0, 1)");
  if (!Number.isInteger(poq.maxTextChars) || poq.maxTextChars < 1)
    problems.push("poq.maxTextChars must be a positive integer");
  return problems.length === 0
    ? ok(params)
    : fail("PARAMS_INVALID", `invalid protocol parameters: ${problems.join("; ")}`, { problems });
}
