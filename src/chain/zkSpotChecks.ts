/**
 * ZK spot-checks on chain (contracts/src/zk/): deployment of the Groth16 verifier, Poseidon and the
 * ZkSliceVerifier behind SpotChecks, and the encodings a worker (its proof submission) and a challenger
 * (a binding challenge) send. The slice values come from the worker's own trace, so what it proves is
 * what its receipt committed.
 */
import { encodeAbiParameters, type Hex, parseAbiParameters } from "viem";
import { bytesToHex } from "../protocol/encoding/hex.ts";
import {
  SLICE_ROWS,
  type SliceId,
  type SliceValues,
  sliceMatrix,
  sliceOf,
  tracedSlice,
} from "../protocol/spotcheck/slice.ts";
import type { IntModel } from "../protocol/verifiable/intModel.ts";
import { modelLeafIndex, shapeFields } from "../protocol/verifiable/modelCommitment.ts";
import { stepsPerPosition, type TraceTree } from "../protocol/verifiable/trace.ts";
import { type ChainClients, deployContract } from "./deploy.ts";
import {
  poseidonT17Abi,
  poseidonT17Bytecode,
  sliceProofVerifierAbi,
  sliceProofVerifierBytecode,
  zkSliceVerifierAbi,
  zkSliceVerifierBytecode,
} from "./generated/contracts.ts";
import { poseidonConstantCode } from "./poseidon.ts";
import { MATMUL_TENSOR, modelTreeOf, packRows } from "./stepEvidence.ts";
import { deployData } from "./stepVerifier.ts";

export const SLICE_PROOF_ABI = parseAbiParameters(
  "(uint256[8] proof, uint256 commitment, uint32[8] shape, bytes32[] shapeProof, bytes input, bytes32[] inputProof, bytes output, bytes32[] outputProof)",
);

/** Deploys Poseidon (its constants first), the Groth16 verifier and ZkSliceVerifier; returns the latter. */
export async function deployZkSliceVerifier(
  c: ChainClients,
): Promise<{ verifier: Hex; poseidon: Hex; groth16: Hex }> {
  const [low, high, mds] = poseidonConstantCode();
  const constants = [await deployData(c, low), await deployData(c, high), await deployData(c, mds)];
  const poseidon = await deployContract(c, poseidonT17Abi, poseidonT17Bytecode, constants);
  const groth16 = await deployContract(c, sliceProofVerifierAbi, sliceProofVerifierBytecode, []);
  const verifier = await deployContract(c, zkSliceVerifierAbi, zkSliceVerifierBytecode, [groth16, poseidon]);
  return { verifier, poseidon, groth16 };
}

/** A worker's trace as it keeps it for its obligations: every step's output and the tree over them. */
export interface KeptTrace {
  readonly outputs: readonly Uint8Array[];
  readonly tree: TraceTree;
}

/** The slice an obligation's selector picks in a receipt of `positions` positions, and its values. */
export function selectedSlice(
  model: IntModel,
  trace: KeptTrace,
  selector: Hex,
): { id: SliceId; values: SliceValues; inputIndex: number; outputIndex: number } {
  const positions = trace.outputs.length / stepsPerPosition(model.shape);
  const id = sliceOf(model.shape, positions, BigInt(selector));
  return { id, ...tracedSlice(model, trace.outputs, id) };
}

/** The worker's submission for SpotChecks.prove: the proof, its commitment and the traced values. */
export function encodeSliceProof(
  model: IntModel,
  trace: KeptTrace,
  selector: Hex,
  proof: { readonly words: readonly bigint[]; readonly commitment: string },
): Hex {
  const { inputIndex, outputIndex } = selectedSlice(model, trace, selector);
  return encodeAbiParameters(SLICE_PROOF_ABI, [
    {
      proof: proof.words as unknown as readonly [
        bigint,
        bigint,
        bigint,
        bigint,
        bigint,
        bigint,
        bigint,
        bigint,
      ],
      commitment: BigInt(proof.commitment),
      shape: shapeFields(model.shape),
      shapeProof: modelTreeOf(model).proof(0).map(bytesToHex),
      input: bytesToHex(trace.outputs[inputIndex] as Uint8Array),
      inputProof: trace.tree.proof(inputIndex).map(bytesToHex),
      output: bytesToHex(trace.outputs[outputIndex] as Uint8Array),
      outputProof: trace.tree.proof(outputIndex).map(bytesToHex),
    },
  ]);
}

/** What a binding challenge adds: the slice's weight rows with their range proof in the model tree. */
export function bindingEvidence(model: IntModel, id: SliceId): { weights: Hex; weightsProof: Hex[] } {
  const w = sliceMatrix(model, id.layer, id.op);
  const tensor = MATMUL_TENSOR[id.op] as number;
  const first = modelLeafIndex(model.shape, tensor, id.layer, id.row0);
  return {
    weights: bytesToHex(packRows(w, id.row0, id.row0 + SLICE_ROWS)),
    weightsProof: modelTreeOf(model).rangeProof(first, SLICE_ROWS).map(bytesToHex),
  };
}
