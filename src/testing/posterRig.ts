/**
 * A gateway's batch poster over a fresh store on a dev chain, as the gateway drives it: receipts of the
 * dev worker admitted by the protocol's Sequencer, stored, and recorded when a batch seals. Its log lines
 * are kept. Used by the poster's tests and by the bench that measures what posting a batch costs.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import type { ChainClients } from "../chain/deploy.ts";
import { deployedFrom } from "../chain/logs.ts";
import { BatchPoster } from "../node/services/gateway/batchPoster.ts";
import { ReceiptStore } from "../node/store/receiptStore.ts";
import { DEVNET_OTR_PARAMS } from "../protocol/params/otr.ts";
import type { Receipt } from "../protocol/receipt/receipt.ts";
import { checkReceipt, pureSecp256k1, signReceipt } from "../protocol/receipt/verifyReceipt.ts";
import { type SealedBatch, Sequencer } from "../protocol/rollup/sequencer.ts";
import { type DevChain, TOKEN } from "./devChain.ts";
import { devReceipt, devRegistry, ENCLAVE_KEY } from "./devWorker.ts";

/**
 * A poster over a fresh store, its log lines kept, and a way to seal batches of `perBatch` receipts; with
 * the poster's options (a fee ceiling, how often it reads the head) and the sequencer's account's clients
 * (`chain`, default the dev chain's owner) if given.
 */
export function posterRig(
  dev: DevChain,
  perBatch: number,
  o: ConstructorParameters<typeof BatchPoster>[6] & { readonly chain?: ChainClients } = {},
) {
  const store = ReceiptStore.open(join(mkdtempSync(join(tmpdir(), "verinfer-poster-")), "r.sqlite"));
  const lines: { msg: string; outcome?: string; batch?: number; tx?: string; replaced?: string }[] = [];
  const logger = pino(
    { level: "info" },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  const posted: number[] = [];
  const newPoster = () =>
    new BatchPoster(
      store,
      o.chain ?? dev.owner,
      dev.d.rollup,
      logger,
      { posted: (i) => posted.push(i), forced: () => {} },
      deployedFrom(dev.d),
      o,
    );
  const poster = newPoster();
  const chainId = BigInt(dev.chain.chainId);
  const registry = devRegistry(chainId, dev.d.rollup, 10n * TOKEN, 10n * TOKEN);
  const sequencer = new Sequencer({ ...DEVNET_OTR_PARAMS.rollup, maxBatchReceipts: perBatch }, 1 << 16);
  let next = 0;
  /**
   * Admits receipts until a batch seals, as the gateway does (stored, then recorded as sealed); `fields`
   * sets fields of the receipt at each position of the batch.
   */
  const seal = (fields: (position: number) => Partial<Receipt> = () => ({})): SealedBatch => {
    for (let position = 0; ; position++) {
      const signed = signReceipt(devReceipt(next++, chainId, dev.d.rollup, fields(position)), ENCLAVE_KEY);
      const verified = checkReceipt(signed, registry, pureSecp256k1);
      if (!verified.ok) throw new Error(verified.error.message);
      const admitted = sequencer.admit(signed, verified, 0);
      if (!admitted.ok) throw new Error(admitted.error.message);
      store.admit({ signed, digest: verified.value.digest, client: "test", admittedAtMs: 0 });
      if (admitted.value.sealed) {
        poster.record(admitted.value.sealed);
        return admitted.value.sealed;
      }
    }
  };
  /** A poster as a restarted gateway makes it: on the same store, with the same log (nothing in memory). */
  const restarted = newPoster;
  return { store, poster, posted, lines, seal, restarted };
}
