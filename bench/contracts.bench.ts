/**
 * Contracts: gas of the on-chain one-step check (TraceStepVerifier) for every operation at stories15M's
 * shape, measured by eth_estimateGas on anvil against a real ts-int trace (a transaction calling the
 * verifier directly: intrinsic gas and calldata included); gas of the game's moves, batch posting and
 * registration from `forge test --gas-report`; and what they imply for bonds and the capital that
 * defends one batch (docs/spec/otr.md §4.5).
 */
import { execFileSync } from "node:child_process";
import type { Hex } from "viem";
import { startAnvil } from "../src/chain/anvil.ts";
import { becomeSequencer, send } from "../src/chain/clients.ts";
import { CONTRACTS_DIR } from "../src/chain/compile.ts";
import { type ChainClients, clientsFor, coreParamsOf, deployCore } from "../src/chain/deploy.ts";
import { rollupAbi, traceStepVerifierAbi } from "../src/chain/generated/contracts.ts";
import { encodeStepEvidence } from "../src/chain/stepEvidence.ts";
import { deployStepVerifier } from "../src/chain/stepVerifier.ts";
import { PRESETS } from "../src/engine/llama2c/generateModel.ts";
import { generatedIntModel } from "../src/engine/llama2c/modelFiles.ts";
import { traceStepEvidence } from "../src/protocol/dispute/traceStep.ts";
import { bytesToHex, hexToBytes } from "../src/protocol/encoding/hex.ts";
import { keccakUtf8 } from "../src/protocol/encoding/keccak.ts";
import {
  attackBond,
  DEFAULT_OTR_PARAMS,
  type DisputeParams,
  defenseCapital,
} from "../src/protocol/params/otr.ts";
import { signReceipt } from "../src/protocol/receipt/verifyReceipt.ts";
import { encodeBatchData } from "../src/protocol/rollup/batchData.ts";
import type { TransformerShape } from "../src/protocol/verifiable/intModel.ts";
import { modelRoot } from "../src/protocol/verifiable/modelCommitment.ts";
import type { ExecutionContext } from "../src/protocol/verifiable/replay.ts";
import { indexOfStep, OP, OP_NAMES, type StepId } from "../src/protocol/verifiable/trace.ts";
import { verifiableGeneration } from "../src/protocol/verifiable/verifiableGeneration.ts";
import { devReceipt, ENCLAVE_KEY } from "../src/testing/devWorker.ts";

/** One measured one-step check. */
export interface OneStepGas {
  readonly op: string;
  readonly pos: number;
  readonly calldataBytes: number;
  readonly gas: number;
}

/**
 * One function of the forge gas report: gas of the call as a transaction (forge runs each test call
 * isolated: the 21,000 base and the calldata are included; the same numbers anvil reports as gasUsed).
 */
export interface ForgeGas {
  readonly contract: string;
  readonly fn: string;
  readonly calls: number;
  readonly median: number;
  readonly max: number;
}

/**
 * A batch post in steady state (not the contract's first: its counter word already written), as a
 * transaction on anvil, split into the 21,000 base, calldata (4 per zero byte, 16 per other) and
 * execution — unless EIP-7623's calldata floor (21,000 + 10 per zero byte, 40 per other; Prague) is
 * what the transaction paid, as data-heavy posts do: then execution is hidden under the floor (null).
 */
export interface BatchPostGas {
  readonly receipts: number;
  readonly dataBytes: number;
  readonly txGas: number;
  readonly calldataGas: number;
  readonly floorGas: number;
  readonly executionGas: number | null;
}

export interface ContractsBench {
  readonly model: { shape: string; seed: number; positions: number };
  readonly oneStep: OneStepGas[];
  readonly forge: ForgeGas[];
  readonly batchPosts: BatchPostGas[];
  readonly bonds: {
    readonly gasPriceGwei: number;
    readonly assumedOneStepGas: number;
    readonly measuredOneStepGas: number;
    readonly leafAttackBondWei: bigint;
    readonly measuredOneStepCostWei: bigint;
    readonly capitalWei: { attackers: number; assumed: bigint; measured: bigint }[];
  };
}

