import { secp256k1 } from "@noble/curves/secp256k1.js";
import fc from "fast-check";
import { recoverTypedDataAddress, hashTypedData as viemHashTypedData } from "viem";
import { describe, expect, it } from "vitest";
import { fastSignDigest, loadNativeSecp256k1 } from "../../crypto/nativeSecp256k1.ts";
import { hashTypedData } from "../encoding/eip712.ts";
import { bytesToHex, type Hex } from "../encoding/hex.ts";
import { keccak256, keccakUtf8 } from "../encoding/keccak.ts";
import {
  addressOf,
  type Receipt,
  receiptDigest,
  receiptToJson,
  receiptTypedData,
  validateSignedReceipt,
} from "./receipt.ts";
import { ReplayGuard } from "./replayGuard.ts";
import {
  checkReceipt,
  parseRegistry,
  pureSecp256k1,
  type RegistrySnapshot,
  recoverReceiptSigner,
  signDigest,
  signReceipt,
} from "./verifyReceipt.ts";

const ENCLAVE_KEY = keccak256(Uint8Array.of(42));
const PUBLIC_KEY = secp256k1.getPublicKey(ENCLAVE_KEY, false);
const WORKER = addressOf(PUBLIC_KEY);
const MODEL = keccakUtf8("tinystories-15M");
const WEIGHTS = keccakUtf8("weights of tinystories-15M");
const ENGINE = keccakUtf8("verinfer-ts-engine 0.1.0");
const EVIDENCE = keccakUtf8("attestation report");
const SETTLEMENT: Hex = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

const receipt: Receipt = {
  version: 1,
  chainId: 31337n,
  settlement: SETTLEMENT,
  requestId: keccakUtf8("request 1"),
  worker: WORKER,
  modelId: MODEL,
  weightsHash: WEIGHTS,
  engineHash: ENGINE,
  promptHash: keccakUtf8("Once upon a time"),
  paramsHash: keccakUtf8('{"temperature":0,"seed":1}'),
  outputHash: keccakUtf8("there was a robot"),
  traceRoot: keccakUtf8("trace"),
  inputTokens: 5,
  outputTokens: 64,
  latencyMs: 120,
  timestamp: 1_795_000_000_000n,
  sequence: 7n,
  attestationHash: EVIDENCE,
};

const registryJson = {
  chainId: "31337",
  settlement: SETTLEMENT,
  minStake: "1000",
  workers: [
    {
      address: WORKER,
      publicKey: bytesToHex(PUBLIC_KEY),
      attested: true,
      attestationHash: EVIDENCE,
      stake: "5000",
      modelId: MODEL,
    },
  ],
  models: [{ modelId: MODEL, weightsHash: WEIGHTS, engines: [ENGINE] }],
};
const registryOf = (json: unknown): RegistrySnapshot => {
  const r = parseRegistry(json);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};
const registry = registryOf(registryJson);
const native = loadNativeSecp256k1();
const backends = [pureSecp256k1, ...(native ? [native] : [])];

