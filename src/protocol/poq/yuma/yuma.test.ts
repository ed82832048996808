import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { itWithData, sharedFile } from "../../../testing/sharedData.ts";
import { type YumaParams, yumaEpoch } from "./epoch.ts";
import {
  fromF32,
  fromF64,
  fromInt,
  I32F32_MAX,
  I32F32_MIN,
  ONE,
  sigmoidSafe,
  sub,
  toNumber,
} from "./i32f32.ts";
import {
  colClip,
  colMaxUpscale,
  isTopk,
  matEmaAlpha,
  normalize,
  sum,
  weightedMedian,
  weightedMedianCol,
} from "./yumaMath.ts";

const VECTORS = "yuma/vectors.json";
// biome-ignore lint/suspicious/noExplicitAny: the vector file's shape is documented in its README
type Any = any;
const load = (): Any => JSON.parse(readFileSync(sharedFile(VECTORS) as string, "utf8"));

describe("I32F32 arithmetic", () => {
  it("converts like substrate-fixed", () => {
    expect(fromF32(0.1)).toBe(429496736n); // 0.1f32 = 13421773·2^-27
    expect(fromF64(0.1)).toBe(429496730n);
    expect(fromF64(0.5)).toBe(ONE / 2n);
    expect(toNumber(fromInt(3))).toBe(3);
    expect(fromF64(2 ** -33)).toBe(0n); // tie rounds to even
    expect(fromF64(3 * 2 ** -33)).toBe(2n);
  });
});

describe("Yuma math vectors (subtensor tests/math.rs)", () => {
  itWithData("weighted_median, weighted_median_col and sigmoid_safe match bit for bit", [VECTORS], () => {
    const m = load().math;
    for (const c of m.weighted_median) {
      let stake = c.stake_f32.map(fromF32);
      if (c.normalize_stake_first) stake = normalize(stake);
      expect(
        String(
          weightedMedian(stake, c.score_f32.map(fromF32), sub(ONE, fromF32(c.majority_f32)), 0n, sum(stake)),
        ),
      ).toBe(c.expected_bits);
    }
    for (const c of m.weighted_median_col) {
      const got = weightedMedianCol(
        c.stake_f32.map(fromF32),
        c.weights_f32_rows_are_validators.map((r: number[]) => r.map(fromF32)),
        fromF32(c.majority_kappa_f32),
      );
      expect(got.map(String)).toEqual(c.expected_bits);
    }
    for (const c of m.sigmoid_safe) {
      const inputs = (c.inputs ?? c.inputs_f32).map((x: Any) =>
        x === "I32F32::MIN"
          ? I32F32_MIN
          : x === "I32F32::MAX"
            ? I32F32_MAX
            : c.inputs
              ? fromF64(x)
              : fromF32(x),
      );
      expect(inputs.map((x: bigint) => String(sigmoidSafe(x, fromInt(c.rho), fromF64(c.kappa_f64))))).toEqual(
        c.expected_bits,
      );
    }
    expect(m.weighted_median).toHaveLength(12);
  });

  itWithData("col clip, is_topk, col max-upscale and mat_ema_alpha", [VECTORS], () => {
    const m = load().math;
    for (const c of m.inplace_col_clip) {
      expect(
        colClip(
          c.matrix_f32.map((r: number[]) => r.map(fromF32)),
          c.threshold_f32.map(fromF32),
        ),
      ).toEqual(c.expected_f32.map((r: number[]) => r.map(fromF32)));
    }
    for (const c of m.is_topk) expect(isTopk(c.vector_f32.map(fromF32), c.k)).toEqual(c.expected);
    for (const c of m.inplace_col_max_upscale) {
      const got = colMaxUpscale(c.matrix_f32_rows.map((r: number[]) => r.map(fromF32)));
      expectWithin(got, c.expected_f32_rows, 1.1e-4);
    }
    for (const c of m.mat_ema_alpha) {
      const alpha = c.old_bonds_f32.map((r: number[]) => r.map(() => fromF32(c.alpha_all_entries_f32)));
      const got = matEmaAlpha(
        c.new_weights_f32.map((r: number[]) => r.map(fromF32)),
        c.old_bonds_f32.map((r: number[]) => r.map(fromF32)),
        alpha,
        ONE,
      );
      expectWithin(got, c.expected_f32, 1.1e-4);
    }
  });
});

/** Upstream compares these within 1e-4 in I32F32; as float64 that is 1.1e-4 (README §3). */
function expectWithin(got: bigint[][], want: number[][], tolerance: number): void {
  for (const [i, row] of got.entries()) {
    for (const [j, v] of row.entries())
      expect(Math.abs(toNumber(v) - (want[i]?.[j] as number))).toBeLessThanOrEqual(tolerance);
  }
}

function paramsOf(p: Any): YumaParams {
  return {
    n: p.n,
    kappaU16: p.kappa_u16,
    bondsPenaltyU16: p.bonds_penalty_u16,
    bondsMovingAverage: p.bonds_moving_average,
    activityCutoff: p.activity_cutoff,
    tempo: p.tempo,
    maxAllowedValidators: p.max_allowed_validators,
    yuma3: p.yuma3,
    liquidAlpha: {
      enabled: p.liquid_alpha.enabled,
      alphaLowU16: p.liquid_alpha.alpha_low_u16,
      alphaHighU16: p.liquid_alpha.alpha_high_u16,
      sigmoidSteepness: p.liquid_alpha.sigmoid_steepness,
    },
    raoEmission: BigInt(p.rao_emission),
  };
}

