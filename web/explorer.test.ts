/**
 * The explorer's checks in Node (the browser runs the same module; test/e2e/dashboard.test.ts runs it
 * in Chromium): an honest receipt in a posted batch passes every check; a receipt with any field
 * changed fails at its signature (and its inclusion), and one the registry does not vouch for fails
 * the registry check — never an honest one (property-tested).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, type Hex } from "../src/protocol/encoding/hex.ts";
import { receiptDigest, receiptToJson } from "../src/protocol/receipt/receipt.ts";
import { signReceipt } from "../src/protocol/receipt/verifyReceipt.ts";
import { BatchTree } from "../src/protocol/rollup/batchTree.ts";
import { leafOfSigned } from "../src/protocol/rollup/sequencer.ts";
import { devReceipt, ENCLAVE_KEY, EVIDENCE, WEIGHTS, WORKER } from "../src/testing/devWorker.ts";
import { type ChainFacts, explainReceipt } from "./explorer.ts";

const network = { chainId: 31337, rollup: "0x5fbdb2315678afecb367f032d93f642f64180aa3" as Hex };

/** A batch of `n` signed receipts, as posted, and the chain's facts about it. */
function postedBatch(n: number) {
  const signed = Array.from({ length: n }, (_, i) =>
    signReceipt(devReceipt(i, BigInt(network.chainId), network.rollup), ENCLAVE_KEY),
  );
  const digests = signed.map((s) => bytesToHex(receiptDigest(s.receipt)));
  const tree = new BatchTree(signed.map((s, i) => leafOfSigned(i, digests[i] as Hex, s.signature)));
  const facts: ChainFacts = {
    participant: async (w) =>
      w.toLowerCase() === WORKER.toLowerCase()
        ? { role: 1, attestationHash: EVIDENCE, attestedUntil: 2n ** 40n }
        : { role: 0, attestationHash: `0x${"0".repeat(64)}`, attestedUntil: 0n },
    modelWeights: async () => WEIGHTS,
    batchRoot: async (i) => (i === 7 ? (tree.root as Hex) : null),
    now: async () => 1_800_000_000n,
  };
  const input = (i: number) => {
    const { receipt, signature } = receiptToJson(signed[i] as (typeof signed)[number]);
    return { receipt, signature, digest: digests[i] as Hex, batch: 7, position: i, proof: tree.proof(i) };
  };
  return { facts, input };
}

const verdicts = (checks: { name: string; ok: boolean | null }[]) =>
  Object.fromEntries(checks.map((c) => [c.name, c.ok]));

describe("receipt explorer", () => {
  it("passes every check of an honest posted receipt, at any position", async () => {
    const { facts, input } = postedBatch(9);
    for (let i = 0; i < 9; i++)
      expect(verdicts(await explainReceipt(input(i), network, facts))).toEqual({
        "well formed": true,
        network: true,
        signature: true,
        digest: true,
        registry: true,
        inclusion: true,
      });
  });

  it("fails the signature and the inclusion of a receipt with any numeric field changed", async () => {
    const { facts, input } = postedBatch(4);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("inputTokens", "outputTokens", "latencyMs"),
        fc.integer({ min: 1, max: 100 }),
        fc.nat(3),
        async (field, delta, i) => {
          const honest = input(i);
          const receipt = { ...honest.receipt, [field]: (honest.receipt[field] as number) + delta };
          const v = verdicts(await explainReceipt({ ...honest, receipt }, network, facts));
          expect(v["well formed"]).toBe(true);
          expect(v.signature).toBe(false);
          expect(v.inclusion).toBe(false);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("names the check that fails: another network, a model the registry does not hold, not yet posted, malformed", async () => {
    const { facts, input } = postedBatch(2);
    const other = verdicts(await explainReceipt(input(0), { ...network, chainId: 1 }, facts));
    expect(other.network).toBe(false);
    const unregistered = verdicts(
      await explainReceipt(input(0), network, { ...facts, modelWeights: async () => `0x${"0".repeat(64)}` }),
    );
    expect(unregistered.registry).toBe(false);
    const provisional = await explainReceipt(
      { ...input(1), batch: null, position: null, proof: null },
      network,
      facts,
    );
    expect(provisional.at(-1)).toMatchObject({ name: "inclusion", ok: null });
    const malformed = await explainReceipt({ ...input(0), signature: "0x1234" }, network, facts);
    expect(malformed[0]).toMatchObject({ name: "well formed", ok: false });
    expect(malformed.slice(1).every((c) => c.ok === null)).toBe(true);
  });
});
