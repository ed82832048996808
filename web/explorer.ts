/**
 * The receipt explorer's checks, run in the browser with the protocol's own code (and in Node by the
 * tests): a receipt — as the gateway answered it or pasted by hand — is checked step by step without
 * trusting the gateway: well formed; for this network; signed by the worker it names, with the digest
 * stated; the registry's facts on chain (a registered, attested worker whose attestation and model the
 * receipt names); and included at its position under the batch root posted on chain. Each check says
 * what it found, so a tampered receipt shows which check failed.
 */
import type { Hex } from "../src/protocol/encoding/hex.ts";
import { bytesToHex } from "../src/protocol/encoding/hex.ts";
import { verifyMerkleProof } from "../src/protocol/merkle/merkleTree.ts";
import { receiptDigest, validateSignedReceipt } from "../src/protocol/receipt/receipt.ts";
import { recoverReceiptSigner } from "../src/protocol/receipt/verifyReceipt.ts";
import { leafOfSigned } from "../src/protocol/rollup/sequencer.ts";

/** What the explorer reads from the chain (an RPC in the browser). */
export interface ChainFacts {
  /** Registry.participant: role 1 is a worker. */
  participant(worker: Hex): Promise<{ role: number; attestationHash: Hex; attestedUntil: bigint }>;
  /** Registry.models(modelId).weightsHash (zero when the model is not registered). */
  modelWeights(modelId: Hex): Promise<Hex>;
  /** Rollup.batch(index).root, or null when no such batch is posted. */
  batchRoot(index: number): Promise<Hex | null>;
  /** The latest block's time (seconds). */
  now(): Promise<bigint>;
}

/** A receipt as the gateway serves it (GET /v1/receipts/{id}, or an answer's `verinfer` field). */
export interface ExplorerInput {
  readonly receipt: Record<string, unknown>;
  readonly signature: Hex;
  readonly digest?: Hex;
  readonly batch?: number | null;
  readonly position?: number | null;
  readonly proof?: readonly Hex[] | null;
}

export interface ExplorerCheck {
  readonly name: string;
  /** null: not checked (an earlier check failed, or the batch is not posted yet). */
  readonly ok: boolean | null;
  readonly detail: string;
}

const ZERO = `0x${"0".repeat(64)}`;

/** Runs every check in order; later checks that depend on a failed one are reported as not run. */
export async function explainReceipt(
  input: ExplorerInput,
  network: { readonly chainId: number; readonly rollup: Hex },
  chain: ChainFacts,
): Promise<ExplorerCheck[]> {
  const checks: ExplorerCheck[] = [];
  const skipRest = (names: string[], why: string) => {
    for (const name of names) checks.push({ name, ok: null, detail: why });
    return checks;
  };
  const later = ["network", "signature", "digest", "registry", "inclusion"];
  const signed = validateSignedReceipt({ receipt: input.receipt, signature: input.signature });
  if (!signed.ok) {
    checks.push({ name: "well formed", ok: false, detail: `${signed.error.code}: ${signed.error.message}` });
    return skipRest(later, "the receipt is malformed");
  }
  checks.push({ name: "well formed", ok: true, detail: "every field present and in range" });
  const r = signed.value.receipt;
  const ours =
    r.chainId === BigInt(network.chainId) && r.settlement.toLowerCase() === network.rollup.toLowerCase();
  checks.push({
    name: "network",
    ok: ours,
    detail: ours
      ? `chain ${r.chainId}, settlement ${r.settlement}`
      : `for chain ${r.chainId} / ${r.settlement}, not this network's ${network.chainId} / ${network.rollup}`,
  });
  const signer = recoverReceiptSigner(signed.value);
  const bySigner = signer.ok && signer.value.toLowerCase() === r.worker.toLowerCase();
  checks.push({
    name: "signature",
    ok: bySigner,
    detail: !signer.ok
      ? `${signer.error.code}: ${signer.error.message}`
      : bySigner
        ? `EIP-712 signature recovers to the worker ${r.worker}`
        : `signed by ${signer.value}, not by the worker ${r.worker} it names`,
  });
  const digest = bytesToHex(receiptDigest(r));
  const digestOk = input.digest === undefined || input.digest.toLowerCase() === digest;
  checks.push({
    name: "digest",
    ok: digestOk,
    detail: digestOk ? `EIP-712 digest ${digest}` : `stated ${input.digest}, the receipt's is ${digest}`,
  });
  const p = await chain.participant(r.worker);
  const weights = await chain.modelWeights(r.modelId);
  const now = await chain.now();
  const problems = [
    p.role !== 1 ? `${r.worker} is not a registered worker` : null,
    p.role === 1 && p.attestationHash.toLowerCase() !== r.attestationHash.toLowerCase()
      ? `the receipt names attestation ${r.attestationHash}, the registry holds ${p.attestationHash}`
      : null,
    p.role === 1 && p.attestedUntil <= now ? `the worker's attestation expired at ${p.attestedUntil}` : null,
    weights.toLowerCase() === ZERO ? `model ${r.modelId} is not registered` : null,
    weights.toLowerCase() !== ZERO && weights.toLowerCase() !== r.weightsHash.toLowerCase()
      ? `the receipt names weights ${r.weightsHash}, the registry holds ${weights}`
      : null,
  ].filter((x): x is string => x !== null);
  checks.push({
    name: "registry",
    ok: problems.length === 0,
    detail:
      problems.length === 0
        ? "registered, attested worker; its attestation and model's weights"
        : problems.join("; "),
  });
  if (input.batch == null || input.position == null || !input.proof)
    return skipRest(["inclusion"], "not in a sealed batch yet (provisional)");
  const root = await chain.batchRoot(input.batch);
  if (root === null) return skipRest(["inclusion"], `batch ${input.batch} is not posted on chain yet`);
  const leaf = bytesToHex(leafOfSigned(input.position, digest, input.signature));
  const included = verifyMerkleProof(root, leaf, input.proof);
  checks.push({
    name: "inclusion",
    ok: included,
    detail: included
      ? `at position ${input.position} under batch ${input.batch}'s on-chain root ${root}`
      : `the proof does not lead from this receipt at position ${input.position} to batch ${input.batch}'s root ${root}`,
  });
  return checks;
}
