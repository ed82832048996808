import { secp256k1 } from "@noble/curves/secp256k1.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, type Hex, hexToBytes } from "../encoding/hex.ts";
import { keccak256, keccakUtf8 } from "../encoding/keccak.ts";
import { unwrap } from "../errors.ts";
import { verifyMerkleProof } from "../merkle/merkleTree.ts";
import { DEFAULT_OTR_PARAMS, type RollupParams } from "../params/otr.ts";
import { addressOf, type Receipt, receiptDigest, type SignedReceipt } from "../receipt/receipt.ts";
import { checkReceipt, parseRegistry, signReceipt } from "../receipt/verifyReceipt.ts";
import { decodeBatchData, RECEIPT_DATA_BYTES } from "./batchData.ts";
import { receiptLeaf } from "./batchTree.ts";
import { admissible, receiptStale } from "./receiptAge.ts";
import { FORCED_BASE, RollupState } from "./rollupState.ts";
import { leafOfSigned, Sequencer } from "./sequencer.ts";

const KEYS = [keccak256(Uint8Array.of(1)), keccak256(Uint8Array.of(2))];
const WORKERS = KEYS.map((k) => addressOf(secp256k1.getPublicKey(k, false)));
const SETTLEMENT: Hex = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const MODEL = keccakUtf8("model");
const registry = unwrap(
  parseRegistry({
    chainId: "31337",
    settlement: SETTLEMENT,
    minStake: "1",
    workers: KEYS.map((k, i) => ({
      address: WORKERS[i],
      publicKey: bytesToHex(secp256k1.getPublicKey(k, false)),
      attested: true,
      attestationHash: keccakUtf8(`evidence ${i}`),
      stake: "5",
      modelId: MODEL,
    })),
    models: [{ modelId: MODEL, weightsHash: keccakUtf8("weights"), engines: [keccakUtf8("engine")] }],
  }),
);

function receipt(worker: number, sequence: number): SignedReceipt {
  const r: Receipt = {
    version: 1,
    chainId: 31337n,
    settlement: SETTLEMENT,
    requestId: keccakUtf8(`request ${worker} ${sequence}`),
    worker: WORKERS[worker] as Hex,
    modelId: MODEL,
    weightsHash: keccakUtf8("weights"),
    engineHash: keccakUtf8("engine"),
    promptHash: keccakUtf8(`prompt ${sequence}`),
    paramsHash: keccakUtf8("params"),
    outputHash: keccakUtf8(`output ${sequence}`),
    traceRoot: keccakUtf8(`trace ${sequence}`),
    inputTokens: 10 + sequence,
    outputTokens: 20,
    latencyMs: 100,
    timestamp: 1_795_000_000_000n + BigInt(sequence),
    sequence: BigInt(sequence),
    attestationHash: keccakUtf8(`evidence ${worker}`),
  };
  return signReceipt(r, KEYS[worker] as Uint8Array);
}

const PARAMS: RollupParams = { ...DEFAULT_OTR_PARAMS.rollup, maxBatchReceipts: 5, maxBatchAgeMs: 1000 };
const admit = (s: Sequencer, signed: SignedReceipt, now: number) =>
  s.admit(signed, checkReceipt(signed, registry), now);

