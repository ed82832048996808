import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { bytesToHex, type Hex } from "../../protocol/encoding/hex.ts";
import { keccak256, keccakUtf8 } from "../../protocol/encoding/keccak.ts";
import { addressOf, type Receipt, receiptToJson } from "../../protocol/receipt/receipt.ts";
import { signReceipt } from "../../protocol/receipt/verifyReceipt.ts";
import { deriveSeed, seedFrom } from "../../protocol/rng/deriveSeed.ts";
import type { CommandSpec } from "../framework/command.ts";
import { SEED_OPTION } from "../sharedOptions.ts";

/** `verinfer receipt example`: a worker key, a registry and signed receipts to try the verifier on. */
export const exampleReceiptsCommand: CommandSpec = {
  name: "example",
  summary: "write a worker key, a registry snapshot and N signed receipts (seeded) to try `receipt verify`",
  options: {
    out: { type: "string", value: "DIR", required: true, description: "folder to write" },
    count: {
      type: "integer",
      value: "N",
      default: 1000,
      min: 1,
      max: 10_000_000,
      description: "receipts to sign",
    },
    seed: SEED_OPTION,
  },
  examples: ["verinfer receipt example --out demo --count 20000"],
  run(ctx) {
    const out = ctx.string("out") as string;
    const count = ctx.number("count") as number;
    const seed = seedFrom(ctx.number("seed") as number);
    const key = keccak256(Uint8Array.from(Buffer.from(deriveSeed(seed, "worker-key").slice(2), "hex")));
    const publicKey = secp256k1.getPublicKey(key, false);
    const worker = addressOf(publicKey);
    const modelId = keccakUtf8("example model: tinystories-15M");
    const weightsHash = keccakUtf8("example weights");
    const engineHash = keccakUtf8("verinfer-ts-engine 0.1.0");
    const attestationHash = keccakUtf8("example attestation report");
    const settlement: Hex = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
    const registry = {
      chainId: "31337",
      settlement,
      minStake: "1000000000000000000",
      workers: [
        {
          address: worker,
          publicKey: bytesToHex(publicKey),
          attested: true,
          attestationHash,
          stake: "5000000000000000000",
          modelId,
        },
      ],
      models: [{ modelId, weightsHash, engines: [engineHash] }],
    };
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "worker.key"), `${bytesToHex(key)}\n`, { mode: 0o600 });
    writeFileSync(join(out, "registry.json"), `${JSON.stringify(registry, null, 2)}\n`);
    const progress = ctx.progress("signing receipts", count);
    const lines: string[] = [];
    for (let i = 1; i <= count; i++) {
      const h = (label: string) => deriveSeed(seed, label, i);
      const receipt: Receipt = {
        version: 1,
        chainId: 31337n,
        settlement,
        requestId: h("request"),
        worker,
        modelId,
        weightsHash,
        engineHash,
        promptHash: h("prompt"),
        paramsHash: h("params"),
        outputHash: h("output"),
        traceRoot: h("trace"),
        inputTokens: 10 + (i % 90),
        outputTokens: 64 + (i % 200),
        latencyMs: 50 + (i % 400),
        timestamp: 1_795_000_000_000n + BigInt(i) * 250n,
        sequence: BigInt(i),
        attestationHash,
      };
      lines.push(JSON.stringify(receiptToJson(signReceipt(receipt, key))));
      if (i % 500 === 0) progress.update(i);
    }
    progress.done();
    writeFileSync(join(out, "receipts.jsonl"), `${lines.join("\n")}\n`);
    writeFileSync(join(out, "receipt.json"), `${JSON.stringify(JSON.parse(lines[0] as string), null, 2)}\n`);
    ctx.output({ kind: "verinfer.receipt-example", dir: out, worker, count }, () =>
      [
        `wrote ${count} receipts signed by worker ${worker} to ${out}/receipts.jsonl (registry: ${out}/registry.json, key: ${out}/worker.key)`,
        `verify them: verinfer receipt verify ${out}/receipts.jsonl --registry ${out}/registry.json`,
      ].join("\n"),
    );
    return 0;
  },
};
