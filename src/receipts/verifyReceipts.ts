/**
 * Verifying many receipts: stateless checks (signature, PoEA registry checks) in parallel on worker
 * threads, then the replay check in input order on this thread, so the outcome equals a sequential run.
 */
import { loadNativeSecp256k1 } from "../crypto/nativeSecp256k1.ts";
import { runInWorkers } from "../parallel/workerPool.ts";
import { fail, type Verdict } from "../protocol/errors.ts";
import {
  pureSecp256k1,
  type RegistrySnapshot,
  SequenceGuard,
  type VerifiedReceipt,
} from "../protocol/receipt/verifyReceipt.ts";
import { verifyItem } from "./verifyTask.ts";

/** Below this many receipts, one thread is faster than starting workers. */
const PARALLEL_THRESHOLD = 2000;

/** Options of a batch verification. */
export interface VerifyReceiptsOptions {
  readonly registryJson: unknown;
  readonly registry: RegistrySnapshot;
  readonly threads: number;
  readonly pure: boolean;
  readonly onProgress?: (done: number, total: number) => void;
}

/** Verdicts for receipts (objects, or their JSON text), in input order, replays included. */
export async function verifyReceipts(
  raw: readonly unknown[],
  options: VerifyReceiptsOptions,
): Promise<Verdict<VerifiedReceipt>[]> {
  let verdicts: Verdict<VerifiedReceipt>[];
  if (options.threads > 1 && raw.length >= PARALLEL_THRESHOLD) {
    verdicts = await runInWorkers<unknown, Verdict<VerifiedReceipt>>({
      module: new URL("./verifyTask.ts", import.meta.url),
      workerData: { registry: options.registryJson, pure: options.pure },
      items: raw,
      batchSize: 2000,
      threads: options.threads,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } else {
    const backend = (options.pure ? null : loadNativeSecp256k1()) ?? pureSecp256k1;
    verdicts = raw.map((r, i) => {
      if (i % 1000 === 999) options.onProgress?.(i + 1, raw.length);
      return verifyItem(r, options.registry, backend);
    });
  }
  const guard = new SequenceGuard();
  return verdicts.map((v) => {
    if (!v.ok) return v;
    const seq = guard.accept(v.value.worker, v.value.sequence);
    return seq.ok ? v : fail(seq.error.code, seq.error.message, seq.error.meta, seq.error.disposition);
  });
}
