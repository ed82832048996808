/**
 * `verinfer chain force-include`: a client whose receipt the sequencer will not include puts it on
 * chain itself (Rollup.forceInclude, docs/spec/otr.md §3.3). The contract runs the admission checks; the
 * receipt becomes a batch of one in the forced receipts' index space, with its own challenge window.
 */
import { readFileSync } from "node:fs";
import { parseEventLogs } from "viem";
import { send } from "../../chain/clients.ts";
import { clientsFor } from "../../chain/deploy.ts";
import { DEFAULT_DEPLOYMENT_FILE, readDeployment } from "../../chain/deploymentFile.ts";
import { registryAbi, rollupAbi } from "../../chain/generated/contracts.ts";
import { batchInfo } from "../../chain/postedBatches.ts";
import { revertName, revertReason, verdictCodeOf } from "../../chain/revert.ts";
import { checked, VerinferError } from "../../errors.ts";
import { readKeyFile } from "../../node/keys.ts";
import { type SignedReceipt, validateSignedReceipt } from "../../protocol/receipt/receipt.ts";
import { FORCED_BASE } from "../../protocol/rollup/rollupState.ts";
import { renderTable } from "../../report/table.ts";
import type { CommandSpec } from "../framework/command.ts";

/**
 * The signed receipt in `text`: a signed receipt ({receipt, signature}) or a gateway's chat completion,
 * whose `verinfer` extension carries it.
 */
export function signedReceiptIn(text: string, file: string): SignedReceipt {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new VerinferError("RECEIPT_MALFORMED", `${file} is not JSON: ${(e as Error).message}`);
  }
  const ext = (value as { verinfer?: { receipt?: unknown; signature?: unknown } } | null)?.verinfer;
  return checked(validateSignedReceipt(ext ? { receipt: ext.receipt, signature: ext.signature } : value));
}

export const forceIncludeCommand: CommandSpec = {
  name: "force-include",
  summary: "put your own signed receipt on chain when the sequencer does not (forced inclusion)",
  description: [
    "Reads a signed receipt (JSON {receipt, signature}, or a gateway's chat completion that carries one",
    "in its `verinfer` field) and calls Rollup.forceInclude from the key's account. The contract runs",
    "the admission checks itself; the receipt becomes a batch of one, numbered from FORCED_BASE so that",
    "it never takes an index the sequencer promised, with its own challenge window. Fishermen check it,",
    "and epoch settlement counts it once even if the sequencer posts it too.",
  ].join("\n"),
  positionals: [
    { name: "FILE", description: "the signed receipt or chat completion (JSON)", required: true },
  ],
  options: {
    deployment: {
      type: "string",
      value: "FILE",
      default: DEFAULT_DEPLOYMENT_FILE,
      description: "deployment file (its RPC and rollup)",
    },
    "key-file": {
      type: "string",
      value: "FILE",
      required: true,
      description: "file (mode 0600) holding the 0x private key that pays the transaction's gas",
    },
  },
  examples: [
    "verinfer chain force-include answer.json --key-file client.key",
    "verinfer chain force-include receipt.json --deployment .verinfer/devnet/deployment.json --key-file client.key --json",
  ],
  async run(ctx) {
    const file = ctx.positionals[0] as string;
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      throw new VerinferError("FILE_NOT_FOUND", `no receipt file at ${file}`, { file });
    }
    const signed = signedReceiptIn(text, file);
    const d = readDeployment(ctx.string("deployment") as string);
    const r = signed.receipt;
    if (r.chainId !== BigInt(d.chainId) || r.settlement.toLowerCase() !== d.rollup.toLowerCase())
      throw new VerinferError(
        "RECEIPT_DOMAIN_MISMATCH",
        `the receipt is for chain ${r.chainId} and rollup ${r.settlement}; the deployment is chain ${d.chainId}, rollup ${d.rollup}`,
      );
    const c = clientsFor(d.rpcUrl, d.chainId, readKeyFile(ctx.string("key-file") as string));
    const { chainId, settlement, ...struct } = r;
    const args = [struct, signed.signature] as const;
    try {
      // Simulated first: a refusal comes back as the contract's named error, and costs nothing.
      await c.public.simulateContract({
        address: d.rollup,
        // The registry runs the admission checks: its named errors come back through the rollup.
        abi: [...rollupAbi, ...registryAbi.filter((x) => x.type === "error")],
        functionName: "forceInclude",
        args,
        account: c.wallet.account,
      } as never);
    } catch (e) {
      const name = revertName(e);
      throw new VerinferError(
        (name ? verdictCodeOf(name) : null) ?? "UPSTREAM_REPLY_INVALID",
        `the rollup refuses the receipt: ${revertReason(e) ?? (e as Error).message.split("\n")[0]}`,
      );
    }
    const tx = await send(c, d.rollup, rollupAbi, "forceInclude", args);
    const [forced] = parseEventLogs({
      abi: rollupAbi,
      eventName: "ReceiptForced",
      logs: (await c.public.getTransactionReceipt({ hash: tx })).logs,
    });
    if (!forced)
      throw new VerinferError("UPSTREAM_REPLY_INVALID", `transaction ${tx} emitted no ReceiptForced`);
    const batch = Number(forced.args.index);
    const digest = forced.args.digest;
    const info = await batchInfo(c, d.rollup, batch);
    const window = Number(
      await c.public.readContract({ address: d.rollup, abi: rollupAbi, functionName: "challengeWindow" }),
    );
    const result = {
      kind: "verinfer.forced-receipt",
      requestId: r.requestId,
      digest,
      batch,
      position: 0,
      tx,
      postedAt: info.postedAt,
      finalAt: info.postedAt + window,
    };
    ctx.output(result, () =>
      renderTable(
        ["what", "value"],
        [
          ["request", r.requestId],
          ["receipt digest", digest],
          ["forced batch (position 0)", `${batch} (FORCED_BASE + ${batch - FORCED_BASE})`],
          ["transaction", tx],
          ["final at", new Date((info.postedAt + window) * 1000).toISOString()],
        ],
        { title: "receipt included on chain by its client" },
      ),
    );
    return 0;
  },
};
