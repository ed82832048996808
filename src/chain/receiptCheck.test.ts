/**
 * Differential test on a real EVM: the Registry's `checkReceipt` (Solidity, on anvil) and the
 * protocol's `checkReceipt` (TypeScript) give the same digest for every honest receipt and the same
 * verdict for every violation and every mangled signature.
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytesToHex, type Hex } from "../protocol/encoding/hex.ts";
import { keccak256, keccakUtf8 } from "../protocol/encoding/keccak.ts";
import {
  addressOf,
  type Receipt,
  receiptDomainSeparator,
  type SignedReceipt,
} from "../protocol/receipt/receipt.ts";
import {
  checkReceipt,
  pureSecp256k1,
  type RegistrySnapshot,
  signReceipt,
  type WorkerEntry,
} from "../protocol/receipt/verifyReceipt.ts";
import {
  devReceipt,
  devRegistry,
  ENCLAVE_KEY,
  ENGINE,
  EVIDENCE,
  MODEL,
  registerTheDevWorker,
  WEIGHTS,
  WORKER,
} from "../testing/devWorker.ts";
import { type LocalChain, startAnvil } from "./anvil.ts";
import { advanceTime, attesterVerdict, send } from "./clients.ts";
import { type ChainClients, clientsFor, type Deployment, deployCore } from "./deploy.ts";
import { registryAbi } from "./generated/contracts.ts";
import { revertName, verdictCodeOf } from "./revert.ts";

// A settlement contract's address for the EIP-712 domain (the Registry takes the separator as an argument).
const SETTLEMENT: Hex = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const STAKE = 10n * 10n ** 18n;

let chain: LocalChain;
let c: ChainClients;
let d: Deployment;

const receiptOf = (i: number, fields: Partial<Receipt> = {}) => devReceipt(i, 31337n, SETTLEMENT, fields);
const tsRegistry = (o: { stake?: bigint; attested?: boolean } = {}) =>
  devRegistry(31337n, SETTLEMENT, o.stake ?? STAKE, STAKE, o.attested ?? true);

/** The TypeScript verdict: the digest, or the code. */
function inTs(signed: SignedReceipt, registry = tsRegistry()): string {
  const v = checkReceipt(signed, registry, pureSecp256k1);
  return v.ok ? v.value.digest : v.error.code;
}

/** The Solidity verdict, the same way. */
async function onChain(signed: SignedReceipt): Promise<string> {
  const { chainId, settlement, ...struct } = signed.receipt;
  try {
    return await c.public.readContract({
      address: d.registry,
      abi: registryAbi,
      functionName: "checkReceipt",
      args: [struct, signed.signature, bytesToHex(receiptDomainSeparator(chainId, settlement))],
    });
  } catch (e) {
    const name = revertName(e);
    return (name && verdictCodeOf(name)) ?? `unmapped ${name ?? String(e)}`;
  }
}

beforeAll(async () => {
  chain = await startAnvil();
  c = clientsFor(chain.rpcUrl, chain.chainId, chain.keys[0] as Hex);
  d = await deployCore(c, {
    unbondingDelaySeconds: 3600n,
    minStake: { worker: STAKE, evaluator: 10n ** 18n, fisherman: 10n ** 18n },
    challengeWindowSeconds: 3600n,
    minSequencerBond: STAKE,
    proverShareBps: 5_000n,
  });
  await registerTheDevWorker(c, d, chain.keys[1] as Hex, {
    stake: STAKE,
    validSeconds: 86_400n,
    stepsPerPosition: 0,
  });
}, 60_000);

afterAll(async () => {
  await chain?.stop();
});