describe("sequencer", () => {
  it("promises a position at once, seals by count, and the batch proves every promise", () => {
    const s = new Sequencer(PARAMS, 4096);
    const receipts = [0, 1, 2, 3, 4].map((i) => receipt(i % 2, i));
    const results = receipts.map((r, i) => unwrap(admit(s, r, 10 * i)));
    expect(results.map((r) => [r.promise.batch, r.promise.position])).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [0, 3],
      [0, 4],
    ]);
    const sealed = results[4]?.sealed;
    expect(sealed).toMatchObject({ index: 0, count: 5, reason: "count" });
    if (!sealed) throw new Error("sealed");
    // Anyone can rebuild the batch from its published data and check each promise against the root.
    const decoded = unwrap(decodeBatchData(sealed.data));
    expect(decoded).toEqual(receipts);
    decoded.forEach((r, i) => {
      const digest = bytesToHex(receiptDigest(r.receipt));
      expect(digest).toBe(results[i]?.promise.receiptDigest);
      expect(
        verifyMerkleProof(
          sealed.root,
          bytesToHex(leafOfSigned(i, digest, r.signature)),
          sealed.tree.proof(i),
        ),
      ).toBe(true);
    });
    // Two workers' entries are stored once each.
    expect(sealed.data.length).toBe(38 + 2 * 148 + 5 * RECEIPT_DATA_BYTES);
  });

  it("seals by age and by bytes, refuses replays, forced receipts and failed checks", () => {
    const s = new Sequencer(
      { ...PARAMS, maxBatchReceipts: 100, maxBatchBytes: 38 + 148 + 3 * RECEIPT_DATA_BYTES },
      4096,
    );
    unwrap(admit(s, receipt(0, 1), 0));
    expect(s.tick(999)).toBeNull();
    expect(s.tick(1000)).toMatchObject({ index: 0, count: 1, reason: "age" });
    for (const i of [2, 3, 4]) expect(unwrap(admit(s, receipt(0, i), 2000)).sealed).toBeNull();
    // The fourth would not fit in the bytes: the open batch is sealed first, and it opens the next.
    const fourth = unwrap(admit(s, receipt(0, 5), 2001));
    expect(fourth.sealed).toMatchObject({ index: 1, count: 3, reason: "bytes" });
    expect(fourth.promise).toMatchObject({ batch: 2, position: 0 });
    expect(admit(s, receipt(0, 5), 2002)).toMatchObject({ ok: false, error: { code: "RECEIPT_REPLAYED" } });
    const forced = receipt(1, 9);
    s.noteForced(bytesToHex(receiptDigest(forced.receipt)));
    expect(admit(s, forced, 2003)).toMatchObject({
      ok: false,
      error: { code: "RECEIPT_REPLAYED", message: /included by its client/ },
    });
    const tampered = { ...receipt(1, 10), signature: receipt(1, 11).signature };
    expect(admit(s, tampered, 2004)).toMatchObject({
      ok: false,
      error: { code: "RECEIPT_SIGNATURE_INVALID" },
    });
    expect(s.flush(3000)).toMatchObject({ index: 2, count: 1, reason: "flush" });
  });
});

describe("receipt age", () => {
  const t = 1_795_000_000_000; // receipt(0, 0)'s timestamp
  const half = PARAMS.maxReceiptAgeMs / 2;

  it("the sequencer admits a receipt until half its maximum age, then refuses it as RECEIPT_STALE", () => {
    const s = new Sequencer(PARAMS, 4096);
    expect(admit(s, receipt(0, 0), t + half).ok).toBe(true);
    expect(admit(s, receipt(0, 1), t + 1 + half + 1)).toMatchObject({
      ok: false,
      error: { code: "RECEIPT_STALE" },
    });
    // Refused before the replay rule: the same receipt is admitted on time afterwards.
    expect(admit(s, receipt(0, 1), t + 1).ok).toBe(true);
  });

  it("stale only when posted more than the maximum age after signing", () => {
    const max = PARAMS.maxReceiptAgeMs;
    expect(receiptStale(BigInt(t), t + max, max)).toBe(false);
    expect(receiptStale(BigInt(t), t + max + 1, max)).toBe(true);
    expect(receiptStale(BigInt(t), t - 5_000, max)).toBe(false); // signed after posting's clock: never
  });

  it("an honest receipt is never made stale: admitted, it is posted in time for any admission within the bound", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 45 }),
        fc.integer({ min: 1, max: 30 * 86_400_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (signedAt, max, admitFraction, postFraction) => {
          const p = { ...PARAMS, maxReceiptAgeMs: max };
          // Admitted within half the bound (the sequencer's rule), posted within the other half.
          const admittedAt = signedAt + Math.floor((admitFraction * max) / 2);
          const postedAt = admittedAt + Math.floor((postFraction * max) / 2);
          expect(admissible(BigInt(signedAt), admittedAt, p)).toBe(true);
          expect(receiptStale(BigInt(signedAt), postedAt, max)).toBe(false);
        },
      ),
    );
  });
});

