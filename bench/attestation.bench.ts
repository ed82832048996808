/**
 * Attestation and receipts: full NVIDIA evidence verifications per second (pure-JS ECDSA vs
 * node:crypto) and receipt verifications per second per core (pure-JS vs native libsecp256k1 +
 * keccak), single-threaded and across cores. Inputs are real: NVIDIA's 2023 H100 sample with its two
 * RIMs, the 8-GPU PPCIE evidence list, and receipts signed by an example worker.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadEvidence, loadSuppliedCollateral, loadTrustAnchors } from "../src/attestation/evidenceFiles.ts";
import { loadNativeSecp256k1 } from "../src/crypto/nativeSecp256k1.ts";
import { nodeEcdsa } from "../src/crypto/nodeEcdsa.ts";
import { defaultThreads } from "../src/parallel/workerPool.ts";
import { parseEvidenceJson } from "../src/protocol/attestation/evidenceJson.ts";
import { DEFAULT_POLICY } from "../src/protocol/attestation/policy.ts";
import { type EcdsaVerifier, pureEcdsa } from "../src/protocol/attestation/signatures.ts";
import { verifyGpuEvidence } from "../src/protocol/attestation/verifyGpuEvidence.ts";
import { bytesToHex, type Hex, hexToBytes } from "../src/protocol/encoding/hex.ts";
import { keccak256, keccakUtf8 } from "../src/protocol/encoding/keccak.ts";
import {
  addressOf,
  type Receipt,
  receiptDigest,
  receiptToJson,
  validateSignedReceipt,
} from "../src/protocol/receipt/receipt.ts";
import { DEFAULT_REPLAY_WINDOW } from "../src/protocol/receipt/replayGuard.ts";
import {
  parseRegistry,
  pureSecp256k1,
  type Secp256k1Backend,
} from "../src/protocol/receipt/verifyReceipt.ts";
import { deriveSeed } from "../src/protocol/rng/deriveSeed.ts";
import { verifyReceiptStream } from "../src/receipts/verifyReceipts.ts";
import { verifyItem } from "../src/receipts/verifyTask.ts";

/** Results. */
export interface AttestationBench {
  readonly evidence: { verifier: string; fullPerSecond: number; reportAndChainPerSecond: number }[];
  readonly receipts: {
    backend: string;
    threads: number;
    receipts: number;
    perSecond: number;
    perSecondPerCore: number;
  }[];
  /** `verinfer receipt verify` on files of growing size: peak resident memory of the whole process. */
  readonly streaming: { fileMiB: number; receipts: number; seconds: number; peakRssMiB: number }[];
}

const MEMORY_RUNNER = fileURLToPath(new URL("./cliMemoryRunner.ts", import.meta.url));

