/**
 * Differential test on a real EVM: batches sealed by the TypeScript sequencer post to Rollup.sol,
 * every receipt's inclusion proof verifies there, statuses follow RollupState's over time, forced
 * inclusion builds the same root, and broken promises get the same verdict on both sides.
 */
import { keccak256 as viemKeccak } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytesToHex, type Hex, hexToBytes } from "../protocol/encoding/hex.ts";
import { keccak256, keccakUtf8 } from "../protocol/encoding/keccak.ts";
import { DEFAULT_OTR_PARAMS } from "../protocol/params/otr.ts";
import { receiptDigest, type SignedReceipt } from "../protocol/receipt/receipt.ts";
import { checkReceipt, pureSecp256k1, signDigest, signReceipt } from "../protocol/receipt/verifyReceipt.ts";
import { encodeBatchData } from "../protocol/rollup/batchData.ts";
import { BatchTree } from "../protocol/rollup/batchTree.ts";
import { inclusionPromiseDigest } from "../protocol/rollup/inclusionPromise.ts";
import { receiptStale } from "../protocol/rollup/receiptAge.ts";
import { FORCED_BASE, RollupState } from "../protocol/rollup/rollupState.ts";
import {
  leafOfSigned,
  type ProvisionalFinality,
  type SealedBatch,
  Sequencer,
} from "../protocol/rollup/sequencer.ts";
import { devReceipt, devRegistry, ENCLAVE_KEY, registerTheDevWorker } from "../testing/devWorker.ts";
import { type LocalChain, startAnvil } from "./anvil.ts";
import { advanceTime, becomeSequencer, send } from "./clients.ts";
import { type ChainClients, clientsFor, type Deployment, deployCore } from "./deploy.ts";
import { rollupAbi } from "./generated/contracts.ts";
import { batchCounts, batchInfo, postingLog, readPostedBatch } from "./postedBatches.ts";
import { revertName, verdictCodeOf } from "./revert.ts";

const TOKEN = 10n ** 18n;
const WINDOW_S = 3600n;

let chain: LocalChain;
let c: ChainClients;
let d: Deployment;
let sequencerKey: Uint8Array;

const receiptOf = (i: number) =>
  devReceipt(i, BigInt(chain.chainId), d.rollup, { inputTokens: 12, outputTokens: 100 + i, latencyMs: 200 });
const tsRegistry = () => devRegistry(BigInt(chain.chainId), d.rollup, 10n * TOKEN, 10n * TOKEN);

const chainNowMs = async () => Number((await c.public.getBlock()).timestamp) * 1000;

beforeAll(async () => {
  chain = await startAnvil();
  c = clientsFor(chain.rpcUrl, chain.chainId, chain.keys[0] as Hex);
  sequencerKey = hexToBytes(chain.keys[0] as Hex);
  d = await deployCore(c, {
    unbondingDelaySeconds: 3600n,
    minStake: { worker: 10n * TOKEN, evaluator: TOKEN, fisherman: TOKEN },
    challengeWindowSeconds: WINDOW_S,
    minSequencerBond: 10n * TOKEN,
    proverShareBps: 5_000n,
  });
  await registerTheDevWorker(c, d, chain.keys[1] as Hex, {
    stake: 10n * TOKEN,
    validSeconds: 30n * 86_400n,
    stepsPerPosition: 0,
  });
  await becomeSequencer(c, d, 10n * TOKEN);
}, 60_000);

afterAll(async () => {
  await chain?.stop();
});

/** The verdict of a contract call without sending it: its result, or the revert's verdict code. */
async function simulate(functionName: string, args: readonly unknown[]): Promise<unknown> {
  try {
    const { result } = await c.public.simulateContract({
      address: d.rollup,
      abi: rollupAbi,
      functionName,
      args,
      account: c.wallet.account,
    } as never);
    return result;
  } catch (e) {
    const name = revertName(e);
    return (name && verdictCodeOf(name)) ?? `unmapped ${name ?? String(e)}`;
  }
}

