import type { GroupSpec } from "../framework/command.ts";
import { exampleReceiptsCommand } from "./example.ts";
import { verifyReceiptCommand } from "./verify.ts";

/** `verinfer receipt ...`. */
export const receiptGroup: GroupSpec = {
  name: "receipt",
  summary: "PoEA receipts: verify signed receipts against a registry, write example receipts",
  commands: [verifyReceiptCommand, exampleReceiptsCommand],
};
