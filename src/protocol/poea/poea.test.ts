import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Hex } from "../encoding/hex.ts";
import { DEFAULT_OTR_PARAMS } from "../params/otr.ts";
import { attributionWeights, rewardEntries, settleEpoch, type WorkerEpoch } from "./epoch.ts";
import { StakeBook } from "./stakes.ts";

const P = DEFAULT_OTR_PARAMS.poea;
const addr = (i: number) => `0x${i.toString(16).padStart(40, "0")}` as Hex;
const workerArb = fc.record({
  tokens: fc.bigInt({ min: 0n, max: 10n ** 9n }),
  quality: fc.double({ min: 0, max: 10, noNaN: true }),
  costPerToken: fc.double({ min: 0.01, max: 5, noNaN: true }),
});

describe("PoEA epochs", () => {
  it("conserve exactly: payouts + burned = minted, whatever the inputs", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 24n }),
        fc.array(workerArb, { maxLength: 8 }),
        fc.array(fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n }), { maxLength: 6 }),
        fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.boolean()), { maxLength: 4 }),
        (minted, workers, evaluators, fishermen) => {
          const s = settleEpoch(
            P,
            minted,
            workers.map((w, i) => ({ ...w, worker: addr(i) })),
            evaluators.map((reward, i) => ({ evaluator: addr(100 + i), reward })),
            fishermen.map(([stake, active], i) => ({ fisherman: addr(200 + i), stake, active })),
          );
          expect(s.payouts.reduce((sum, p) => sum + p.amount, 0n) + s.burned).toBe(minted);
          expect(s.payouts.every((p) => p.amount > 0n)).toBe(true);
          // The reward root's entries pay exactly these amounts, and their running sums add up.
          const r = rewardEntries(
            P,
            minted,
            workers.map((w, i) => ({ ...w, worker: addr(i) })),
            evaluators.map((reward, i) => ({ evaluator: addr(100 + i), reward })),
            fishermen.map(([stake, active], i) => ({ fisherman: addr(200 + i), stake, active })),
          );
          expect(r.entries.filter((x) => x.amount > 0n).map((x) => [x.account, x.amount])).toEqual(
            s.payouts.map((p) => [p.to, p.amount]),
          );
          for (const role of [0, 1, 2] as const) {
            const mine = r.entries.filter((x) => x.role === role);
            expect(mine.length).toBe(r.counts[role]);
            const last = mine[mine.length - 1];
            expect(last ? last.weightBefore + last.weight : 0n).toBe(r.totals[role]);
          }
        },
      ),
      { numRuns: 300, seed: 5 },
    );
  });

  it("are Sybil neutral: splitting a worker's work over identities gains nothing but rounding", () => {
    fc.assert(
      fc.property(
        fc.array(workerArb, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 2, max: 5 }),
        fc.bigInt({ min: 10n ** 18n, max: 10n ** 24n }),
        (workers, parts, minted) => {
          const named: WorkerEpoch[] = workers.map((w, i) => ({ ...w, worker: addr(i) }));
          const whole = settleEpoch(P, minted, named, [], []);
          const a = named[0] as WorkerEpoch;
          const pieces = Array.from({ length: parts }, (_, j) => ({
            ...a,
            worker: addr(1000 + j),
            tokens: a.tokens / BigInt(parts) + (j === 0 ? a.tokens % BigInt(parts) : 0n),
          }));
          const split = settleEpoch(P, minted, [...pieces, ...named.slice(1)], [], []);
          const paid = (s: typeof whole, who: Hex[]) =>
            s.payouts.filter((p) => who.includes(p.to)).reduce((sum, p) => sum + p.amount, 0n);
          const before = paid(whole, [a.worker]);
          const after = paid(
            split,
            pieces.map((p) => p.worker),
          );
          expect(after).toBeLessThanOrEqual(before + BigInt(parts));
          expect(after).toBeGreaterThanOrEqual(before - BigInt(parts));
        },
      ),
      { numRuns: 300, seed: 6 },
    );
  });

  it("attribute by work × quality × efficiency: a model downgrade voided earns nothing", () => {
    const s = settleEpoch(
      P,
      10n ** 21n,
      [
        { worker: addr(1), tokens: 1000n, quality: 8, costPerToken: 1 },
        { worker: addr(2), tokens: 1000n, quality: 4, costPerToken: 1 },
        { worker: addr(3), tokens: 1000n, quality: 8, costPerToken: 2 },
        { worker: addr(4), tokens: 0n, quality: 9, costPerToken: 0.5 }, // its receipts were voided
      ],
      [],
      [],
    );
    const paid = (i: number) => s.payouts.find((p) => p.to === addr(i))?.amount ?? 0n;
    expect(paid(1)).toBe(2n * paid(2));
    expect(paid(1)).toBe(2n * paid(3));
    expect(paid(4)).toBe(0n);
    // The voided worker's (lower) cost does not set the benchmark: the cheapest worker with work does.
    expect(s.attribution[addr(1)]).toBe(String(1000n * 800_000n * 1_000_000n));
  });

  it("let no worker without verified work move the others' weights, whatever its cost", () => {
    fc.assert(
      fc.property(fc.double({ min: 0.001, max: 100, noNaN: true }), (cost) => {
        const workers = [
          { worker: addr(1), tokens: 700n, quality: 7, costPerToken: 3 },
          { worker: addr(2), tokens: 500n, quality: 9, costPerToken: 5 },
        ];
        const without = attributionWeights(workers);
        const withIdle = attributionWeights([
          ...workers,
          { worker: addr(3), tokens: 0n, quality: 10, costPerToken: cost },
        ]);
        expect(withIdle.slice(0, 2)).toEqual(without);
        expect(withIdle[2]).toBe(0n);
      }),
    );
  });
});

describe("stakes", () => {
  it("slash unbonding stake too, withdraw after the delay, and reconcile every wei", () => {
    const book = new StakeBook(P.unbondingMs);
    const w = addr(1);
    expect(book.deposit(w, 10n).ok).toBe(true);
    expect(book.deposit(w, 0n)).toMatchObject({ ok: false, error: { code: "STAKE_INVALID" } });
    expect(book.unbond(w, 7n, 0)).toMatchObject({ ok: true, value: P.unbondingMs });
    expect(book.unbond(w, 4n, 0)).toMatchObject({ ok: false, error: { code: "STAKE_INVALID" } });
    // Cheating then unbonding does not escape: the slash reaches the unbonding stake.
    expect(book.slash(w, 6n)).toBe(6n);
    expect(book.active(w)).toBe(0n);
    expect(book.atRisk(w)).toBe(4n);
    expect(book.withdraw(w, P.unbondingMs - 1)).toBe(0n);
    expect(book.withdraw(w, P.unbondingMs)).toBe(4n);
    expect(book.slash(w, 100n)).toBe(0n);
    expect(book.deposited).toBe(book.held() + book.withdrawn + book.slashed);
  });
});
