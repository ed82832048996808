/**
 * Invalid-inclusion proofs on anvil against protocol/rollup/invalidInclusion.ts: a colluding sequencer
 * posts a batch holding receipts the admission rules refuse; exactly those whose fault no later change
 * can mend (unknown worker, a signature not the worker's, another model than the one it registered for)
 * are provable — voided, the sequencer's bond slashed with a share to the prover — and those whose fault
 * could have arisen after admission (evidence, weights) are not, on chain as in TypeScript; and, as a
 * property over random receipts of the registered worker, an honest inclusion is never provable.
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytesToHex } from "../protocol/encoding/hex.ts";
import { keccak256, keccakUtf8 } from "../protocol/encoding/keccak.ts";
import { addressOf, receiptDigest, type SignedReceipt } from "../protocol/receipt/receipt.ts";
import { signReceipt } from "../protocol/receipt/verifyReceipt.ts";
import { createRng } from "../protocol/rng/prng.ts";
import { BatchTree } from "../protocol/rollup/batchTree.ts";
import { INVALID_INCLUSION_FAULTS, invalidInclusionFault } from "../protocol/rollup/invalidInclusion.ts";
import { leafOfSigned } from "../protocol/rollup/sequencer.ts";
import { startDevChain, TOKEN } from "../testing/devChain.ts";
import { devReceipt, devRegistry, ENCLAVE_KEY } from "../testing/devWorker.ts";
import type { LocalChain } from "./anvil.ts";
import { becomeSequencer, send } from "./clients.ts";
import type { ChainClients, Deployment } from "./deploy.ts";
import { rollupAbi, verinferTokenAbi } from "./generated/contracts.ts";
import { revertReason } from "./revert.ts";

const BOND = 10n * TOKEN;
const OTHER_KEY = keccak256(Uint8Array.of(7));

let chain: LocalChain;
let owner: ChainClients;
let prover: ChainClients;
let d: Deployment;

beforeAll(async () => {
  const dev = await startDevChain({ minSequencerBond: BOND });
  ({ chain, owner, d } = dev);
  prover = dev.clientsOf(6);
}, 60_000);

afterAll(() => chain?.stop());

describe("Rollup.proveInvalidInclusion = invalidInclusionFault", () => {
  it("voids and slashes for exactly the faults no later change can mend", async () => {
    const chainId = BigInt(chain.chainId);
    const r = (i: number, fields = {}) => devReceipt(i, chainId, d.rollup, fields);
    const cases: { name: string; signed: SignedReceipt }[] = [
      { name: "valid", signed: signReceipt(r(1), ENCLAVE_KEY) },
      { name: "signed by another key", signed: signReceipt(r(2), OTHER_KEY) },
      {
        name: "an unregistered worker",
        signed: signReceipt(r(3, { worker: addressOf(secp256k1.getPublicKey(OTHER_KEY, false)) }), OTHER_KEY),
      },
      {
        name: "another model",
        signed: signReceipt(r(4, { modelId: keccakUtf8("other model") }), ENCLAVE_KEY),
      },
      {
        name: "other evidence (can change: reattest)",
        signed: signReceipt(r(5, { attestationHash: keccakUtf8("x") }), ENCLAVE_KEY),
      },
      {
        name: "other weights (can change: re-registered model)",
        signed: signReceipt(r(6, { weightsHash: keccakUtf8("w") }), ENCLAVE_KEY),
      },
    ];
    // The colluding sequencer posts them all, unchecked.
    const leaves = cases.map((c, p) =>
      leafOfSigned(p, bytesToHex(receiptDigest(c.signed.receipt)), c.signed.signature),
    );
    const tree = new BatchTree(leaves);
    await send(owner, d.rollup, rollupAbi, "postBatch", [0n, tree.root, cases.length, "0x"]);
    const registry = devRegistry(chainId, d.rollup, 10n * TOKEN, TOKEN);
    const bond = async () =>
      (await owner.public.readContract({
        address: d.rollup,
        abi: rollupAbi,
        functionName: "sequencerBond",
      })) as bigint;
    const balance = async () =>
      (await owner.public.readContract({
        address: d.token,
        abi: verinferTokenAbi,
        functionName: "balanceOf",
        args: [prover.wallet.account.address],
      })) as bigint;
    const outcomes: Record<string, string> = {};
    for (const [p, c] of cases.entries()) {
      const ts = invalidInclusionFault(c.signed, registry);
      const { chainId: _, settlement, ...receipt } = c.signed.receipt;
      const [bondBefore, balanceBefore] = [await bond(), await balance()];
      const onChain = await send(prover, d.rollup, rollupAbi, "proveInvalidInclusion", [
        0n,
        p,
        receipt,
        c.signed.signature,
        tree.proof(p),
      ]).then(
        () => "proven",
        (e) => revertReason(e) ?? String(e),
      );
      if (ts === null) expect(onChain, c.name).toMatch(/^InclusionValid/);
      else {
        expect(onChain, c.name).toBe("proven");
        expect(bondBefore - (await bond())).toBe(BOND / 10n);
        expect((await balance()) - balanceBefore).toBe(BOND / 20n);
        const status = await owner.public.readContract({
          address: d.rollup,
          abi: rollupAbi,
          functionName: "status",
          args: [0n, p],
        });
        expect(Number(status)).toBe(4); // voided
      }
      outcomes[c.name] = ts ?? "not provable";
    }
    expect(outcomes).toEqual({
      valid: "not provable",
      "signed by another key": INVALID_INCLUSION_FAULTS[1],
      "an unregistered worker": INVALID_INCLUSION_FAULTS[0],
      "another model": INVALID_INCLUSION_FAULTS[2],
      "other evidence (can change: reattest)": "not provable",
      "other weights (can change: re-registered model)": "not provable",
    });
    // Proven once: the receipt is voided now, so its window is closed to a second proof.
    const { chainId: _, settlement, ...second } = cases[1]!.signed.receipt;
    expect(
      await send(prover, d.rollup, rollupAbi, "proveInvalidInclusion", [
        0n,
        1,
        second,
        cases[1]!.signed.signature,
        tree.proof(1),
      ]).then(
        () => "proven",
        (e) => revertReason(e) ?? String(e),
      ),
    ).toMatch(/^ChallengeWindowClosed/);
  }, 120_000);

  it("never convicts an honest inclusion: random receipts of the registered worker and model", async () => {
    // Soundness as a property: receipts the worker really signed for its registered model — whatever
    // their other fields, including evidence and weights that may have changed since (mendable) — are
    // never provable, on chain or in TypeScript, and the sequencer's bond does not move.
    const chainId = BigInt(chain.chainId);
    const rng = createRng(17);
    const hash = () => bytesToHex(Uint8Array.from({ length: 32 }, () => rng.int(256)));
    const signed = Array.from({ length: 24 }, (_, i) =>
      signReceipt(
        devReceipt(100 + i, chainId, d.rollup, {
          requestId: hash(),
          promptHash: hash(),
          outputHash: hash(),
          traceRoot: hash(),
          inputTokens: rng.int(4096),
          outputTokens: rng.int(4096),
          latencyMs: rng.int(100_000),
          sequence: BigInt(1 + rng.int(1_000_000)),
          ...(rng.int(4) === 0 ? { attestationHash: hash() } : {}),
          ...(rng.int(4) === 0 ? { weightsHash: hash() } : {}),
        }),
        ENCLAVE_KEY,
      ),
    );
    const tree = new BatchTree(
      signed.map((sr, p) => leafOfSigned(p, bytesToHex(receiptDigest(sr.receipt)), sr.signature)),
    );
    await becomeSequencer(owner, d, BOND); // tops the bond up after the first test's slashes
    await send(owner, d.rollup, rollupAbi, "postBatch", [1n, tree.root, signed.length, "0x"]);
    const registry = devRegistry(chainId, d.rollup, 10n * TOKEN, TOKEN);
    const bond = () =>
      owner.public.readContract({ address: d.rollup, abi: rollupAbi, functionName: "sequencerBond" });
    const before = await bond();
    for (const [p, sr] of signed.entries()) {
      expect(invalidInclusionFault(sr, registry)).toBeNull();
      const { chainId: _, settlement, ...receipt } = sr.receipt;
      const onChain = await send(prover, d.rollup, rollupAbi, "proveInvalidInclusion", [
        1n,
        p,
        receipt,
        sr.signature,
        tree.proof(p),
      ]).then(
        () => "proven",
        (e) => revertReason(e) ?? String(e),
      );
      expect(onChain, `receipt ${p}`).toMatch(/^InclusionValid/);
    }
    expect(await bond()).toBe(before);
  }, 120_000);
});