describe("Registry.checkReceipt (Solidity on anvil) = checkReceipt (TypeScript)", () => {
  it("property: the same digest for honest receipts, the same verdict for mangled signatures", async () => {
    const n = secp256k1.Point.Fn.ORDER;
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 1_000_000 }), fc.integer({ min: 0, max: 5 }), async (i, mangle) => {
        const signed = signReceipt(receiptOf(i), ENCLAVE_KEY);
        const ts = inTs(signed);
        expect(ts).toMatch(/^0x[0-9a-f]{64}$/);
        expect(await onChain(signed)).toBe(ts);
        const sig = Uint8Array.from(Buffer.from(signed.signature.slice(2), "hex"));
        const v = sig[64] as number;
        if (mangle === 0) sig[64] = v === 27 ? 28 : 27; // the other recovery id
        if (mangle === 1) sig[64] = v - 27; // v as 0/1
        if (mangle === 2) {
          // the high-s twin (which verifies mathematically)
          const s = BigInt(`0x${Buffer.from(sig.subarray(32, 64)).toString("hex")}`);
          sig.set(Buffer.from((n - s).toString(16).padStart(64, "0"), "hex"), 32);
          sig[64] = v === 27 ? 28 : 27;
        }
        if (mangle === 3) sig[10] = (sig[10] as number) ^ 1; // r
        if (mangle === 4) sig[40] = (sig[40] as number) ^ 1; // s
        if (mangle === 5) sig[64] = 29;
        const bad = { ...signed, signature: bytesToHex(sig) };
        expect(inTs(bad)).toBe("RECEIPT_SIGNATURE_INVALID");
        expect(await onChain(bad)).toBe("RECEIPT_SIGNATURE_INVALID");
      }),
      { numRuns: 30, seed: 11 },
    );
  });

  it("across a change of the worker's evidence: a receipt naming the previous evidence passes both if signed before the change, fails both after", async () => {
    const reattest = async (evidence: Hex) => {
      const expiresAt = (await c.public.getBlock()).timestamp + 86_400n;
      const verdict = await attesterVerdict(chain.keys[1] as Hex, d, {
        worker: WORKER,
        operator: c.wallet.account.address,
        modelId: MODEL,
        attestationHash: evidence,
        expiresAt,
      });
      await send(c, d.registry, registryAbi, "reattest", [WORKER, evidence, expiresAt, verdict]);
    };
    const renewed = keccakUtf8("renewed evidence");
    await reattest(renewed);
    // The TypeScript snapshot as the gateway reads it from the chain.
    const [previous, changedAt] = await c.public.readContract({
      address: d.registry,
      abi: registryAbi,
      functionName: "previousEvidence",
      args: [WORKER],
    });
    expect(previous).toBe(EVIDENCE);
    const base = tsRegistry();
    const worker = base.workers.get(WORKER.toLowerCase()) as WorkerEntry;
    const registry: RegistrySnapshot = {
      ...base,
      workers: new Map([
        [
          WORKER.toLowerCase(),
          {
            ...worker,
            attestationHash: renewed,
            previousEvidence: { attestationHash: previous, changedAt: Number(changedAt) },
          },
        ],
      ]),
    };
    const at = changedAt * 1000n;
    const cases: [Hex, bigint][] = [
      [EVIDENCE, at - 1n],
      [EVIDENCE, at],
      [renewed, at - 1n],
      [renewed, at],
      [keccakUtf8("other evidence"), at - 1n],
    ];
    const codes = [];
    for (const [i, [attestationHash, timestamp]] of cases.entries()) {
      const signed = signReceipt(receiptOf(100 + i, { attestationHash, timestamp }), ENCLAVE_KEY);
      const ts = inTs(signed, registry);
      expect(await onChain(signed), `case ${i}`).toBe(ts);
      codes.push(ts.startsWith("0x") ? "ok" : ts);
    }
    expect(codes).toEqual(["ok", "RECEIPT_ATTESTATION_MISMATCH", "ok", "ok", "RECEIPT_ATTESTATION_MISMATCH"]);
    await reattest(EVIDENCE); // back to the evidence the other tests' receipts name
  });

  it("names each violation with the same code", async () => {
    const other = keccak256(Uint8Array.of(43));
    const cases: [string, SignedReceipt][] = [
      [
        "a field changed after signing",
        { ...signReceipt(receiptOf(1), ENCLAVE_KEY), receipt: receiptOf(1, { outputTokens: 9 }) },
      ],
      [
        "an unregistered worker",
        signReceipt(receiptOf(2, { worker: addressOf(secp256k1.getPublicKey(other, false)) }), other),
      ],
      ["signed by another key", signReceipt(receiptOf(3), other)],
      [
        "other evidence",
        signReceipt(receiptOf(4, { attestationHash: keccakUtf8("other evidence") }), ENCLAVE_KEY),
      ],
      [
        "other weights (a downgrade)",
        signReceipt(receiptOf(5, { weightsHash: keccakUtf8("8b weights") }), ENCLAVE_KEY),
      ],
      ["another model", signReceipt(receiptOf(6, { modelId: keccakUtf8("llama-70b") }), ENCLAVE_KEY)],
      ["a patched engine", signReceipt(receiptOf(7, { engineHash: keccakUtf8("patched") }), ENCLAVE_KEY)],
    ];
    const codes = [];
    for (const [what, signed] of cases) {
      const ts = inTs(signed);
      expect(await onChain(signed), what).toBe(ts);
      codes.push(ts);
    }
    expect(codes).toEqual([
      "RECEIPT_SIGNATURE_INVALID",
      "RECEIPT_WORKER_UNKNOWN",
      "RECEIPT_SIGNATURE_INVALID",
      "RECEIPT_ATTESTATION_MISMATCH",
      "RECEIPT_MODEL_MISMATCH",
      "RECEIPT_MODEL_MISMATCH",
      "RECEIPT_ENGINE_NOT_ALLOWED",
    ]);
    // A model whose dispute game accepts 40 positions at most: a longer receipt could never be disputed.
    const limit = async (steps: number, maxPositions: number) =>
      send(c, d.registry, registryAbi, "registerModel", [MODEL, WEIGHTS, steps, maxPositions, [ENGINE]]);
    await limit(4, 40);
    const limitedTs = devRegistry(31337n, SETTLEMENT, STAKE, STAKE, true, WEIGHTS, 40);
    const atLimit = signReceipt(receiptOf(9, { inputTokens: 20, outputTokens: 21 }), ENCLAVE_KEY);
    const beyond = signReceipt(receiptOf(10, { inputTokens: 20, outputTokens: 22 }), ENCLAVE_KEY);
    expect(await onChain(atLimit)).toBe(inTs(atLimit, limitedTs));
    expect(inTs(atLimit, limitedTs)).toMatch(/^0x/);
    expect(await onChain(beyond)).toBe("RECEIPT_NOT_DISPUTABLE");
    expect(inTs(beyond, limitedTs)).toBe("RECEIPT_NOT_DISPUTABLE");
    await limit(0, 0); // back to a model without a dispute game: no limit
    expect(await onChain(beyond)).toBe(inTs(beyond));
    // Stake below the minimum, then the attestation expired.
    const honest = signReceipt(receiptOf(8), ENCLAVE_KEY);
    await send(c, d.registry, registryAbi, "unbond", [WORKER, 1n]);
    expect(await onChain(honest)).toBe("RECEIPT_WORKER_UNSTAKED");
    expect(inTs(honest, tsRegistry({ stake: STAKE - 1n }))).toBe("RECEIPT_WORKER_UNSTAKED");
    await advanceTime(c, 86_400);
    expect(await onChain(honest)).toBe("RECEIPT_WORKER_NOT_ATTESTED");
    expect(inTs(honest, tsRegistry({ attested: false }))).toBe("RECEIPT_WORKER_NOT_ATTESTED");
  });
});
