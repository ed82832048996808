import { loadNativeSecp256k1 } from "../../crypto/nativeSecp256k1.ts";
import { readJsonFile } from "../../data/files.ts";
import { checked } from "../../errors.ts";
import { defaultThreads } from "../../parallel/workerPool.ts";
import { DEFAULT_REPLAY_WINDOW } from "../../protocol/receipt/replayGuard.ts";
import { parseRegistry, pureSecp256k1 } from "../../protocol/receipt/verifyReceipt.ts";
import { DEFAULT_MAX_RECEIPT_FILE_BYTES, readReceiptEntries } from "../../receipts/receiptFiles.ts";
import { verifyReceiptStream } from "../../receipts/verifyReceipts.ts";
import { renderTable } from "../../report/table.ts";
import type { CommandSpec } from "../framework/command.ts";

/** Failures listed one by one (all are counted). */
const MAX_LISTED_FAILURES = 10_000;

/** `verinfer receipt verify`. */
export const verifyReceiptCommand: CommandSpec = {
  name: "verify",
  summary: "verify signed PoEA receipts (signature, registry checks, replays); exit 1 if any fails",
  description: [
    "Reads one receipt, a JSON array or JSON Lines, streamed (memory stays bounded whatever the file's size). With",
    "--registry it runs the sequencer's checks: the signature under the worker's registered enclave key, worker",
    "registered, attested and staked, attestation hash, model id and weights hash, allowed engine. Without",
    "--registry it recovers the signer and checks it is the receipt's worker (no PoEA checks). Either way each",
    "(worker, sequence) and each request id is accepted once, in any order within --replay-window sequences of a",
    "worker's highest (docs/attestation.md, Replays). Long files are verified on all cores.",
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
    "replay-window": {
      type: "integer",
      value: "N",
      default: DEFAULT_REPLAY_WINDOW,
      min: 1,
      max: 1 << 24,
      description: "how far out of order one worker's sequences may arrive",
    },
    "max-file-bytes": {
      type: "integer",
      value: "N",
      default: DEFAULT_MAX_RECEIPT_FILE_BYTES,
      min: 1,
      description: "refuse larger files before reading them",
    },
  },
  examples: [
    "verinfer receipt example --out demo && verinfer receipt verify demo/receipts.jsonl --registry demo/registry.json",
    "verinfer receipt verify receipt.json --json",
  ],
  async run(ctx) {
    const file = ctx.positionals[0] as string;
    const registryFile = ctx.string("registry");
    const pure = ctx.flag("pure");
    const backend = (pure ? null : loadNativeSecp256k1()) ?? pureSecp256k1;
    const registryJson = registryFile ? readJsonFile(registryFile, 64 * 1024 * 1024) : null;
    const registry = registryFile ? checked(parseRegistry(registryJson)) : null;
    const maxFileBytes = ctx.number("max-file-bytes") as number;
    const start = performance.now();
    let progress: ReturnType<typeof ctx.progress> | null = null;
    const entries = readReceiptEntries(file, {
      maxFileBytes,
      onBytes: (read, total) => {
        progress ??= ctx.progress("verifying receipts (bytes read)", total);
        progress.update(read);
      },
    });
    let total = 0;
    let valid = 0;
    const byCode = new Map<string, number>();
    const failures: { where: string; ok: false; code: string; message: string }[] = [];
    await verifyReceiptStream(
      entries,
      {
        registryJson,
        registry,
        threads: ctx.number("threads") ?? defaultThreads(),
        pure,
        replayWindow: ctx.number("replay-window") as number,
      },
      (entry, v) => {
        total++;
        if (v.ok) {
          valid++;
          return;
        }
        byCode.set(v.error.code, (byCode.get(v.error.code) ?? 0) + 1);
        if (failures.length < MAX_LISTED_FAILURES)
          failures.push({ where: entry.where, ok: false, code: v.error.code, message: v.error.message });
      },
    );
    (progress as ReturnType<typeof ctx.progress> | null)?.done();
    const seconds = (performance.now() - start) / 1000;
    const checks = registryFile
      ? "signature + PoEA registry checks + replay"
      : "signature only (signer = worker) + replay; pass --registry for PoEA checks";
    const failed = total - valid;
    ctx.output(
      {
        kind: "verinfer.receipt-verification",
        file,
        checks,
        backend: backend.name,
        replayWindow: ctx.number("replay-window"),
        total,
        valid,
        failed,
        seconds,
        byCode: Object.fromEntries(byCode),
        failures,
        failuresListed: failures.length,
      },
      () => {
        const lines = [
          `${valid}/${total} receipts valid (${checks}; ${backend.name}; ${seconds.toFixed(2)} s, ${Math.round(total / Math.max(seconds, 1e-9)).toLocaleString("en-US")} receipts/s)`,
        ];
        if (byCode.size)
          lines.push(
            "",
            renderTable(
              ["error", "receipts"],
              [...byCode.entries()].map(([c, n]) => [c, n]),
            ),
          );
        if (failures.length)
          lines.push("", ...failures.slice(0, 20).map((r) => `  ${r.where}: [${r.code}] ${r.message}`));
        if (failed > 20) lines.push(`  … (${failures.length.toLocaleString("en-US")} listed in --json)`);
        return lines.join("\n");
      },
    );
    return failed === 0 ? 0 : 1;
  },
};