describe("Rollup.sol = RollupState and the TypeScript sequencer", () => {
  const sealed: SealedBatch[] = [];
  const promises: ProvisionalFinality[] = [];
  const state = new RollupState({ ...DEFAULT_OTR_PARAMS.rollup, challengeWindowMs: Number(WINDOW_S) * 1000 });

  it("posts the TypeScript sequencer's batches; every receipt's proof verifies on chain; statuses agree over time", async () => {
    const sequencer = new Sequencer({ ...DEFAULT_OTR_PARAMS.rollup, maxBatchReceipts: 16 }, 4096);
    for (let i = 0; i < 40; i++) {
      const signed = signReceipt(receiptOf(i), ENCLAVE_KEY);
      const admitted = sequencer.admit(signed, checkReceipt(signed, tsRegistry(), pureSecp256k1), i);
      if (!admitted.ok) throw new Error(admitted.error.message);
      promises.push(admitted.value.promise);
      if (admitted.value.sealed) sealed.push(admitted.value.sealed);
    }
    sealed.push(sequencer.flush(40) as SealedBatch);
    expect(sealed.map((b) => b.count)).toEqual([16, 16, 8]);
    for (const b of sealed) {
      await send(c, d.rollup, rollupAbi, "postBatch", [BigInt(b.index), b.root, b.count, bytesToHex(b.data)]);
      const posted = (await c.public.readContract({
        address: d.rollup,
        abi: rollupAbi,
        functionName: "batch",
        args: [BigInt(b.index)],
      })) as { root: Hex; count: number; postedAt: bigint };
      expect(posted.root).toBe(b.root);
      const dataRef = (await postingLog(c, d.rollup, b.index))?.args.dataRef as Hex;
      expect(dataRef).toBe(viemKeccak(bytesToHex(b.data)));
      state.post(
        {
          root: b.root,
          count: b.count,
          dataPointer: { kind: "calldata", ref: dataRef },
          poster: d.owner,
        },
        b.index,
        Number(posted.postedAt) * 1000,
      );
      for (let p = 0; p < b.count; p++) {
        const signature = b.receipts[p]?.signature as Hex;
        const args = [
          BigInt(b.index),
          p,
          b.digests[p],
          bytesToHex(keccak256(hexToBytes(signature))),
          b.tree.proof(p),
        ];
        const includes = (a: unknown[]) =>
          c.public.readContract({
            address: d.rollup,
            abi: rollupAbi,
            functionName: "includes",
            args: a,
          } as never);
        expect(await includes(args)).toBe(true);
        // The position is part of the leaf: the same proof does not show the receipt elsewhere.
        expect(await includes([args[0], (p + 1) % b.count, ...args.slice(2)])).toBe(false);
      }
    }
    const statuses = ["unknown", "posted", "disputed", "final", "voided"];
    const compare = async () => {
      const now = await chainNowMs();
      for (const [batch, position] of [
        [0, 0],
        [1, 15],
        [2, 7],
        [2, 8],
        [3, 0],
      ] as const) {
        const onChain = await c.public.readContract({
          address: d.rollup,
          abi: rollupAbi,
          functionName: "status",
          args: [BigInt(batch), position],
        });
        expect(statuses[Number(onChain)], `${batch}:${position}`).toBe(state.status(batch, position, now));
      }
    };
    await compare();
    await advanceTime(c, Number(WINDOW_S) - 5);
    await compare();
    await advanceTime(c, 10);
    await compare();
  });

  it("a forced receipt is a batch of one whose root is the TypeScript leaf at position 0", async () => {
    const signed: SignedReceipt = signReceipt(receiptOf(99), ENCLAVE_KEY);
    const { chainId, settlement, ...struct } = signed.receipt;
    const before = await batchCounts(c, d.rollup);
    await send(c, d.rollup, rollupAbi, "forceInclude", [struct, signed.signature]);
    const after = await batchCounts(c, d.rollup);
    // Numbered in the forced receipts' own space: the sequencer's next index is unchanged.
    expect(after).toEqual({ sequenced: before.sequenced, forced: before.forced + 1 });
    const index = FORCED_BASE + before.forced;
    expect(
      await c.public.readContract({ address: d.rollup, abi: rollupAbi, functionName: "FORCED_BASE" }),
    ).toBe(BigInt(FORCED_BASE));
    const posted = await batchInfo(c, d.rollup, index);
    const digest = checkReceipt(signed, tsRegistry(), pureSecp256k1);
    if (!digest.ok) throw new Error(digest.error.message);
    expect(posted).toMatchObject({ count: 1, kind: 2 });
    expect(posted.root).toBe(bytesToHex(leafOfSigned(0, digest.value.digest, signed.signature)));
    // Followers read the forced receipt back from the transaction, as they read a batch's data.
    const read = await readPostedBatch(c, d.rollup, index);
    expect(read?.digests).toEqual([digest.value.digest]);
    expect(read?.tree.root).toBe(posted.root);
    expect(read?.receipts[0]?.receipt).toMatchObject({
      ...signed.receipt,
      worker: signed.receipt.worker.toLowerCase(),
    });
    expect(await simulate("forceInclude", [struct, signed.signature])).toBe("RECEIPT_REPLAYED");
  });

  it("receipt age: Rollup.receiptStale = receiptStale, and forceInclude refuses a stale receipt as RECEIPT_STALE", async () => {
    const read = (functionName: string, args: readonly unknown[] = []) =>
      c.public.readContract({ address: d.rollup, abi: rollupAbi, functionName, args } as never);
    const maxAgeMs = Number(await read("maxReceiptAge")) * 1000;
    expect(maxAgeMs).toBe(DEFAULT_OTR_PARAMS.rollup.maxReceiptAgeMs);
    const { postedAt } = await batchInfo(c, d.rollup, 0);
    const bound = postedAt * 1000 - maxAgeMs;
    for (const delta of [-86_400_000, -1001, -1, 0, 1, 999, 5_000]) {
      const t = BigInt(bound + delta);
      expect(await read("receiptStale", [0n, t]), `${delta} ms from the bound`).toBe(
        receiptStale(t, postedAt * 1000, maxAgeMs),
      );
    }
    const now = await chainNowMs();
    const forced = (i: number, timestamp: number) => {
      const signed = signReceipt({ ...receiptOf(i), timestamp: BigInt(timestamp) }, ENCLAVE_KEY);
      const { chainId: _c, settlement: _s, ...struct } = signed.receipt;
      return simulate("forceInclude", [struct, signed.signature]);
    };
    expect(await forced(200, now - maxAgeMs - 60_000)).toBe("RECEIPT_STALE");
    expect(typeof (await forced(201, now - maxAgeMs + 60_000))).toBe("bigint");
    // A batch a sequencer posted with a receipt signed too long ago: its readers see which one is stale.
    const late = [now - maxAgeMs - 60_000, now].map((t, i) =>
      signReceipt({ ...receiptOf(210 + i), timestamp: BigInt(t) }, ENCLAVE_KEY),
    );
    const leaves = late.map((r, i) => leafOfSigned(i, bytesToHex(receiptDigest(r.receipt)), r.signature));
    const index = (await batchCounts(c, d.rollup)).sequenced;
    const root = new BatchTree(leaves).root;
    await send(c, d.rollup, rollupAbi, "postBatch", [
      BigInt(index),
      root,
      2,
      bytesToHex(encodeBatchData(late)),
    ]);
    expect((await readPostedBatch(c, d.rollup, index))?.stale).toEqual([true, false]);
  });

  it("broken promises: the same verdicts, and the bond goes to the prover and the burn", async () => {
    const sign = (p: ProvisionalFinality) =>
      signDigest(hexToBytes(inclusionPromiseDigest(p, BigInt(chain.chainId), d.rollup)), sequencerKey);
    const b = sealed[0] as SealedBatch;
    const actualAt = (position: number) => ({
      digest: b.digests[position] as Hex,
      signatureHash: bytesToHex(keccak256(hexToBytes(b.receipts[position]?.signature as Hex))),
      proof: b.tree.proof(position),
    });
    const verdicts = async (p: ProvisionalFinality, position: number) => {
      const actual = actualAt(position);
      const ts = state.promiseBroken(p, actual, keccak256);
      const onChain = await simulate("proveBrokenPromise", [
        { ...p, batch: BigInt(p.batch), admittedAt: BigInt(p.admittedAt) },
        sign(p),
        actual.digest,
        actual.signatureHash,
        actual.proof,
      ]);
      return [ts.ok ? "broken" : ts.error.code, typeof onChain === "bigint" ? "broken" : onChain];
    };
    const kept = promises[3] as ProvisionalFinality;
    expect(await verdicts(kept, 3)).toEqual(["SEQUENCER_PROMISE_KEPT", "SEQUENCER_PROMISE_KEPT"]);
    // The receipt promised position 3 shown with position 4's proof: not in the batch at 3.
    expect(await verdicts(kept, 4)).toEqual(["RECEIPT_NOT_IN_BATCH", "RECEIPT_NOT_IN_BATCH"]);
    const another = { ...kept, receiptDigest: keccakUtf8("a receipt it never included") };
    expect(await verdicts(another, 3)).toEqual(["broken", "broken"]);
    const beyond = { ...kept, position: 16 };
    expect(await verdicts(beyond, 3)).toEqual(["broken", "broken"]);
    // Proven for real: the whole bond, half to the prover (the owner's account here), half burned.
    const actual = actualAt(3);
    await send(c, d.rollup, rollupAbi, "proveBrokenPromise", [
      { ...another, batch: BigInt(another.batch), admittedAt: BigInt(another.admittedAt) },
      sign(another),
      actual.digest,
      actual.signatureHash,
      actual.proof,
    ]);
    expect(
      await c.public.readContract({ address: d.rollup, abi: rollupAbi, functionName: "sequencerBond" }),
    ).toBe(0n);
  });
});
