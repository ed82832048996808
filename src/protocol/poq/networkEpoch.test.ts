import fc from "fast-check";
import { encodeAbiParameters, keccak256 } from "viem";
import { describe, expect, it } from "vitest";
import { bytesToHex, type Hex } from "../encoding/hex.ts";
import { DEFAULT_OTR_PARAMS } from "../params/otr.ts";
import { DEFAULT_POQ_ROUND_PARAMS } from "../params/poq.ts";
import { epochPools, settleEpoch } from "../poea/epoch.ts";
import {
  decodeScores,
  type EpochReceipt,
  encodeScores,
  evaluatorSeed,
  networkEpochRounds,
  sampleEvaluators,
  scoreCommitment,
} from "./networkEpoch.ts";
import { initialTrust } from "./round.ts";

const addr = (i: number) => `0x${(0xe000 + i).toString(16).padStart(40, "0")}` as Hex;
const SEED = evaluatorSeed(`0x${"11".repeat(32)}`, `0x${"22".repeat(32)}`);

describe("scores on chain", () => {
  it("encodes and decodes any scores (sorted, hundredths)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({
            batch: fc.nat(2 ** 32 - 1),
            position: fc.nat(2 ** 32 - 1),
            score: fc.integer({ min: 0, max: 1000 }).map((h) => h / 100),
          }),
          { selector: (s) => `${s.batch}:${s.position}`, maxLength: 40 },
        ),
        (scores) => {
          const decoded = decodeScores(encodeScores(scores));
          expect(decoded.ok).toBe(true);
          const sorted = [...scores].sort((a, b) => a.batch - b.batch || a.position - b.position);
          expect(decoded.ok && decoded.value).toEqual(sorted);
        },
      ),
    );
  });

  it("rejects ragged bytes, scores above 10 and a receipt scored twice", () => {
    const one = encodeScores([{ batch: 1, position: 2, score: 7.5 }]);
    expect(decodeScores(one.subarray(0, 9))).toMatchObject({
      ok: false,
      error: { code: "SCORES_MALFORMED" },
    });
    const high = one.slice();
    high[8] = 0x03;
    high[9] = 0xe9; // 1001 hundredths
    expect(decodeScores(high)).toMatchObject({ ok: false, error: { code: "SCORES_MALFORMED" } });
    const twice = new Uint8Array([...one, ...one]);
    expect(decodeScores(twice)).toMatchObject({ ok: false, error: { code: "SCORES_MALFORMED" } });
  });

  it("commits as ScoreCommits.commitmentOf does: keccak256(abi.encode(epoch, evaluator, H(scores), salt))", () => {
    const scores = encodeScores([{ batch: 0, position: 3, score: 4.25 }]);
    const salt = `0x${"ab".repeat(32)}` as Hex;
    const expected = keccak256(
      encodeAbiParameters(
        [{ type: "uint64" }, { type: "address" }, { type: "bytes32" }, { type: "bytes32" }],
        [7n, addr(1), keccak256(bytesToHex(scores)), salt],
      ),
    );
    expect(scoreCommitment(7n, addr(1), scores, salt)).toBe(expected);
  });
});

describe("evaluator sampling", () => {
  it("draws min(k, n) distinct registered evaluators, the same for everyone", () => {
    const evaluators = [1, 2, 3, 4, 5].map(addr);
    for (let position = 0; position < 50; position++) {
      const drawn = sampleEvaluators(SEED, position, evaluators, 3);
      expect(new Set(drawn).size).toBe(3);
      for (const e of drawn) expect(evaluators).toContain(e);
      expect(sampleEvaluators(SEED, position, evaluators, 3)).toEqual(drawn);
    }
    expect(sampleEvaluators(SEED, 0, evaluators.slice(0, 2), 3)).toHaveLength(2);
  });
});

