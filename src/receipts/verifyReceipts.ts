/**
 * Verifying a stream of receipts: stateless checks (signature, PoEA registry checks) in batches,
 * on worker threads once the stream proves long, then the replay check in input order on this thread,
 * so the outcome equals a sequential run. Memory stays bounded: a few batches are in flight at a time
 * and each verdict is handed to the caller as soon as it is final.
 */
import { loadNativeSecp256k1 } from "../crypto/nativeSecp256k1.ts";
import { WorkerPool } from "../parallel/workerPool.ts";
import { fail, type Verdict } from "../protocol/errors.ts";
import { ReplayGuard } from "../protocol/receipt/replayGuard.ts";
import {
  pureSecp256k1,
  type RegistrySnapshot,
  type VerifiedReceipt,
} from "../protocol/receipt/verifyReceipt.ts";
import type { ReceiptEntry } from "./receiptFiles.ts";
import { verifyItem } from "./verifyTask.ts";

/** Receipts per batch; a stream this long is verified on worker threads. */
const BATCH = 2000;

/** Options of a stream verification. */
export interface VerifyReceiptsOptions {
  /** The registry as parsed JSON (what workers receive) and parsed; null: signature checks only. */
  readonly registryJson: unknown;
  readonly registry: RegistrySnapshot | null;
  readonly threads: number;
  readonly pure: boolean;
  /** Replay window per worker (see ReplayGuard). */
  readonly replayWindow: number;
}

/** Verifies every entry and calls `onVerdict` in input order. */
export async function verifyReceiptStream(
  entries: AsyncIterable<ReceiptEntry>,
  options: VerifyReceiptsOptions,
  onVerdict: (entry: ReceiptEntry, verdict: Verdict<VerifiedReceipt>) => void,
): Promise<void> {
  const backend = (options.pure ? null : loadNativeSecp256k1()) ?? pureSecp256k1;
  const guard = new ReplayGuard<string>(options.replayWindow);
  let pool: WorkerPool<string, Verdict<VerifiedReceipt>> | null = null;
  const inFlight: Promise<void>[] = [];
  let chain = Promise.resolve();

  const settle = (batch: readonly ReceiptEntry[], verdicts: readonly Verdict<VerifiedReceipt>[]) => {
    for (const [i, entry] of batch.entries()) {
      const v = verdicts[i] as Verdict<VerifiedReceipt>;
      if (!v.ok) {
        onVerdict(entry, v);
        continue;
      }
      const replay = guard.accept(v.value.worker, v.value.sequence, v.value.requestId, entry.where);
      onVerdict(entry, replay.ok ? v : fail(replay.error.code, replay.error.message, replay.error.meta));
    }
  };
  const stateless = (entry: ReceiptEntry): Verdict<VerifiedReceipt> | null =>
    entry.error === undefined ? null : fail("RECEIPT_MALFORMED", entry.error);

  const submit = async (batch: ReceiptEntry[], parallel: boolean) => {
    let verdicts: Promise<Verdict<VerifiedReceipt>[]>;
    if (parallel) {
      pool ??= new WorkerPool(
        new URL("./verifyTask.ts", import.meta.url),
        {
          registry: options.registryJson,
          pure: options.pure,
        },
        options.threads,
      );
      const readable = batch.filter((e) => e.error === undefined).map((e) => e.text);
      verdicts = pool.run(readable).then((done) => {
        let k = 0;
        return batch.map((e) => stateless(e) ?? (done[k++] as Verdict<VerifiedReceipt>));
      });
    } else {
      verdicts = Promise.resolve(
        batch.map((e) => stateless(e) ?? verifyItem(e.text, options.registry, backend)),
      );
    }
    // Verdicts are settled in input order, whichever batch finishes first.
    const settled = chain.then(async () => settle(batch, await verdicts));
    chain = settled;
    inFlight.push(settled);
    // A few batches in flight at most: reading waits for verification, so memory stays bounded.
    if (inFlight.length >= 2 * options.threads) await inFlight.shift();
  };

  try {
    let batch: ReceiptEntry[] = [];
    let batches = 0;
    for await (const entry of entries) {
      batch.push(entry);
      if (batch.length === BATCH) {
        // The first batch runs here; a second one means a long stream: use the worker threads.
        await submit(batch, options.threads > 1 && batches > 0);
        batches++;
        batch = [];
      }
    }
    if (batch.length) await submit(batch, options.threads > 1 && batches > 0);
    await chain;
  } finally {
    await (pool as WorkerPool<string, Verdict<VerifiedReceipt>> | null)?.close();
  }
}
