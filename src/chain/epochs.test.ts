/**
 * Epochs.sol against settleEpoch (protocol/poea/epoch.ts) on anvil: an honest epoch's claims pay every
 * participant exactly the bigint amounts TypeScript computes and the dust burned is exactly its
 * `burned`, leaving nothing in the contract but the settler's bond; a settler that inflates one amount,
 * or whose weights do not add up to the total it posted, is caught by one entry's proof, its epoch voided
 * and its bond slashed; every misuse reverts with a named error.
 */
import fc from "fast-check";
import { type Hex, toHex, keccak256 as viemKeccak } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytesToHex } from "../protocol/encoding/hex.ts";
import { DEFAULT_OTR_PARAMS } from "../protocol/params/otr.ts";
import { type RewardEntry, rewardEntries, settleEpoch } from "../protocol/poea/epoch.ts";
import { startDevChain, TOKEN } from "../testing/devChain.ts";
import type { LocalChain } from "./anvil.ts";
import { advanceTime, send } from "./clients.ts";
import type { ChainClients, Deployment } from "./deploy.ts";
import { deployEpochs, rewardTree } from "./epochs.ts";
import { epochsAbi, verinferTokenAbi } from "./generated/contracts.ts";
import { revertReason } from "./revert.ts";

const P = DEFAULT_OTR_PARAMS.poea;
const BOND = 10n * TOKEN;
const WINDOW = 3600n;
const addr = (i: number) => `0x${(0xa000 + i).toString(16).padStart(40, "0")}` as Hex;
const MINTED = 1000n * TOKEN + 7n; // an odd amount: every pool leaves dust
const workers = [
  { worker: addr(1), tokens: 120_000n, quality: 7.5, costPerToken: 1.2 },
  { worker: addr(2), tokens: 80_000n, quality: 9.1, costPerToken: 1 },
  { worker: addr(3), tokens: 0n, quality: 8, costPerToken: 1 },
  { worker: addr(4), tokens: 333_333n, quality: 3.3, costPerToken: 2.7 },
];
const evaluators = [
  { evaluator: addr(11), reward: 3n * TOKEN + 1n },
  { evaluator: addr(12), reward: -TOKEN },
  { evaluator: addr(13), reward: 5n * TOKEN },
];
const fishermen = [
  { fisherman: addr(21), stake: 50n * TOKEN, active: true },
  { fisherman: addr(22), stake: 70n * TOKEN, active: false },
  { fisherman: addr(23), stake: 13n * TOKEN + 3n, active: true },
];

let chain: LocalChain;
let settler: ChainClients;
let challenger: ChainClients;
let d: Deployment;
let epochs: Hex;

const balanceOf = async (who: Hex) =>
  (await settler.public.readContract({
    address: d.token,
    abi: verinferTokenAbi,
    functionName: "balanceOf",
    args: [who],
  })) as bigint;
const supply = async () =>
  (await settler.public.readContract({
    address: d.token,
    abi: verinferTokenAbi,
    functionName: "totalSupply",
  })) as bigint;
const fails = (c: ChainClients, fn: string, args: readonly unknown[]) =>
  send(c, epochs, epochsAbi, fn, args).then(
    () => "sent",
    (e) => revertReason(e) ?? String(e),
  );

beforeAll(async () => {
  const dev = await startDevChain();
  ({ chain, owner: settler, d } = dev);
  challenger = dev.clientsOf(5);
  epochs = await deployEpochs(settler, d, P, {
    challengeWindowSeconds: WINDOW,
    minSettlerBond: BOND,
    challengerShareBps: 5_000,
    settler: settler.wallet.account.address,
  });
  await send(settler, d.token, verinferTokenAbi, "mint", [settler.wallet.account.address, 100_000n * TOKEN]);
  await send(settler, d.token, verinferTokenAbi, "approve", [epochs, 2n ** 255n]);
  await send(settler, epochs, epochsAbi, "depositBond", [BOND]);
}, 60_000);

afterAll(() => chain?.stop());

/** Posts epoch `e` with these entries (and totals, counts as given); returns the tree. */
async function postEpoch(e: number, r: ReturnType<typeof rewardEntries>) {
  const tree = rewardTree(r.entries);
  await send(settler, epochs, epochsAbi, "post", [
    BigInt(e),
    bytesToHex(tree.root),
    MINTED,
    r.totals,
    r.counts,
    viemKeccak(toHex("the epoch's inputs")),
  ]);
  return tree;
}

