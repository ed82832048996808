/**
 * SpotChecks.sol against the protocol's spot-check rules (protocol/spotcheck/spotcheck.ts) on anvil:
 * the same threshold, draws and selected positions for posted batches and their seeds, the same
 * deadlines, and obligations that end as settleObligation says — proven in time, slashed when missing
 * (with the reporter's share) or when the worker's own proof is invalid — with every misuse refused by a
 * named error. The verifier is a stand-in (test/doubles/HashSliceVerifier.sol) until the ZK issue's.
 */
import { encodeAbiParameters, type Hex, keccak256 as viemKeccak } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytesToHex } from "../protocol/encoding/hex.ts";
import { keccak256 } from "../protocol/encoding/keccak.ts";
import { DEFAULT_OTR_PARAMS, type SpotCheckParams } from "../protocol/params/otr.ts";
import { checkReceipt, pureSecp256k1, signReceipt } from "../protocol/receipt/verifyReceipt.ts";
import { createRng } from "../protocol/rng/prng.ts";
import { type SealedBatch, Sequencer } from "../protocol/rollup/sequencer.ts";
import {
  isSelected,
  obligationsOf,
  selectionDraw,
  selectionThreshold,
} from "../protocol/spotcheck/spotcheck.ts";
import { startDevChain, TOKEN } from "../testing/devChain.ts";
import { devReceipt, devRegistry, ENCLAVE_KEY, WORKER } from "../testing/devWorker.ts";
import type { LocalChain } from "./anvil.ts";
import { advanceTime, send } from "./clients.ts";
import { CONTRACTS_DIR, compileContracts } from "./compile.ts";
import { type ChainClients, type Deployment, deployContract } from "./deploy.ts";
import { registryAbi, rollupAbi, spotChecksAbi, verinferTokenAbi } from "./generated/contracts.ts";
import { revertReason } from "./revert.ts";
import { deploySpotChecks, openedSubject } from "./spotChecks.ts";

/** 30% so that a few batches hold both selected and unselected receipts. */
const P: SpotCheckParams = { ...DEFAULT_OTR_PARAMS.spotcheck, rhoPpm: 300_000 };
const REPORTER_SHARE_BPS = 5_000;

let chain: LocalChain;
let owner: ChainClients; // deployer, worker operator, sequencer
let stranger: ChainClients;
let d: Deployment;
let spot: Hex;
let batches = 0;

const read = (
  functionName: string,
  args: readonly unknown[] = [],
  address: Hex = spot,
  abi: readonly unknown[] = spotChecksAbi,
) => owner.public.readContract({ address, abi, functionName, args } as never) as Promise<unknown>;
const mine = (n: number) =>
  owner.public.request({ method: "anvil_mine", params: [`0x${n.toString(16)}`] } as never);

beforeAll(async () => {
  const dev = await startDevChain({
    workerStake: 100n * TOKEN,
    stepsPerPosition: 43,
    challengeWindowSeconds: 86_400n,
  });
  ({ chain, owner, d } = dev);
  stranger = dev.clientsOf(4);
  const doubles = compileContracts(CONTRACTS_DIR, ["test/doubles"]);
  const verifier = doubles.HashSliceVerifier;
  if (!verifier) throw new Error("HashSliceVerifier did not compile");
  spot = await deploySpotChecks(
    owner,
    d,
    await deployContract(owner, verifier.abi, verifier.bytecode, []),
    P,
    REPORTER_SHARE_BPS,
  );
}, 60_000);

afterAll(() => chain?.stop());

/** Posts a batch (root, count) and returns its index, root and posting time (ms). */
async function postRoot(root: Hex, count: number) {
  const index = batches++;
  await send(owner, d.rollup, rollupAbi, "postBatch", [BigInt(index), root, count, "0x"]);
  const b = (await read("batch", [BigInt(index)], d.rollup, rollupAbi)) as {
    postedAt: bigint;
    postedBlock: bigint;
  };
  return { index, root, count, postedAtMs: Number(b.postedAt) * 1000, postedBlock: b.postedBlock };
}