describe("an epoch's rounds", () => {
  const evaluators = [1, 2, 3, 4, 5].map(addr);
  const index = new Map(evaluators.map((e, i) => [e, i]));
  const honestWorker = addr(100);
  const cheat = addr(101);
  const receipts: EpochReceipt[] = Array.from({ length: 12 }, (_, i) => ({
    batch: Math.floor(i / 4),
    position: i % 4,
    worker: i % 3 === 2 ? cheat : honestWorker,
    inputTokens: 5,
    outputTokens: 10,
    latencyMs: 20 + i,
    voided: i === 2,
    evaluators,
  }));
  /** Honest evaluators see each output's quality (6 or 8); the last two collude and always say 10. */
  const truth = (r: EpochReceipt) => (r.worker === honestWorker ? 8 : 6);
  const reveals = new Map(
    evaluators.map((e, j) => [
      e,
      new Map(receipts.map((r) => [`${r.batch}:${r.position}`, j >= 3 ? 10 : truth(r)])),
    ]),
  );

  it("pays workers for non-voided work at the robust consensus, and colluders less than honest evaluators", () => {
    const p = { ...DEFAULT_POQ_ROUND_PARAMS, k: 5 };
    const out = networkEpochRounds(receipts, reveals, initialTrust(5, p), index, p);
    expect(out.rounds).toHaveLength(12);
    for (const r of out.rounds)
      expect(r.consensus).toBe(truth(receipts[r.batch * 4 + r.position] as EpochReceipt));
    const w = new Map(out.workers.map((x) => [x.worker, x]));
    expect(w.get(honestWorker)?.quality).toBe(8);
    expect(w.get(cheat)?.quality).toBe(6);
    // 4 receipts of the cheat, one voided: 3 × 15 tokens.
    expect(w.get(cheat)?.tokens).toBe(45n);
    expect(w.get(honestWorker)?.tokens).toBe(8n * 15n);
    const reward = new Map(out.evaluators.map((x) => [x.evaluator, x.reward]));
    for (const honest of evaluators.slice(0, 3))
      for (const colluder of evaluators.slice(3))
        expect(reward.get(honest) as bigint).toBeGreaterThan(reward.get(colluder) as bigint);
  });

  it("counts only the sampled evaluators' scores", () => {
    const p = { ...DEFAULT_POQ_ROUND_PARAMS, k: 1 };
    const only = receipts.map((r) => ({ ...r, evaluators: [addr(1)] }));
    const out = networkEpochRounds(only, reveals, initialTrust(5, p), index, p);
    expect(out.evaluators.map((x) => x.evaluator)).toEqual([addr(1)]);
    const none = networkEpochRounds(
      receipts.map((r) => ({ ...r, evaluators: [addr(9)] })),
      reveals,
      initialTrust(5, p),
      index,
      p,
    );
    expect(none.rounds).toHaveLength(0);
  });

  it("pays every worker by verified work and efficiency when no evaluator revealed a score", () => {
    const p = { ...DEFAULT_POQ_ROUND_PARAMS, k: 5 };
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            worker: fc.integer({ min: 0, max: 3 }),
            outputTokens: fc.integer({ min: 1, max: 64 }),
            latencyMs: fc.integer({ min: 1, max: 500 }),
            voided: fc.boolean(),
          }),
          { minLength: 1, maxLength: 30 },
        ),
        (served) => {
          const epoch = served.map((x, i) => ({
            batch: i,
            position: 0,
            worker: addr(200 + x.worker),
            inputTokens: 5,
            outputTokens: x.outputTokens,
            latencyMs: x.latencyMs,
            voided: x.voided,
            evaluators,
          }));
          const out = networkEpochRounds(epoch, new Map(), initialTrust(5, p), index, p);
          expect(out.rounds).toHaveLength(0);
          const minted = 10n ** 21n;
          const paid = settleEpoch(DEFAULT_OTR_PARAMS.poea, minted, out.workers, out.evaluators, []);
          const workerPool = epochPools(DEFAULT_OTR_PARAMS.poea, minted)[0];
          const toWorkers = paid.payouts.reduce((s, x) => s + (x.role === "worker" ? x.amount : 0n), 0n);
          const withWork = out.workers.filter((w) => w.tokens > 0n);
          // The whole worker pool is paid (floor dust aside) to whoever did verified work.
          if (withWork.length > 0) expect(workerPool - toWorkers).toBeLessThan(BigInt(withWork.length));
          else expect(toWorkers).toBe(0n);
          // Pro rata to tokens × efficiency, as if every worker's quality were the same (efficiency in ppm).
          const cheapest = Math.min(...withWork.map((w) => w.costPerToken));
          const weight = (w: (typeof withWork)[number]) => Number(w.tokens) * (cheapest / w.costPerToken);
          const total = withWork.reduce((s, w) => s + weight(w), 0);
          for (const w of withWork) {
            const got = paid.payouts.find((x) => x.to === w.worker && x.role === "worker")?.amount ?? 0n;
            expect(Number(got) / Number(workerPool)).toBeCloseTo(weight(w) / total, 4);
          }
        },
      ),
    );
  });
});
