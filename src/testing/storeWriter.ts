/**
 * A gateway stand-in for the receipt store's crash test: admits signed dev receipts into the store at
 * argv[2] as fast as it can and prints each request id on stdout once `admit` has returned (what a
 * gateway would then answer its client with), until it is killed.
 * Usage: node --import tsx src/testing/storeWriter.ts STORE_PATH
 */
import { ReceiptStore } from "../node/store/receiptStore.ts";
import { bytesToHex } from "../protocol/encoding/hex.ts";
import { receiptDigest } from "../protocol/receipt/receipt.ts";
import { signReceipt } from "../protocol/receipt/verifyReceipt.ts";
import { devReceipt, ENCLAVE_KEY } from "./devWorker.ts";

const store = ReceiptStore.open(process.argv[2] as string);
const settlement = "0x0000000000000000000000000000000000000001";
for (let i = 0; ; i++) {
  const signed = signReceipt(devReceipt(i, 31337n, settlement), ENCLAVE_KEY);
  store.admit({
    signed,
    digest: bytesToHex(receiptDigest(signed.receipt)),
    client: "crash-test",
    idempotencyKey: `key-${i}`,
    admittedAtMs: i,
  });
  process.stdout.write(`${signed.receipt.requestId}\n`);
}
