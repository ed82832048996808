/**
 * ZK spot-checks: constraints per matmul row at stories15M's input length; Groth16 proving time and peak
 * memory at about 2^13, 2^14, 2^15 and 2^16 constraints (each run a fresh process: cold = its first
 * proof, warm = its second); JS verification time; proof size; and gas on anvil of the whole spot-check
 * path at stories15M's shape — SpotChecks.prove through ZkSliceVerifier (Merkle paths of the traced
 * values + Groth16), the Groth16 verifier alone, and a binding challenge (Poseidon recomputed on chain).
 * Gas is each transaction's gasUsed (never eth_estimateGas: with too little gas a pairing precompile
 * fails inside a staticcall and the verifier returns false instead of reverting).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { r1cs } from "snarkjs";
import type { Hex } from "viem";
import { encodeFunctionData } from "viem";
import { send } from "../src/chain/clients.ts";
import { CONTRACTS_DIR, compileContracts } from "../src/chain/compile.ts";
import { type ChainClients, deployContract } from "../src/chain/deploy.ts";
import {
  rollupAbi,
  sliceProofVerifierAbi,
  spotChecksAbi,
  zkSliceVerifierAbi,
} from "../src/chain/generated/contracts.ts";
import { openedSubject } from "../src/chain/spotChecks.ts";
import { bindingEvidence, encodeSliceProof, selectedSlice } from "../src/chain/zkSpotChecks.ts";
import { PRESETS } from "../src/engine/llama2c/generateModel.ts";
import { generatedIntModel } from "../src/engine/llama2c/modelFiles.ts";
import { bytesToHex } from "../src/protocol/encoding/hex.ts";
import { DEFAULT_OTR_PARAMS } from "../src/protocol/params/otr.ts";
import { checkReceipt, pureSecp256k1, signReceipt } from "../src/protocol/receipt/verifyReceipt.ts";
import { type SealedBatch, Sequencer } from "../src/protocol/rollup/sequencer.ts";
import type { TransformerShape } from "../src/protocol/verifiable/intModel.ts";
import { modelRoot } from "../src/protocol/verifiable/modelCommitment.ts";
import { OP_NAMES, stepsPerPosition } from "../src/protocol/verifiable/trace.ts";
import { verifiableGeneration } from "../src/protocol/verifiable/verifiableGeneration.ts";
import { startDevChain, TOKEN } from "../src/testing/devChain.ts";
import { devReceipt, devRegistry, ENCLAVE_KEY } from "../src/testing/devWorker.ts";
import { ensureCompiled, SPOTCHECK_CIRCUIT, setupFiles } from "../src/zk/circuit.ts";
import { SliceProver, verifySliceProof } from "../src/zk/prover.ts";
import { SWEEP, sweepZkey } from "../src/zk/setup.ts";
import { proofWords } from "../src/zk/solidityVerifier.ts";

export interface ProveSize {
  readonly n: number;
  readonly rows: number;
  readonly constraints: number;
  /** log2 of the domain snarkjs proves over (the next power of two above constraints + public inputs). */
  readonly power: number;
  /** Per fresh-process run: cold and warm proof times (ms) and peak resident memory (MiB). */
  readonly runs: { coldMs: number; warmMs: number; maxRssMiB: number }[];
}

export interface ZkBench {
  readonly perRowConstraints: number;
  readonly sharedConstraints: number;
  readonly sizes: ProveSize[];
  readonly missing: string[];
  readonly verifyMs: number[];
  /** The product's path: SliceProver on one worker thread (a single-threaded curve), 2^14; the first
   * proof of the thread is listed first. */
  readonly workerProveMs: number[];
  readonly proofBytes: number;
  /** Per obligation proven on anvil: the selected operation and the gas of each part. */
  readonly obligations: ObligationGas[];
}

export interface ObligationGas {
  readonly op: string;
  readonly spotCheckProve: number;
  readonly verifySlice: number;
  readonly groth16: number;
  readonly bindingChallenge: number;
  /** The alternative without a SNARK (test/doubles/PlainSliceVerifier.sol): same paths, rows recomputed. */
  readonly recomputeWithoutSnark: number;
  readonly calldataBytes: number;
}

const OBLIGATIONS = 4;

const runner = new URL("./zkProveRunner.ts", import.meta.url).pathname;