/** Peak memory of `receipt verify` on the receipts repeated `copies` times (duplicates are verdicts too). */
function streamingRun(raw: readonly string[], registryJson: unknown, copies: number) {
  const dir = mkdtempSync(join(tmpdir(), "verinfer-bench-receipts-"));
  try {
    const file = join(dir, "receipts.jsonl");
    const text = `${raw.join("\n")}\n`;
    for (let i = 0; i < copies; i++) appendFileSync(file, text);
    writeFileSync(join(dir, "registry.json"), JSON.stringify(registryJson));
    const t = performance.now();
    const out = execFileSync(
      process.execPath,
      [
        "--import",
        "tsx",
        MEMORY_RUNNER,
        "receipt",
        "verify",
        file,
        "--registry",
        join(dir, "registry.json"),
        "--json",
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 1 << 30 },
    );
    const seconds = (performance.now() - t) / 1000;
    const { peakRssMiB } = JSON.parse(out.trim().split("\n").at(-1) as string) as { peakRssMiB: number };
    return { fileMiB: statSync(file).size / 2 ** 20, receipts: raw.length * copies, seconds, peakRssMiB };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function rate(iterations: number, f: () => void): number {
  f();
  const t = performance.now();
  for (let i = 0; i < iterations; i++) f();
  return iterations / ((performance.now() - t) / 1000);
}

/** Signs receipts with libsecp256k1 (the bench needs tens of thousands; verification is what is measured). */
export function exampleReceipts(count: number) {
  const require = createRequire(import.meta.url);
  const secp = require("secp256k1/bindings.js") as {
    ecdsaSign(msg32: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number };
    publicKeyCreate(key: Uint8Array, compressed: boolean): Uint8Array;
  };
  const key = keccak256(Uint8Array.of(1));
  const publicKey = secp.publicKeyCreate(key, false);
  const worker = addressOf(publicKey);
  const modelId = keccakUtf8("model");
  const weightsHash = keccakUtf8("weights");
  const engineHash = keccakUtf8("engine");
  const attestationHash = keccakUtf8("evidence");
  const settlement: Hex = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
  const registryJson = {
    chainId: "31337",
    settlement,
    minStake: "1",
    workers: [
      {
        address: worker,
        publicKey: bytesToHex(publicKey),
        attested: true,
        attestationHash,
        stake: "2",
        modelId,
      },
    ],
    models: [{ modelId, weightsHash, engines: [engineHash] }],
  };
  const raw = Array.from({ length: count }, (_, i) => {
    const receipt: Receipt = {
      version: 1,
      chainId: 31337n,
      settlement,
      requestId: deriveSeed(1, "request", i),
      worker,
      modelId,
      weightsHash,
      engineHash,
      promptHash: deriveSeed(1, "prompt", i),
      paramsHash: deriveSeed(1, "params", i),
      outputHash: deriveSeed(1, "output", i),
      traceRoot: deriveSeed(1, "trace", i),
      inputTokens: 12,
      outputTokens: 128,
      latencyMs: 200,
      timestamp: 1_795_000_000_000n + BigInt(i),
      sequence: BigInt(i + 1),
      attestationHash,
    };
    const { signature, recid } = secp.ecdsaSign(receiptDigest(receipt), key);
    const sig = new Uint8Array(65);
    sig.set(signature);
    sig[64] = 27 + recid;
    return JSON.stringify(receiptToJson({ receipt, signature: bytesToHex(sig) }));
  });
  return { raw, registryJson };
}

/** Runs the suite. */
export async function benchAttestation(
  dataDir: string,
  log: (line: string) => void,
): Promise<AttestationBench> {
  const nv = join(dataDir, "nvtrust");
  const anchors = loadTrustAnchors(join(nv, "roots"));
  const [v1] = loadEvidence({
    report: join(nv, "nvtrust-v1.0-samples/attestationReport.txt"),
    chain: join(nv, "nvtrust-v1.0-samples/gpuAkCertChain.txt"),
  });
  const collateral = loadSuppliedCollateral(
    [
      join(nv, "nvtrust-samples/Driver_RIM_test_no_gpu.swidtag"),
      join(nv, "nvtrust-samples/1010_0200_882_96005E0001_test_no_gpu.swidtag"),
    ],
    [],
  );
  const list = parseEvidenceJson(readFileSync(join(nv, "ppcie-8gpu/gpu_evidence.json"), "utf8"));
  if (!v1 || !list.ok) throw new Error("evidence files missing");
  const gpu = list.value[0] as (typeof list.value)[number];
  const nonce = hexToBytes("0x4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e");
  const evidence: AttestationBench["evidence"] = [];
  for (const verifier of [pureEcdsa, nodeEcdsa] as EcdsaVerifier[]) {
    const full = rate(verifier === pureEcdsa ? 5 : 30, () => {
      const r = verifyGpuEvidence(v1, collateral, {
        expectedNonce: nonce,
        at: Date.UTC(2024, 5, 1),
        policy: DEFAULT_POLICY,
        anchors,
        verifier,
      });
      if (!r.overall) throw new Error("bench evidence must verify");
    });
    const light = rate(verifier === pureEcdsa ? 10 : 100, () => {
      const r = verifyGpuEvidence(
        gpu,
        { rims: [], ocsp: [], mode: "supplied" },
        {
          expectedNonce: hexToBytes(`0x${gpu.nonce}`),
          at: Date.UTC(2026, 10, 22),
          policy: { ...DEFAULT_POLICY, requireRims: false },
          anchors,
          verifier,
        },
      );
      if (!r.overall) throw new Error("bench evidence must verify");
    });
    evidence.push({ verifier: verifier.name, fullPerSecond: full, reportAndChainPerSecond: light });
    log(`  evidence, ${verifier.name}: ${full.toFixed(1)} full/s, ${light.toFixed(1)} report+chain/s`);
  }

  const count = 40_000;
  const { raw, registryJson } = exampleReceipts(count);
  const registry = parseRegistry(registryJson);
  if (!registry.ok) throw new Error(registry.error.message);
  const receipts: AttestationBench["receipts"] = [];
  const native = loadNativeSecp256k1();
  for (const backend of [pureSecp256k1, ...(native ? [native] : [])] as Secp256k1Backend[]) {
    const n = backend === pureSecp256k1 ? 1000 : 10_000;
    let i = 0;
    const perSecond = rate(n, () => {
      if (!verifyItem(raw[i++ % raw.length] as string, registry.value, backend).ok)
        throw new Error("bench receipt must verify");
    });
    receipts.push({ backend: backend.name, threads: 1, receipts: n, perSecond, perSecondPerCore: perSecond });
    log(`  receipts, ${backend.name}, 1 thread: ${Math.round(perSecond)}/s`);
  }
  if (native) {
    // The ceiling: libsecp256k1's key recovery alone (what checkReceipt and ecrecover do) on the same digest and signature.
    const signed = validateSignedReceipt(JSON.parse(raw[0] as string));
    if (!signed.ok) throw new Error(signed.error.message);
    const digest = receiptDigest(signed.value.receipt);
    const sig = hexToBytes(signed.value.signature);
    const rs = sig.subarray(0, 64);
    const recoveryId = (sig[64] as number) - 27;
    const perSecond = rate(10_000, () => {
      if (!native.recover(digest, rs, recoveryId)) throw new Error("bench signature must recover");
    });
    receipts.push({
      backend: `${native.name}, signature only`,
      threads: 1,
      receipts: 10_000,
      perSecond,
      perSecondPerCore: perSecond,
    });
  }
  const threads = defaultThreads();
  if (native && threads > 1) {
    // Two runs of different size: their difference is the steady-state rate, without worker start-up.
    const timed = async (items: readonly string[]) => {
      const t = performance.now();
      async function* entries() {
        for (const [i, text] of items.entries()) yield { where: String(i), text };
      }
      let failed = 0;
      await verifyReceiptStream(
        entries(),
        { registryJson, registry: registry.value, threads, pure: false, replayWindow: DEFAULT_REPLAY_WINDOW },
        (_, v) => {
          if (!v.ok) failed++;
        },
      );
      if (failed) throw new Error("bench receipts must verify");
      return (performance.now() - t) / 1000;
    };
    const small = raw.slice(0, count / 5);
    const tSmall = await timed(small);
    const tAll = await timed(raw);
    const steady = (count - small.length) / (tAll - tSmall);
    receipts.push({
      backend: `${native.name}, incl. start-up`,
      threads,
      receipts: count,
      perSecond: count / tAll,
      perSecondPerCore: count / tAll / threads,
    });
    receipts.push({
      backend: `${native.name}, steady state`,
      threads,
      receipts: count - small.length,
      perSecond: steady,
      perSecondPerCore: steady / threads,
    });
    log(
      `  receipts, ${threads} threads: ${Math.round(count / tAll)}/s incl. start-up, ${Math.round(steady)}/s steady`,
    );
  }
  const streaming = [1, 4].map((copies) => {
    const run = streamingRun(raw, registryJson, copies);
    log(
      `  receipt verify, ${run.fileMiB.toFixed(0)} MiB: peak ${run.peakRssMiB.toFixed(0)} MiB in ${run.seconds.toFixed(1)} s`,
    );
    return run;
  });
  return { evidence, receipts, streaming };
}
