/**
 * `verinfer chain force-include`: a client whose receipt the sequencer will not include puts it on
 * chain itself (Rollup.forceInclude, docs/spec/otr.md §3.3). The contract runs the admission checks; the
 * receipt becomes a batch of one in the forced receipts' index space, with its own challenge window.
 */
import { readFileSync } from "node:fs";
import { clientsFor } from "../../chain/deploy.ts";
import { DEFAULT_DEPLOYMENT_FILE, readDeployment } from "../../chain/deploymentFile.ts";
import { forceReceipt } from "../../chain/forcedInclusion.ts";
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
    const c = clientsFor(d.rpcUrl, d.chainId, readKeyFile(ctx.string("key-file") as string));
    const result = await forceReceipt(c, d.rollup, signed);
    const { requestId, digest, batch, tx, finalAt } = result;
    ctx.output(result, () =>
      renderTable(
        ["what", "value"],
        [
          ["request", requestId],
          ["receipt digest", digest],
          ["forced batch (position 0)", `${batch} (FORCED_BASE + ${batch - FORCED_BASE})`],
          ["transaction", tx],
          ["final at", new Date(finalAt * 1000).toISOString()],
        ],
        { title: "receipt included on chain by its client" },
      ),
    );
    return 0;
  },
};