describe("Yuma epoch vectors (subtensor tests/epoch.rs)", () => {
  itWithData("reproduces every step of the ten fully specified scenarios exactly", [VECTORS], () => {
    const scenarios = load().epoch.filter((s: Any) => s.params.n <= 100);
    let steps = 0;
    for (const sc of scenarios) {
      for (const st of sc.steps) {
        const I = st.input;
        const out = yumaEpoch(paramsOf(sc.params), {
          currentBlock: I.current_block,
          stakeRaw: sc.stake_raw.map(BigInt),
          blockAtRegistration: sc.block_at_registration,
          weights: I.weights_u16,
          lastUpdate: I.last_update,
          validatorPermits: I.validator_permits_before,
          bonds: I.bonds_u16_before,
        });
        const R = st.reference_outputs_u16_u64;
        const label = `${sc.name} step ${st.step}`;
        expect(out.active, label).toEqual(R.active);
        expect(out.stakeWeight, label).toEqual(R.stake_weight);
        expect(out.consensus, label).toEqual(R.consensus);
        expect(out.incentive, label).toEqual(R.incentive);
        expect(out.dividends, label).toEqual(R.dividends);
        expect(out.validatorTrust, label).toEqual(R.validator_trust);
        expect(out.emission.map(String), label).toEqual(R.emission.map(String));
        expect(out.serverEmission.map(String), label).toEqual(R.server_emission.map(String));
        expect(out.validatorEmission.map(String), label).toEqual(R.validator_emission.map(String));
        expect(out.newValidatorPermits, label).toEqual(R.new_validator_permits);
        expect(out.bonds, label).toEqual(R.bonds);
        if (st.asserted_upstream?.dividends_proportion) {
          // Upstream's own assertion: dividends as proportions within 1e-3.
          for (const [i, d] of out.dividends.entries()) {
            expect(
              Math.abs(d / 65535 - st.asserted_upstream.dividends_proportion[i]),
              label,
            ).toBeLessThanOrEqual(1e-3);
          }
        }
        steps++;
      }
    }
    expect(scenarios).toHaveLength(10);
    expect(steps).toBe(98);
  });

  itWithData(
    "reproduces the two 512-node scenarios, chained from their described inputs",
    [VECTORS],
    () => {
      for (const sc of load().epoch.filter((s: Any) => s.params.n === 512)) {
        const n = 512;
        const selfWeight = sc.name.endsWith("_true");
        let permits = new Array<boolean>(n).fill(false);
        let bonds = Array.from({ length: n }, () => new Array<number>(n).fill(0));
        for (const st of sc.steps) {
          const block = st.input.current_block;
          const weights = Array.from({ length: n }, (_, i) =>
            Array.from({ length: n }, (_, j) =>
              st.step === 0 ? 0 : i < 64 ? (j >= 64 ? 65535 : 0) : selfWeight && i === j ? 65535 : 0,
            ),
          );
          const out = yumaEpoch(paramsOf(sc.params), {
            currentBlock: block,
            stakeRaw: sc.stake_raw.map(BigInt),
            blockAtRegistration: sc.block_at_registration,
            weights,
            lastUpdate: new Array(n).fill(block),
            validatorPermits: permits,
            bonds,
          });
          const distinct = (xs: unknown[]) => [...new Set(xs.map(String))].sort();
          const want =
            st.reference_outputs_u16_u64["distinct_values_per_output (validators and servers pooled)"];
          const got: Record<string, string[]> = {
            stake_weight: distinct(out.stakeWeight),
            consensus: distinct(out.consensus),
            incentive: distinct(out.incentive),
            dividends: distinct(out.dividends),
            validator_trust: distinct(out.validatorTrust),
            emission: distinct(out.emission),
            server_emission: distinct(out.serverEmission),
            validator_emission: distinct(out.validatorEmission),
          };
          for (const [k, values] of Object.entries(got))
            expect(values, `${sc.name} step ${st.step} ${k}`).toEqual([...want[k]].sort());
          const asserted = st.asserted_upstream;
          if (asserted) {
            const v = asserted.for_each_validator_uid_0_63;
            const s = asserted.for_each_server_uid_64_511;
            for (let i = 0; i < 64; i++) {
              expect([
                out.consensus[i],
                out.incentive[i],
                out.dividends[i],
                String(out.emission[i]),
                out.bonds[i]?.[64],
                out.bonds[i]?.[0],
              ]).toEqual([
                v.consensus,
                v.incentive,
                v.dividends,
                String(v.emission),
                v["bonds[v][64]"],
                v["bonds[v][0]"],
              ]);
            }
            for (let i = 64; i < n; i++) {
              expect([
                out.consensus[i],
                out.incentive[i],
                out.dividends[i],
                String(out.emission[i]),
                out.bonds[i]?.[64],
                out.bonds[i]?.[0],
              ]).toEqual([
                s.consensus,
                s.incentive,
                s.dividends,
                String(s.emission),
                s["bonds[s][64]"],
                s["bonds[s][0]"],
              ]);
            }
          }
          permits = out.newValidatorPermits;
          bonds = out.bonds;
        }
      }
    },
    120_000,
  );
});