const SEED = 15;

/** Forge's gas report as rows (the project's Foundry tests exercise every function listed). */
function forgeGasReport(): ForgeGas[] {
  const out = execFileSync("npx", ["forge", "test", "--gas-report", "--json"], {
    cwd: CONTRACTS_DIR,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
    maxBuffer: 64 * 1024 * 1024,
  });
  const report = JSON.parse(out.slice(out.indexOf("["))) as {
    contract: string;
    functions: Record<string, { calls: number; median: number; max: number }>;
  }[];
  return report
    .filter((c) => c.contract.startsWith("src/"))
    .flatMap((c) =>
      Object.entries(c.functions).map(([fn, g]) => ({
        contract: c.contract.split(":")[1] as string,
        fn: fn.split("(")[0] as string,
        calls: g.calls,
        median: g.median,
        max: g.max,
      })),
    );
}

/** Posts batches of `sizes` receipts (0: empty data) after a first one, and measures each post. */
async function batchPostGas(c: ChainClients, sizes: readonly number[]): Promise<BatchPostGas[]> {
  const d = await deployCore(c, coreParamsOf(DEFAULT_OTR_PARAMS));
  await becomeSequencer(c, d, DEFAULT_OTR_PARAMS.rollup.sequencerBond);
  const chainId = BigInt(await c.public.getChainId());
  const out: BatchPostGas[] = [];
  for (const [i, n] of [0, ...sizes].entries()) {
    const signed = Array.from({ length: n }, (_, j) =>
      signReceipt(devReceipt(j, chainId, d.rollup), ENCLAVE_KEY),
    );
    const data = n === 0 ? new Uint8Array(0) : encodeBatchData(signed);
    const root = keccakUtf8(`batch ${i}`);
    const hash = await send(c, d.rollup, rollupAbi, "postBatch", [
      BigInt(i),
      root,
      Math.max(1, n),
      bytesToHex(data),
    ]);
    if (i === 0) continue; // the first post also writes the batch counter from zero
    const tx = await c.public.getTransaction({ hash });
    const receipt = await c.public.getTransactionReceipt({ hash });
    const input = hexToBytes(tx.input);
    const calldataGas = input.reduce((g, byte) => g + (byte === 0 ? 4 : 16), 0);
    const floorGas = 21_000 + (calldataGas / 4) * 10;
    const txGas = Number(receipt.gasUsed);
    const executionGas = txGas > floorGas ? txGas - 21_000 - calldataGas : null;
    out.push({ receipts: n, dataBytes: data.length, txGas, calldataGas, floorGas, executionGas });
  }
  return out;
}