describe("rollup state", () => {
  it("posts batches, makes receipts final after the window, voids only the disputed receipt", () => {
    const s = new Sequencer(PARAMS, 4096);
    const receipts = [0, 1, 2, 3, 4].map((i) => receipt(0, i));
    let sealed = null;
    for (const r of receipts) sealed = unwrap(admit(s, r, 0)).sealed ?? sealed;
    if (!sealed) throw new Error("sealed");
    const chain = new RollupState(PARAMS);
    expect(
      chain.post(
        {
          root: sealed.root,
          count: 5,
          dataPointer: { kind: "calldata", ref: sealed.root },
          poster: WORKERS[0] as Hex,
        },
        1,
        0,
      ),
    ).toMatchObject({
      ok: false,
      error: { code: "BATCH_UNKNOWN" },
    });
    unwrap(
      chain.post(
        {
          root: sealed.root,
          count: 5,
          dataPointer: { kind: "calldata", ref: sealed.root },
          poster: WORKERS[0] as Hex,
        },
        0,
        100,
      ),
    );
    const end = 100 + PARAMS.challengeWindowMs;
    expect(chain.status(0, 2, end - 1)).toBe("posted");
    unwrap(chain.openDispute(0, 2, end - 1));
    expect(chain.status(0, 2, end + 1)).toBe("disputed");
    expect(chain.status(0, 3, end)).toBe("final");
    expect(chain.openDispute(0, 3, end)).toMatchObject({
      ok: false,
      error: { code: "CHALLENGE_WINDOW_CLOSED" },
    });
    chain.settleDispute(0, 2, true);
    expect(chain.status(0, 2, end + 1)).toBe("voided");
    expect(chain.status(0, 4, end + 1)).toBe("final");
    expect(chain.status(0, 5, end + 1)).toBe("unknown");
    // A forced receipt is a batch of one with its own window, outside the sequencer's index space.
    const forced = receipt(1, 77);
    const root = bytesToHex(leafOfSigned(0, bytesToHex(receiptDigest(forced.receipt)), forced.signature));
    expect(chain.forceInclude(root, WORKERS[1] as Hex, 200)).toMatchObject({ index: FORCED_BASE, count: 1 });
    expect(chain.status(FORCED_BASE, 0, 200 + PARAMS.challengeWindowMs)).toBe("final");
    expect(
      chain.post({ root, count: 1, dataPointer: { kind: "calldata", ref: root }, poster: root }, 1, 300),
    ).toMatchObject({ ok: true, value: { index: 1 } });
  });

  it("proves a broken inclusion promise, and refuses to call a kept one broken", () => {
    const s = new Sequencer(PARAMS, 4096);
    const promised = unwrap(admit(s, receipt(0, 1), 0)).promise;
    // A cheating sequencer posts a batch with another receipt at the promised position.
    const other = receipt(1, 2);
    const otherDigest = bytesToHex(receiptDigest(other.receipt));
    const sigHash = bytesToHex(keccak256(hexToBytes(other.signature)));
    const root = bytesToHex(receiptLeaf(0, hexToBytes(otherDigest), hexToBytes(sigHash)));
    const chain = new RollupState(PARAMS);
    unwrap(
      chain.post(
        { root, count: 1, dataPointer: { kind: "calldata", ref: root }, poster: WORKERS[0] as Hex },
        0,
        10,
      ),
    );
    expect(
      chain.promiseBroken(promised, { digest: otherDigest, signatureHash: sigHash, proof: [] }, keccak256),
    ).toMatchObject({
      ok: true,
      value: { reason: /not the promised receipt/ },
    });
    expect(chain.promiseBroken({ ...promised, position: 3 }, null, keccak256)).toMatchObject({ ok: true });
    expect(
      chain.promiseBroken(
        { ...promised, receiptDigest: otherDigest },
        { digest: otherDigest, signatureHash: sigHash, proof: [] },
        keccak256,
      ),
    ).toMatchObject({
      ok: false,
      error: { code: "SEQUENCER_PROMISE_KEPT" },
    });
    expect(
      chain.promiseBroken(
        promised,
        { digest: otherDigest, signatureHash: otherDigest, proof: [] },
        keccak256,
      ),
    ).toMatchObject({
      ok: false,
      error: { code: "RECEIPT_NOT_IN_BATCH" },
    });
  });
});