describe("SpotChecks.sol = the protocol's spot-check rules", () => {
  it("selects exactly the receipts the TypeScript rule selects, from each batch's root and later block hash", async () => {
    expect(await read("threshold")).toBe(selectionThreshold(P.rhoPpm));
    const rng = createRng(21);
    const posted = [];
    for (let i = 0; i < 4; i++)
      posted.push(await postRoot(bytesToHex(keccak256(Uint8Array.of(i, rng.int(256)))), 48));
    // The seed block does not exist yet right after posting: nobody knows the seed.
    expect(
      await send(owner, spot, spotChecksAbi, "fixSeed", [BigInt(posted[3]!.index)]).catch((e) =>
        revertReason(e),
      ),
    ).toMatch(/^SeedNotYet/);
    expect(await read("isSelected", [BigInt(posted[3]!.index), 0]).catch((e) => revertReason(e))).toMatch(
      /^SeedUnknown/,
    );
    await mine(P.seedDelayBlocks + 1);
    let selected = 0;
    for (const b of posted) {
      await send(owner, spot, spotChecksAbi, "fixSeed", [BigInt(b.index)]);
      const seed = (await read("seeds", [BigInt(b.index)])) as Hex;
      // The hash of the block seedDelayBlocks after the posting: what a fisherman draws with off chain.
      const seedBlock = await owner.public.getBlock({
        blockNumber: b.postedBlock + BigInt(P.seedDelayBlocks),
      });
      expect(seed).toBe(seedBlock.hash);
      const onChain: number[] = [];
      for (let p = 0; p < b.count; p++) {
        if (p < 3) expect(await read("draw", [b.root, p, seed])).toBe(selectionDraw(b.root, p, seed));
        const chosen = (await read("isSelected", [BigInt(b.index), p])) as boolean;
        expect(chosen, `batch ${b.index} position ${p}`).toBe(isSelected(b.root, p, seed, P.rhoPpm));
        if (chosen) onChain.push(p);
      }
      expect(obligationsOf(b, seed, b.postedAtMs, P).map((o) => o.position)).toEqual(onChain);
      selected += onChain.length;
    }
    // 30% of 192 receipts: about 58.
    expect(selected).toBeGreaterThan(30);
    expect(selected).toBeLessThan(90);
  }, 120_000);

  it("obligations end as settleObligation says: proven in time, slashed when missing or proven wrong", async () => {
    // The seed is a block hash, so which receipts owe a proof changes from run to run; 64 receipts at
    // ρ = 30% give at least the four selected and one unselected receipt this test needs (19 ± 3.7).
    const sequencer = new Sequencer({ ...DEFAULT_OTR_PARAMS.rollup, maxBatchReceipts: 128 }, 4096);
    const registry = devRegistry(BigInt(chain.chainId), d.rollup, 100n * TOKEN, 0n);
    for (let i = 0; i < 64; i++) {
      const signed = signReceipt(
        devReceipt(i, BigInt(chain.chainId), d.rollup, { inputTokens: 3, outputTokens: 4 }),
        ENCLAVE_KEY,
      );
      const admitted = sequencer.admit(signed, checkReceipt(signed, registry, pureSecp256k1), i);
      if (!admitted.ok) throw new Error(admitted.error.message);
    }
    const sealed = sequencer.flush(64) as SealedBatch;
    const index = batches++;
    await send(owner, d.rollup, rollupAbi, "postBatch", [
      BigInt(index),
      sealed.root,
      sealed.count,
      bytesToHex(sealed.data),
    ]);
    const { postedAt } = (await read("batch", [BigInt(index)], d.rollup, rollupAbi)) as { postedAt: bigint };
    await mine(P.seedDelayBlocks + 1);
    await send(owner, spot, spotChecksAbi, "fixSeed", [BigInt(index)]);
    const seed = (await read("seeds", [BigInt(index)])) as Hex;
    const owed = obligationsOf(
      { index, root: sealed.root, count: sealed.count },
      seed,
      Number(postedAt) * 1000,
      P,
    );
    expect(owed.length).toBeGreaterThanOrEqual(4);
    const free = Array.from({ length: sealed.count }, (_, p) => p).find(
      (p) => !owed.some((o) => o.position === p),
    );
    const args = (p: number) => {
      const s = sealed.receipts[p]!;
      const { chainId, settlement, ...r } = s.receipt;
      return [BigInt(index), p, r, s.signature, sealed.tree.proof(p)];
    };
    const fails = (c: ChainClients, fn: string, a: readonly unknown[]) =>
      send(c, spot, spotChecksAbi, fn, a).then(
        () => "sent",
        (e) => revertReason(e) ?? String(e),
      );
    if (free !== undefined) expect(await fails(owner, "open", args(free))).toMatch(/^NotSelected/);
    const [a, b, c, e] = owed.map((o) => o.position) as [number, number, number, number];
    const openedAt: number[] = [];
    for (const p of [a, b, c, e]) {
      const tx = await send(stranger, spot, spotChecksAbi, "open", args(p));
      const { blockNumber } = await owner.public.getTransactionReceipt({ hash: tx });
      openedAt.push(Number((await owner.public.getBlock({ blockNumber })).timestamp) * 1000);
    }
    expect(await fails(owner, "open", args(a))).toMatch(/^ObligationExists/);
    const ob = (await read("obligation", [BigInt(index), a])) as {
      deadline: bigint;
      selector: Hex;
      worker: Hex;
    };
    // Due proofDeadline after its own opening.
    const dueA = obligationsOf({ index, root: sealed.root, count: sealed.count }, seed, openedAt[0]!, P);
    expect(Number(ob.deadline) * 1000).toBe(dueA.find((o) => o.position === a)?.deadline);
    expect(ob.worker.toLowerCase()).toBe(WORKER.toLowerCase());
    const proofOf = (selector: Hex, traceRoot: Hex) =>
      viemKeccak(encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }], [traceRoot, selector]));
    const atRisk = async () => (await read("atRisk", [WORKER], d.registry, registryAbi)) as bigint;
    const traceRoot = (p: number) => sealed.receipts[p]!.receipt.traceRoot;

    // a: proven in time by the worker's operator; a stranger may not answer for it.
    const stakeBefore = await atRisk();
    expect(
      await fails(stranger, "prove", [
        BigInt(index),
        a,
        await openedSubject(owner, spot, BigInt(index), a),
        proofOf(ob.selector, traceRoot(a)),
      ]),
    ).toMatch(/^NotTheWorker/);
    await send(owner, spot, spotChecksAbi, "prove", [
      BigInt(index),
      a,
      await openedSubject(owner, spot, BigInt(index), a),
      proofOf(ob.selector, traceRoot(a)),
    ]);
    expect(((await read("obligation", [BigInt(index), a])) as { status: number }).status).toBe(2);
    expect(await atRisk()).toBe(stakeBefore);
    // c: the worker's own invalid proof slashes it at once, nothing paid to anyone.
    await send(owner, spot, spotChecksAbi, "prove", [
      BigInt(index),
      c,
      await openedSubject(owner, spot, BigInt(index), c),
      `0x${"11".repeat(32)}`,
    ]);
    expect(((await read("obligation", [BigInt(index), c])) as { status: number }).status).toBe(3);
    expect(stakeBefore - (await atRisk())).toBe(P.missingProofSlash);
    // b: missing — not due before the deadline, slashable after it, with the reporter's share.
    expect(await fails(stranger, "slashMissing", [BigInt(index), b])).toMatch(/^ProofNotDue/);
    await advanceTime(owner, P.proofDeadlineMs / 1000 + 1);
    const ob2 = (await read("obligation", [BigInt(index), b])) as { selector: Hex };
    expect(
      await fails(owner, "prove", [
        BigInt(index),
        b,
        await openedSubject(owner, spot, BigInt(index), b),
        proofOf(ob2.selector, traceRoot(b)),
      ]),
    ).toMatch(/^ProofTooLate/);
    const balance = async () =>
      (await read("balanceOf", [stranger.wallet.account.address], d.token, verinferTokenAbi)) as bigint;
    const before = await balance();
    await send(stranger, spot, spotChecksAbi, "slashMissing", [BigInt(index), b]);
    expect((await balance()) - before).toBe((P.missingProofSlash * BigInt(REPORTER_SHARE_BPS)) / 10_000n);
    expect(stakeBefore - (await atRisk())).toBe(2n * P.missingProofSlash);
    expect(await fails(stranger, "slashMissing", [BigInt(index), b])).toMatch(/^ObligationNotOpen/);
    expect(await fails(stranger, "slashMissing", [BigInt(index), a])).toMatch(/^ObligationNotOpen/);
    // A receipt shown at another position is not in the batch.
    const wrong = args(e);
    wrong[1] = (e + 1) % sealed.count;
    expect(await fails(owner, "open", wrong)).toMatch(/^ReceiptNotInBatch|^ObligationExists|^NotSelected/);
  }, 120_000);
});