export async function benchContracts(log: (line: string) => void, positions = 64): Promise<ContractsBench> {
  const shape = PRESETS["15m"] as TransformerShape;
  const model = generatedIntModel(shape, SEED);
  const context: ExecutionContext = {
    prompt: [1, 403, 1033],
    sampling: { temperature: 0.8, topP: 0.9, seed: 3 },
  };
  log(`contracts: a ts-int generation of ${positions} positions on a generated 15m-shape model`);
  const g = verifiableGeneration(model, context, positions - context.prompt.length + 1);
  const chain = await startAnvil({ gasLimit: 1_000_000_000n });
  try {
    const c = clientsFor(chain.rpcUrl, chain.chainId, chain.keys[0] as Hex);
    const verifier = await deployStepVerifier(c);
    const subject = {
      traceRoot: g.fields.traceRoot,
      leafCount: BigInt(g.outputs.length),
      worker: c.wallet.account.address,
      modelId: g.fields.weightsHash,
      weightsHash: modelRoot(model),
      promptHash: g.fields.promptHash,
      paramsHash: g.fields.paramsHash,
      batch: 0n,
      position: 0,
    };
    const L = shape.nLayers;
    const last = positions - 1;
    const parts = Math.ceil(shape.vocabSize / 1024);
    const at = (pos: number, layer: number, op: StepId["op"], part = 0): StepId => ({ pos, layer, op, part });
    const steps: StepId[] = [
      at(1, 0, OP.EMBED),
      ...[OP.ATT_NORM, OP.ATT_QUANT, OP.Q, OP.K, OP.V, OP.Q_ROPE, OP.K_ROPE].map((op) => at(1, 0, op)),
      at(0, 0, OP.ATTN),
      at(Math.floor(last / 2), 0, OP.ATTN),
      at(last, 0, OP.ATTN),
      ...[
        OP.ATTN_QUANT,
        OP.WO,
        OP.RESID1,
        OP.FFN_NORM,
        OP.FFN_QUANT,
        OP.W1,
        OP.W3,
        OP.SWIGLU,
        OP.SWIGLU_QUANT,
        OP.W2,
        OP.RESID2,
      ].map((op) => at(1, 0, op)),
      at(1, L, OP.FINAL_NORM),
      at(1, L, OP.FINAL_QUANT),
      at(1, L, OP.LOGITS, 0),
      at(1, L, OP.LOGITS, parts - 1),
      at(0, L, OP.SAMPLE), // the next prompt token
      at(last, L, OP.SAMPLE), // sampled with top-p over 32,000 logits
    ];
    const oneStep: OneStepGas[] = [];
    for (const id of steps) {
      const index = indexOfStep(shape, id);
      const evidence = encodeStepEvidence(
        model,
        index,
        traceStepEvidence(model, context, g.outputs, (j) => g.tree.proof(j), index),
      );
      const gas = await c.public.estimateContractGas({
        address: verifier,
        abi: traceStepVerifierAbi,
        functionName: "correctLeaf",
        args: [subject, BigInt(index), evidence],
        account: c.wallet.account,
      });
      const name = `${OP_NAMES[id.op]}${id.op === OP.LOGITS ? ` part ${id.part}` : ""}`;
      oneStep.push({ op: name, pos: id.pos, calldataBytes: (evidence.length - 2) / 2, gas: Number(gas) });
      log(`  ${name} at position ${id.pos}: ${Number(gas).toLocaleString("en-US")} gas`);
    }
    log("contracts: batch posts in steady state");
    const batchPosts = await batchPostGas(c, [0, 1, 100]);
    log("contracts: forge test --gas-report");
    const forge = forgeGasReport();
    const d = DEFAULT_OTR_PARAMS.dispute;
    const measuredOneStep = Math.max(...oneStep.map((r) => r.gas));
    const fn = (name: string) => forge.find((r) => r.contract === "DisputeGame" && r.fn === name)?.max ?? 0;
    // Moves as transactions: forge's tests include the protocol's 16-child dissection and an attack that
    // proves its node with a 4-hash path among 16 children, the largest moves.
    const measured: DisputeParams = {
      ...d,
      gas: {
        attack: fn("attack"),
        dissect: fn("dissect"),
        oneStep: measuredOneStep + fn("oneStep"),
      },
    };
    return {
      model: { shape: "15m", seed: SEED, positions },
      oneStep,
      forge,
      batchPosts,
      bonds: {
        gasPriceGwei: Number(d.bondGasPriceWei) / 1e9,
        assumedOneStepGas: d.gas.oneStep,
        measuredOneStepGas: measured.gas.oneStep,
        leafAttackBondWei: attackBond(d, 0),
        measuredOneStepCostWei: BigInt(measured.gas.oneStep) * d.bondGasPriceWei,
        capitalWei: [1, 10, 100].map((attackers) => ({
          attackers,
          assumed: defenseCapital(d, attackers),
          measured: defenseCapital(measured, attackers),
        })),
      },
    };
  } finally {
    await chain.stop();
  }
}
