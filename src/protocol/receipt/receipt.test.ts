import { secp256k1 } from "@noble/curves/secp256k1.js";
import fc from "fast-check";
import { recoverTypedDataAddress, hashTypedData as viemHashTypedData } from "viem";
import { describe, expect, it } from "vitest";
import { loadNativeSecp256k1 } from "../../crypto/nativeSecp256k1.ts";
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
import {
  checkReceipt,
  parseRegistry,
  pureSecp256k1,
  type RegistrySnapshot,
  recoverReceiptSigner,
  SequenceGuard,
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

  it("pass every PoEA check, and each violation gets its own code", () => {
    const signed = signReceipt(receipt, ENCLAVE_KEY);
    for (const b of backends) {
      expect(checkReceipt(signed, registry, b)).toEqual({
        ok: true,
        value: { digest: bytesToHex(receiptDigest(receipt)), worker: WORKER, sequence: 7n },
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
      const badV = Uint8Array.from(bytes);
      badV[64] = 30;
      expect(checkReceipt({ ...signed, signature: bytesToHex(badV) }, registry, b)).toMatchObject({
        ok: false,
        error: { code: "RECEIPT_SIGNATURE_INVALID" },
      });
    }
  });

  it("accept each sequence number once per worker", () => {
    const guard = new SequenceGuard();
    expect(guard.accept(WORKER, 7n).ok).toBe(true);
    expect(guard.accept(WORKER, 7n)).toMatchObject({
      ok: false,
      error: { code: "RECEIPT_REPLAYED", disposition: "ignore" },
    });
    expect(guard.accept(WORKER, 6n)).toMatchObject({ ok: false, error: { code: "RECEIPT_REPLAYED" } });
    expect(guard.accept(WORKER, 8n).ok).toBe(true);
    expect(guard.accept(SETTLEMENT, 1n).ok).toBe(true);
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
