/**
 * Proving and verifying spot-check slices. Proofs are made on worker threads (proveTask.ts) against the
 * committed proving key, after checking that the key was made for the circuit as compiled now; they are
 * verified in JavaScript with the committed verification key (or on chain: src/chain/zkSpotChecks.ts).
 */
import { readFileSync } from "node:fs";
import { type Groth16Proof, groth16 } from "snarkjs";
import { VerinferError } from "../errors.ts";
import { WorkerPool } from "../parallel/workerPool.ts";
import { type SliceValues, sliceCommitment } from "../protocol/spotcheck/slice.ts";
import { ensureCompiled, SPOTCHECK_CIRCUIT, setupFiles } from "./circuit.ts";
import { setupMismatch } from "./setup.ts";
import type { VerificationKey } from "./solidityVerifier.ts";
import { circuitInput } from "./witness.ts";

/** A proof of a slice and its one public input, the slice commitment (decimal). */
export interface SliceProof {
  readonly proof: Groth16Proof;
  readonly commitment: string;
}

type Proved = { proof: Groth16Proof; publicSignals: string[] };

/** Proves slices on `threads` worker threads (one by default: a proof already uses the machine well). */
export class SliceProver {
  private constructor(private readonly pool: WorkerPool<Record<string, unknown>, Proved>) {}

  /**
   * Compiles the circuit if this checkout has not, and refuses a setup that is not the circuit's
   * (ZK_SETUP_MISMATCH). A worker does this before it is ready: on a fresh checkout compiling took
   * minutes on loaded cores, and a devnet's honest workers, proving their first obligations only once
   * it was done, missed their deadlines and were slashed.
   */
  static async prepare(): Promise<void> {
    const mismatch = await setupMismatch();
    if (mismatch) throw new VerinferError("ZK_SETUP_MISMATCH", mismatch);
  }

  static async open(threads = 1): Promise<SliceProver> {
    await SliceProver.prepare();
    const circuit = await ensureCompiled(SPOTCHECK_CIRCUIT);
    const files = { wasm: circuit.wasm, zkey: setupFiles.zkey };
    return new SliceProver(new WorkerPool(new URL("./proveTask.ts", import.meta.url), files, threads));
  }

  /** Proves a slice; the proof's public input is checked to be the slice's commitment. */
  async prove(values: SliceValues): Promise<SliceProof> {
    const [out] = await this.pool.run([circuitInput(values)]);
    const commitment = sliceCommitment(values).toString();
    if (out?.publicSignals.length !== 1 || out.publicSignals[0] !== commitment)
      throw new VerinferError("ZK_PROOF_INVALID", "the prover's public input is not the slice's commitment");
    return { proof: out.proof, commitment };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

let vkey: VerificationKey | null = null;

/** Verifies a slice proof in JavaScript against the committed verification key. */
export async function verifySliceProof(p: SliceProof): Promise<boolean> {
  vkey ??= JSON.parse(readFileSync(setupFiles.vkey, "utf8")) as VerificationKey;
  return groth16.verify(vkey, [p.commitment], p.proof);
}