function proveRuns(n: number, rows: number, zkey: string, runs: number): ProveSize["runs"] {
  return Array.from({ length: runs }, (_, i) => {
    const out = execFileSync(
      process.execPath,
      ["--import", "tsx", runner, String(n), String(rows), zkey, String(i + 1)],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      },
    );
    return JSON.parse(out.trim().split("\n").at(-1) as string);
  });
}

/** Gas of a transaction (view functions included), sent with a generous limit. */
async function gasOf(c: ChainClients, to: Hex, data: Hex): Promise<number> {
  const hash = await c.wallet.sendTransaction({ to, data, gas: 20_000_000n } as never);
  return Number((await c.public.waitForTransactionReceipt({ hash })).gasUsed);
}

export async function benchZk(log: (line: string) => void, runs = 3): Promise<ZkBench> {
  const sizes: ProveSize[] = [];
  const missing: string[] = [];
  for (const c of SWEEP) {
    const zkey = c === SPOTCHECK_CIRCUIT ? setupFiles.zkey : sweepZkey(c);
    const compiled = await ensureCompiled(c);
    const info = await r1cs.info(compiled.r1cs);
    const power = Math.ceil(Math.log2(info.nConstraints + info.nPubInputs + info.nOutputs + 1));
    if (!existsSync(zkey)) {
      missing.push(`MatmulSlice(${c.n}, ${c.rows}): no proving key (run 'verinfer zk setup --bench-keys')`);
      sizes.push({ ...c, constraints: info.nConstraints, power, runs: [] });
      continue;
    }
    log(
      `zk: proving MatmulSlice(${c.n}, ${c.rows}), ${info.nConstraints} constraints, ${runs} fresh processes`,
    );
    sizes.push({ ...c, constraints: info.nConstraints, power, runs: proveRuns(c.n, c.rows, zkey, runs) });
  }
  const at = (n: number, rows: number) => sizes.find((s) => s.n === n && s.rows === rows)?.constraints ?? 0;
  const perRowConstraints = (at(288, 8) - at(288, 3)) / 5;

  log("zk: a 15m-shape model, a ts-int generation and the spot-check contracts on anvil");
  const shape = PRESETS["15m"] as TransformerShape;
  const model = generatedIntModel(shape, 15);
  const g = verifiableGeneration(
    model,
    { prompt: [1, 403, 1033], sampling: { temperature: 0.8, topP: 0.9, seed: 3 } },
    2,
  );
  const P = { ...DEFAULT_OTR_PARAMS.spotcheck, rhoPpm: 1_000_000 };
  const dev = await startDevChain({
    workerStake: 100n * TOKEN,
    stepsPerPosition: stepsPerPosition(shape),
    weightsHash: modelRoot(model),
    challengeWindowSeconds: 86_400n,
    spotChecks: P,
  });
  const prover = await SliceProver.open();
  try {
    const { chain, owner, d } = dev;
    const spot = d.spotChecks as Hex;
    const plainVerifier = compileContracts(CONTRACTS_DIR, ["test/doubles"]).PlainSliceVerifier;
    if (!plainVerifier) throw new Error("PlainSliceVerifier did not compile");
    const plain = await deployContract(owner, plainVerifier.abi, plainVerifier.bytecode, []);
    const registry = devRegistry(BigInt(chain.chainId), d.rollup, 100n * TOKEN, 0n, true, modelRoot(model));
    const sequencer = new Sequencer({ ...DEFAULT_OTR_PARAMS.rollup, maxBatchReceipts: 8 }, 4096);
    // Four receipts of the same generation (distinct requests): four obligations, four selected slices.
    const signed = Array.from({ length: OBLIGATIONS }, (_, i) => {
      const s = signReceipt(devReceipt(i, BigInt(chain.chainId), d.rollup, g.fields), ENCLAVE_KEY);
      const admitted = sequencer.admit(s, checkReceipt(s, registry, pureSecp256k1), i);
      if (!admitted.ok) throw new Error(admitted.error.message);
      return s;
    });
    const batch = sequencer.flush(OBLIGATIONS) as SealedBatch;
    await send(owner, d.rollup, rollupAbi, "postBatch", [
      0n,
      batch.root,
      OBLIGATIONS,
      bytesToHex(batch.data),
    ]);
    await owner.public.request({ method: "anvil_mine", params: ["0x4"] } as never);
    await send(owner, spot, spotChecksAbi, "fixSeed", [0n]);
    const trace = { outputs: g.outputs, tree: g.tree };
    const workerProveMs: number[] = [];
    const verifyMs: number[] = [];
    const obligations: ObligationGas[] = [];
    const groth16 = (await owner.public.readContract({
      address: d.zkVerifier as Hex,
      abi: zkSliceVerifierAbi,
      functionName: "groth16",
    })) as Hex;
    for (const [p, s] of signed.entries()) {
      const { chainId, settlement, ...r } = s.receipt;
      await send(owner, spot, spotChecksAbi, "open", [0n, p, r, s.signature, batch.tree.proof(p)]);
      const o = (await owner.public.readContract({
        address: spot,
        abi: spotChecksAbi,
        functionName: "obligation",
        args: [0n, p],
      })) as { selector: Hex };
      const subject = await openedSubject(owner, spot, 0n, p);
      const { id, values } = selectedSlice(model, trace, o.selector);
      let proof = await prover.prove(values);
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now();
        proof = await prover.prove(values);
        workerProveMs.push(performance.now() - t0);
      }
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        if (!(await verifySliceProof(proof))) throw new Error("the proof does not verify");
        verifyMs.push(performance.now() - t0);
      }
      const words = proofWords(proof.proof);
      const bytes = encodeSliceProof(model, trace, o.selector, { words, commitment: proof.commitment });
      const gasGroth16 = await gasOf(
        owner,
        groth16,
        encodeFunctionData({
          abi: sliceProofVerifierAbi,
          functionName: "verifyProof",
          args: [words, BigInt(proof.commitment)],
        } as never),
      );
      const verifySlice = await gasOf(
        owner,
        d.zkVerifier as Hex,
        encodeFunctionData({
          abi: zkSliceVerifierAbi,
          functionName: "verifySlice",
          args: [subject, o.selector, bytes],
        } as never),
      );
      const { weights, weightsProof } = bindingEvidence(model, id);
      const binding = await gasOf(
        owner,
        d.zkVerifier as Hex,
        encodeFunctionData({
          abi: zkSliceVerifierAbi,
          functionName: "bindingHolds",
          args: [subject, o.selector, bytes, weights, weightsProof],
        } as never),
      );
      // The no-SNARK alternative: the same paths, the rows recomputed in Solidity.
      const plainArgs = [
        subject,
        o.selector,
        encodeSliceProof(model, trace, o.selector, { words: new Array(8).fill(0n), commitment: "0" }),
        weights,
        weightsProof,
      ];
      const plainCall = {
        address: plain,
        abi: plainVerifier.abi,
        functionName: "verifyPlain",
        args: plainArgs,
      };
      if (!(await owner.public.readContract(plainCall as never)))
        throw new Error("the plain recomputation disagrees");
      const plainGas = await gasOf(owner, plain, encodeFunctionData(plainCall as never));
      const hash = await owner.wallet.writeContract({
        address: spot,
        abi: spotChecksAbi,
        functionName: "prove",
        args: [0n, p, subject, bytes],
        gas: 5_000_000n,
      } as never);
      const proveGas = Number((await owner.public.waitForTransactionReceipt({ hash })).gasUsed);
      const status = (
        (await owner.public.readContract({
          address: spot,
          abi: spotChecksAbi,
          functionName: "obligation",
          args: [0n, p],
        })) as { status: number }
      ).status;
      if (status !== 2) throw new Error(`obligation ${p} was not met (status ${status})`);
      obligations.push({
        op: OP_NAMES[id.op] as string,
        spotCheckProve: proveGas,
        verifySlice,
        groth16: gasGroth16,
        bindingChallenge: binding,
        recomputeWithoutSnark: plainGas,
        calldataBytes: (bytes.length - 2) / 2,
      });
      log(`zk: obligation ${p} (${OP_NAMES[id.op]}): prove ${proveGas} gas`);
    }
    return {
      perRowConstraints,
      sharedConstraints: at(288, 3) - 3 * perRowConstraints,
      sizes,
      missing,
      verifyMs,
      workerProveMs,
      proofBytes: 256,
      obligations,
    };
  } finally {
    await prover.close();
    dev.chain.stop();
  }
}