const proofOf = (tree: ReturnType<typeof rewardTree>, i: number) => tree.proof(i).map(bytesToHex);
const honest = () => rewardEntries(P, MINTED, workers, evaluators, fishermen);

describe("Epochs.sol = settleEpoch", () => {
  it("pays every participant exactly the TypeScript amounts and burns exactly its dust", async () => {
    const r = honest();
    const s = settleEpoch(P, MINTED, workers, evaluators, fishermen);
    const tree = await postEpoch(0, r);
    const x = r.entries[1] as RewardEntry;
    expect(await fails(challenger, "challengeEntry", [0n, 1n, x, proofOf(tree, 1)])).toMatch(/^EntryCorrect/);
    expect(
      await fails(challenger, "challengeSums", [0n, 1n, x, proofOf(tree, 1), r.entries[2], proofOf(tree, 2)]),
    ).toMatch(/^EntryCorrect/);
    expect(await fails(challenger, "claim", [0n, 1n, x, proofOf(tree, 1)])).toMatch(/^WindowOpen/);
    expect(
      await fails(settler, "post", [0n, bytesToHex(tree.root), MINTED, r.totals, r.counts, viemKeccak("0x")]),
    ).toMatch(/^EpochPostedAlready/);
    await advanceTime(settler, Number(WINDOW) + 1);
    for (const [i, entry] of r.entries.entries()) {
      const before = await balanceOf(entry.account);
      await send(challenger, epochs, epochsAbi, "claim", [0n, BigInt(i), entry, proofOf(tree, i)]);
      expect((await balanceOf(entry.account)) - before).toBe(entry.amount);
    }
    // Every payout of settleEpoch, to the wei.
    for (const p of s.payouts) expect(await balanceOf(p.to)).toBe(p.amount);
    expect(await fails(challenger, "claim", [0n, 0n, r.entries[0], proofOf(tree, 0)])).toMatch(
      /^ClaimedAlready/,
    );
    const forged = { ...(r.entries[0] as RewardEntry), amount: (r.entries[0] as RewardEntry).amount + 1n };
    expect(await fails(challenger, "claim", [0n, 0n, forged, proofOf(tree, 0)])).toMatch(/^EntryNotInEpoch/);
    const lastOf = (role: number) => {
      const i = r.entries.map((e) => e.role).lastIndexOf(role as 0);
      return { entry: r.entries[i] as RewardEntry, proof: proofOf(tree, i) };
    };
    const lasts = [0, 1, 2].map(lastOf);
    const supplyBefore = await supply();
    await send(challenger, epochs, epochsAbi, "burnDust", [
      0n,
      lasts.map((l) => l.entry),
      lasts.map((l) => l.proof),
    ]);
    expect(supplyBefore - (await supply())).toBe(s.burned);
    // Nothing is left but the settler's bond.
    expect(await balanceOf(epochs)).toBe(BOND);
  }, 120_000);

  it("property: an honest settler's epoch cannot be challenged at any entry (sound: no honest root is voided)", async () => {
    const worker = fc.record({
      tokens: fc.bigInt({ min: 0n, max: 10n ** 9n }),
      quality: fc.double({ min: 0, max: 10, noNaN: true }),
      costPerToken: fc.double({ min: 0.01, max: 5, noNaN: true }),
    });
    let e = 100;
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 1n, max: 10n ** 22n }),
        fc.array(worker, { minLength: 1, maxLength: 5 }),
        fc.array(fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n }), { maxLength: 4 }),
        fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.boolean()), { maxLength: 3 }),
        async (minted, ws, evs, fs) => {
          const epoch = BigInt(e++);
          const r = rewardEntries(
            P,
            minted,
            ws.map((w, i) => ({ ...w, worker: addr(300 + i) })),
            evs.map((reward, i) => ({ evaluator: addr(400 + i), reward })),
            fs.map(([stake, active], i) => ({ fisherman: addr(500 + i), stake, active })),
          );
          if (r.entries.length === 0) return;
          const tree = rewardTree(r.entries);
          await send(settler, epochs, epochsAbi, "post", [
            epoch,
            bytesToHex(tree.root),
            minted,
            r.totals,
            r.counts,
            viemKeccak("0x"),
          ]);
          for (const [i, x] of r.entries.entries()) {
            expect(
              await fails(challenger, "challengeEntry", [epoch, BigInt(i), x, proofOf(tree, i)]),
            ).toMatch(/^EntryCorrect/);
            const next = r.entries[i + 1] ?? x;
            expect(
              await fails(challenger, "challengeSums", [
                epoch,
                BigInt(i),
                x,
                proofOf(tree, i),
                next,
                i + 1 < r.entries.length ? proofOf(tree, i + 1) : [],
              ]),
            ).toMatch(/^EntryCorrect/);
          }
        },
      ),
      { numRuns: 6, seed: 13 },
    );
  }, 300_000);

  it("an inflated amount, or weights that do not add up, void the epoch and slash the settler's bond", async () => {
    const r = honest();
    // Entry 1 paid one token more, running sums kept consistent so that only its amount is wrong.
    const inflated = r.entries.map((x, i) =>
      i === 1
        ? { ...x, amount: x.amount + TOKEN }
        : i > 1 && x.role === 0
          ? { ...x, amountBefore: x.amountBefore + TOKEN }
          : x,
    );
    const tree = await postEpoch(1, { ...r, entries: inflated });
    const settlerBefore = await balanceOf(settler.wallet.account.address);
    const challengerBefore = await balanceOf(challenger.wallet.account.address);
    expect(
      await fails(challenger, "challengeSums", [
        1n,
        1n,
        inflated[1],
        proofOf(tree, 1),
        inflated[2],
        proofOf(tree, 2),
      ]),
    ).toMatch(/^EntryCorrect/);
    await send(challenger, epochs, epochsAbi, "challengeEntry", [1n, 1n, inflated[1], proofOf(tree, 1)]);
    expect((await balanceOf(challenger.wallet.account.address)) - challengerBefore).toBe(BOND / 2n);
    expect((await balanceOf(settler.wallet.account.address)) - settlerBefore).toBe(MINTED); // deposit returned
    expect(await fails(challenger, "claim", [1n, 1n, inflated[1], proofOf(tree, 1)])).toMatch(/^EpochVoid/);
    // The settler's bond is gone: no more epochs until it is topped up.
    expect(
      await fails(settler, "post", [1n, bytesToHex(tree.root), MINTED, r.totals, r.counts, viemKeccak("0x")]),
    ).toMatch(/^BondTooLow/);
    await send(settler, epochs, epochsAbi, "depositBond", [BOND]);
    // Worker weights that do not sum to the posted total: caught at the role's last entry.
    const wrongTotal = { ...r, totals: [r.totals[0] + 1n, r.totals[1], r.totals[2]] as typeof r.totals };
    const tree2 = await postEpoch(1, wrongTotal);
    const lastWorker = r.counts[0] - 1;
    await send(challenger, epochs, epochsAbi, "challengeSums", [
      1n,
      BigInt(lastWorker),
      r.entries[lastWorker],
      proofOf(tree2, lastWorker),
      r.entries[lastWorker],
      [],
    ]);
    expect(
      (
        (await settler.public.readContract({
          address: epochs,
          abi: epochsAbi,
          functionName: "epoch",
          args: [1n],
        })) as { voided: boolean }
      ).voided,
    ).toBe(true);
    // An entry of the wrong role for its position.
    await send(settler, epochs, epochsAbi, "depositBond", [BOND]);
    const swapped = r.entries.map((x, i) => (i === 0 ? { ...x, role: 1 as const } : x));
    const tree3 = await postEpoch(2, { ...r, entries: swapped });
    await send(challenger, epochs, epochsAbi, "challengeEntry", [2n, 0n, swapped[0], proofOf(tree3, 0)]);
    expect(await fails(challenger, "challengeEntry", [2n, 0n, swapped[0], proofOf(tree3, 0)])).toMatch(
      /^EpochVoid/,
    );
    expect(await fails(challenger, "challengeEntry", [9n, 0n, swapped[0], proofOf(tree3, 0)])).toMatch(
      /^EpochUnknown/,
    );
  }, 120_000);
});
