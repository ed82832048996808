import { loadNativeSecp256k1 } from "../../crypto/nativeSecp256k1.ts";
import { readJsonFile } from "../../data/files.ts";
import { checked } from "../../errors.ts";
import { defaultThreads } from "../../parallel/workerPool.ts";
import { fail, ok, type Verdict } from "../../protocol/errors.ts";
import { validateSignedReceipt } from "../../protocol/receipt/receipt.ts";
import { parseRegistry, pureSecp256k1, recoverReceiptSigner } from "../../protocol/receipt/verifyReceipt.ts";
import { parseEntry, readReceiptFile } from "../../receipts/receiptFiles.ts";
import { verifyReceipts } from "../../receipts/verifyReceipts.ts";
import { renderTable } from "../../report/table.ts";
import type { CommandSpec } from "../framework/command.ts";

/** `verinfer receipt verify`. */
export const verifyReceiptCommand: CommandSpec = {
  name: "verify",
  summary: "verify signed PoEA receipts (signature, registry checks, replays); exit 1 if any fails",
  description: [
    "Reads one receipt, a JSON array or JSON Lines. With --registry it runs the sequencer's checks: the signature",
    "under the worker's registered enclave key, worker registered, attested and staked, attestation hash, model id",
    "and weights hash, allowed engine, and each sequence number used once. Without --registry it recovers the signer",
    "and checks it is the receipt's worker (no PoEA checks). Large files are verified on all cores.",
  ].join("\n"),
  positionals: [
    { name: "FILE", description: "receipts (JSON object, JSON array or JSON Lines)", required: true },
  ],
  options: {
    registry: {
      type: "string",
      value: "FILE",
      description: "registry snapshot JSON (workers, models, chain)",
    },
    threads: {
      type: "integer",
      value: "N",
      min: 1,
      description: `worker threads (default: one per core, ${defaultThreads()} here)`,
    },
    pure: {
      type: "boolean",
      description: "use the pure-JS secp256k1/keccak backend instead of the native one",
    },
  },
  examples: [
    "verinfer receipt example --out demo && verinfer receipt verify demo/receipts.jsonl --registry demo/registry.json",
    "verinfer receipt verify receipt.json --json",
  ],
  async run(ctx) {
    const file = ctx.positionals[0] as string;
    const entries = readReceiptFile(file);
    const registryFile = ctx.string("registry");
    const pure = ctx.flag("pure");
    const backend = (pure ? null : loadNativeSecp256k1()) ?? pureSecp256k1;
    const start = performance.now();
    let verdicts: Verdict<unknown>[];
    if (registryFile) {
      const registryJson = readJsonFile(registryFile, 64 * 1024 * 1024);
      const registry = checked(parseRegistry(registryJson));
      const progress = ctx.progress("verifying receipts", entries.length);
      verdicts = await verifyReceipts(
        entries.map((e) => e.item),
        {
          registryJson,
          registry,
          threads: ctx.number("threads") ?? defaultThreads(),
          pure,
          onProgress: (d) => progress.update(d),
        },
      );
      progress.done();
    } else {
      verdicts = entries.map((e) => {
        const parsed = parseEntry(e);
        if ("error" in parsed) return fail("RECEIPT_MALFORMED", parsed.error);
        const signed = validateSignedReceipt(parsed.value);
        if (!signed.ok) return signed;
        const signer = recoverReceiptSigner(signed.value, backend);
        if (!signer.ok) return signer;
        return signer.value === signed.value.receipt.worker
          ? ok({ signer: signer.value })
          : fail(
              "RECEIPT_SIGNATURE_INVALID",
              `signed by ${signer.value}, not by the receipt's worker ${signed.value.receipt.worker}`,
            );
      });
    }
    const seconds = (performance.now() - start) / 1000;
    const valid = verdicts.filter((v) => v.ok).length;
    const byCode = new Map<string, number>();
    for (const v of verdicts) if (!v.ok) byCode.set(v.error.code, (byCode.get(v.error.code) ?? 0) + 1);
    const results = entries.map((e, i) => {
      const v = verdicts[i] as Verdict<unknown>;
      return v.ok
        ? { where: e.where, ok: true }
        : { where: e.where, ok: false, code: v.error.code, message: v.error.message };
    });
    const checks = registryFile
      ? "signature + PoEA registry checks + replay"
      : "signature only (signer = worker); pass --registry for PoEA checks";
    ctx.output(
      {
        kind: "verinfer.receipt-verification",
        file,
        checks,
        backend: backend.name,
        total: entries.length,
        valid,
        seconds,
        results,
      },
      () => {
        const lines = [
          `${valid}/${entries.length} receipts valid (${checks}; ${backend.name}; ${seconds.toFixed(2)} s, ${Math.round(entries.length / Math.max(seconds, 1e-9)).toLocaleString("en-US")} receipts/s)`,
        ];
        if (byCode.size)
          lines.push(
            "",
            renderTable(
              ["error", "receipts"],
              [...byCode.entries()].map(([c, n]) => [c, n]),
            ),
          );
        const failed = results.filter((r) => !r.ok).slice(0, 20);
        if (failed.length) lines.push("", ...failed.map((r) => `  ${r.where}: [${r.code}] ${r.message}`));
        if (results.filter((r) => !r.ok).length > 20) lines.push("  … (all failures in --json)");
        return lines.join("\n");
      },
    );
    return valid === entries.length ? 0 : 1;
  },
};