describe("receipts", () => {
  it("hash like the generic EIP-712 encoder and viem, and recover to the enclave key's address", async () => {
    const typed = receiptTypedData(receipt);
    const digest = bytesToHex(receiptDigest(receipt));
    expect(hashTypedData(typed as never)).toEqual({ ok: true, value: digest });
    expect(viemHashTypedData(typed as never)).toBe(digest);
    const signed = signReceipt(receipt, ENCLAVE_KEY);
    const recovered = await recoverTypedDataAddress({ ...typed, signature: signed.signature } as never);
    expect(recovered.toLowerCase()).toBe(WORKER);
    for (const b of backends) {
      expect(bytesToHex(receiptDigest(receipt, b.keccak256))).toBe(digest);
      expect(recoverReceiptSigner(signed, b)).toEqual({ ok: true, value: WORKER });
    }
  });

  it("round-trip through JSON and reject malformed receipts with every problem named", () => {
    const signed = signReceipt(receipt, ENCLAVE_KEY);
    const json = JSON.parse(JSON.stringify(receiptToJson(signed)));
    expect(validateSignedReceipt(json)).toEqual({ ok: true, value: signed });
    const bad = { ...json.receipt, inputTokens: -1, sequence: "1e3", outputHash: "0x12", extra: 1 };
    delete bad.traceRoot;
    const v = validateSignedReceipt({ receipt: bad, signature: signed.signature });
    expect(v).toMatchObject({ ok: false, error: { code: "RECEIPT_MALFORMED" } });
    if (!v.ok) {
      for (const m of [
        'unknown field "extra"',
        'missing field "traceRoot"',
        "outputHash must be 32 bytes",
        "inputTokens must be an unsigned 32-bit",
        "sequence must be an unsigned 64-bit",
      ]) {
        expect(v.error.message).toContain(m);
      }
    }
    expect(
      validateSignedReceipt({ receipt: { ...json.receipt, version: 2 }, signature: signed.signature }),
    ).toMatchObject({ ok: false, error: { message: /version must be 1/ } });
    expect(validateSignedReceipt({ receipt: json.receipt, signature: "0x1234" })).toMatchObject({
      ok: false,
      error: { code: "RECEIPT_SIGNATURE_INVALID" },
    });
    expect(validateSignedReceipt([])).toMatchObject({ ok: false, error: { code: "RECEIPT_MALFORMED" } });
  });

  it("are signed alike by libsecp256k1 and by the pure-JS signer (RFC 6979, low s): the same 65 bytes", () => {
    expect(native, "the native secp256k1 binding loads on this machine").not.toBeNull();
    const sign = fastSignDigest();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(), (digest, k) => {
        const key = keccak256(Uint8Array.of(k & 0xff, (k >> 8) & 0xff, (k >> 16) & 0xff, 1));
        expect(sign(digest, key)).toBe(signDigest(digest, key));
      }),
      { numRuns: 200, seed: 13 },
    );
  });

  it("pass every PoEA check, and each violation gets its own code", () => {
    const signed = signReceipt(receipt, ENCLAVE_KEY);
    for (const b of backends) {
      expect(checkReceipt(signed, registry, b)).toEqual({
        ok: true,
        value: {
          digest: bytesToHex(receiptDigest(receipt)),
          worker: WORKER,
          sequence: 7n,
          requestId: receipt.requestId,
        },
      });
      const code = (r: Receipt, reg = registry, key = ENCLAVE_KEY) => {
        const v = checkReceipt(signReceipt(r, key), reg, b);
        return v.ok ? "ok" : v.error.code;
      };
      expect(code({ ...receipt, chainId: 1n })).toBe("RECEIPT_DOMAIN_MISMATCH");
      expect(code(receipt, registry, keccak256(Uint8Array.of(43)))).toBe("RECEIPT_SIGNATURE_INVALID");
      const stranger = addressOf(secp256k1.getPublicKey(keccak256(Uint8Array.of(43)), false));
      expect(code({ ...receipt, worker: stranger }, registry, keccak256(Uint8Array.of(43)))).toBe(
        "RECEIPT_WORKER_UNKNOWN",
      );
      // A 70B claim served by an 8B model: the weights hash gives it away.
      expect(code({ ...receipt, weightsHash: keccakUtf8("other weights") })).toBe("RECEIPT_MODEL_MISMATCH");
      expect(code({ ...receipt, modelId: keccakUtf8("llama-70b") })).toBe("RECEIPT_MODEL_MISMATCH");
      expect(code({ ...receipt, engineHash: keccakUtf8("patched engine") })).toBe(
        "RECEIPT_ENGINE_NOT_ALLOWED",
      );
      expect(code({ ...receipt, attestationHash: keccakUtf8("other evidence") })).toBe(
        "RECEIPT_ATTESTATION_MISMATCH",
      );
      // Longer than the model's dispute game accepts (5 + 64 − 1 = 68 positions): refused, as it could
      // never be disputed; at the limit exactly, admitted.
      const limited = (n: number) =>
        registryOf({ ...registryJson, models: [{ ...registryJson.models[0], disputablePositions: n }] });
      expect(code(receipt, limited(67))).toBe("RECEIPT_NOT_DISPUTABLE");
      expect(code(receipt, limited(68))).toBe("ok");
      // Sound: a receipt within the limit is never refused for its length, whatever its token counts.
      if (b === backends[0])
        fc.assert(
          fc.property(
            fc.integer({ min: 1, max: 300 }),
            fc.integer({ min: 0, max: 300 }),
            fc.integer({ min: 1, max: 600 }),
            (inputTokens, outputTokens, n) => {
              const positions = inputTokens + Math.max(outputTokens, 1) - 1;
              const verdict = code({ ...receipt, inputTokens, outputTokens }, limited(n));
              expect(verdict).toBe(positions <= n ? "ok" : "RECEIPT_NOT_DISPUTABLE");
            },
          ),
          { numRuns: 200, seed: 5 },
        );
      const worker = registryJson.workers[0] as (typeof registryJson.workers)[number];
      expect(code(receipt, registryOf({ ...registryJson, workers: [{ ...worker, attested: false }] }))).toBe(
        "RECEIPT_WORKER_NOT_ATTESTED",
      );
      expect(code(receipt, registryOf({ ...registryJson, workers: [{ ...worker, stake: "999" }] }))).toBe(
        "RECEIPT_WORKER_UNSTAKED",
      );
      // A field changed after signing breaks the signature.
      expect(
        checkReceipt({ ...signed, receipt: { ...receipt, outputTokens: 65 } }, registry, b),
      ).toMatchObject({ ok: false, error: { code: "RECEIPT_SIGNATURE_INVALID" } });
      // High-s (malleated) signatures and bad v are rejected.
      const bytes = Uint8Array.from(Buffer.from(signed.signature.slice(2), "hex"));
      const n = secp256k1.Point.Fn.ORDER;
      const s = BigInt(`0x${Buffer.from(bytes.subarray(32, 64)).toString("hex")}`);
      const malleated = Uint8Array.from(bytes);
      malleated.set(Buffer.from((n - s).toString(16).padStart(64, "0"), "hex"), 32);
      malleated[64] = (bytes[64] as number) === 27 ? 28 : 27;
      expect(checkReceipt({ ...signed, signature: bytesToHex(malleated) }, registry, b)).toMatchObject({
        ok: false,
        error: { code: "RECEIPT_SIGNATURE_INVALID" },
      });
      // Only what ecrecover accepts: v = 27 or 28, and the right one (verifying against the key
      // would ignore v, and the contracts would then refuse a receipt this accepted).
      for (const v of [30, 0, 1, (bytes[64] as number) === 27 ? 28 : 27]) {
        const badV = Uint8Array.from(bytes);
        badV[64] = v;
        expect(
          checkReceipt({ ...signed, signature: bytesToHex(badV) }, registry, b),
          `v = ${v}`,
        ).toMatchObject({
          ok: false,
          error: { code: "RECEIPT_SIGNATURE_INVALID" },
        });
      }
    }
  });

  it("accept each (worker, sequence) and each request id once, in any order within the window", () => {
    const rid = (i: number) => keccakUtf8(`request ${i}`);
    const guard = new ReplayGuard<string>(8);
    expect(guard.accept(WORKER, 7n, rid(7), "line 1").ok).toBe(true);
    expect(guard.accept(WORKER, 7n, rid(70), "line 2")).toMatchObject({
      ok: false,
      error: {
        code: "RECEIPT_REPLAYED",
        disposition: "ignore",
        message: `worker ${WORKER} already used sequence 7 (first at line 1)`,
      },
    });
    expect(guard.accept(WORKER, 6n, rid(6)).ok).toBe(true); // out of order, inside the window
    expect(guard.accept(WORKER, 9n, rid(7))).toMatchObject({
      ok: false,
      error: {
        code: "RECEIPT_REPLAYED",
        message: /request 0x[0-9a-f]+ was already answered \(worker .*, sequence 7 \(first at line 1\)\)/,
      },
    });
    expect(guard.accept(SETTLEMENT, 1n, rid(100)).ok).toBe(true); // another worker has its own window
    expect(guard.accept(WORKER, 20n, rid(20)).ok).toBe(true);
    expect(guard.accept(WORKER, 12n, rid(12))).toMatchObject({
      ok: false,
      error: {
        code: "RECEIPT_SEQUENCE_STALE",
        disposition: "ignore",
        message: /sequence 12 is stale: 8 or more below .* 20/,
      },
    });
    expect(guard.accept(WORKER, 13n, rid(13)).ok).toBe(true);
    expect(() => new ReplayGuard(0)).toThrow(RangeError);
  });

  it("any permutation of distinct receipts within the window is accepted; every inserted duplicate is named", () => {
    const window = 64;
    const item = fc.record({
      worker: fc.constantFrom(WORKER, SETTLEMENT),
      sequence: fc.integer({ min: 0, max: window - 1 }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(item, { selector: (x) => `${x.worker}/${x.sequence}`, minLength: 1, maxLength: 100 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { maxLength: 5 }),
        (receipts, dups) => {
          const ids = receipts.map((r) => ({ ...r, requestId: keccakUtf8(`${r.worker} ${r.sequence}`) }));
          const honest = new ReplayGuard<number>(window);
          for (const [i, r] of ids.entries())
            expect(honest.accept(r.worker, BigInt(r.sequence), r.requestId, i).ok).toBe(true);
          // Insert copies (of the (worker, sequence) or of the request id alone) after their originals.
          const stream: { r: (typeof ids)[number]; original: number | null; sameRequestOnly: boolean }[] =
            ids.map((r) => ({ r, original: null, sameRequestOnly: false }));
          for (const [from, offset, requestOnly] of dups) {
            const at = from % ids.length;
            const original = ids[at] as (typeof ids)[number];
            const copy = requestOnly ? { ...original, sequence: window + 1000 + at } : original;
            const position = stream.findIndex((x) => x.r === original && x.original === null);
            stream.splice(position + 1 + (offset % (stream.length - position)), 0, {
              r: copy,
              original: at,
              sameRequestOnly: requestOnly,
            });
          }
          const guard = new ReplayGuard<number>(window * 1000);
          const firstOf = new Map<string, number>();
          for (const [k, { r, original }] of stream.entries()) {
            const v = guard.accept(r.worker, BigInt(r.sequence), r.requestId, k);
            const key = r.requestId;
            if (original === null) {
              expect(v.ok).toBe(true);
              firstOf.set(key, k);
              continue;
            }
            expect(v).toMatchObject({
              ok: false,
              error: { code: "RECEIPT_REPLAYED", meta: { firstSeen: firstOf.get(key) } },
            });
          }
        },
      ),
      { numRuns: 200, seed: 9 },
    );
  });

  it("reject registries whose worker address is not its key's", () => {
    const worker = registryJson.workers[0] as (typeof registryJson.workers)[number];
    expect(parseRegistry({ ...registryJson, workers: [{ ...worker, address: SETTLEMENT }] })).toMatchObject({
      ok: false,
      error: { code: "CONFIG_INVALID", message: /address is not the address of the public key/ },
    });
    expect(parseRegistry({})).toMatchObject({
      ok: false,
      error: { message: /workers must be a list.*models must be a list/ },
    });
  });

  it("native and pure backends agree on arbitrary receipts and signatures", () => {
    if (!native) return;
    fc.assert(
      fc.property(
        fc.nat(),
        fc.nat({ max: 2 ** 32 - 1 }),
        fc.uint8Array({ minLength: 65, maxLength: 65 }),
        (seq, tokens, junk) => {
          const r = { ...receipt, sequence: BigInt(seq), outputTokens: tokens };
          const signed = signReceipt(r, ENCLAVE_KEY);
          expect(checkReceipt(signed, registry, native)).toEqual(
            checkReceipt(signed, registry, pureSecp256k1),
          );
          const forged = { ...signed, signature: bytesToHex(junk) };
          expect(checkReceipt(forged, registry, native).ok).toBe(
            checkReceipt(forged, registry, pureSecp256k1).ok,
          );
        },
      ),
      { numRuns: 40, seed: 5 },
    );
  });
});
