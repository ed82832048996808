import { readFileSync, writeFileSync } from "node:fs";
import type { Hex } from "viem";
import { encodeAbiParameters, keccak256 } from "viem";
import { publicClientFor } from "../../chain/deploy.ts";
import { readDeployment } from "../../chain/deploymentFile.ts";
import { sliceProofVerifierAbi, zkSliceVerifierAbi } from "../../chain/generated/contracts.ts";
import { type KeptTrace, selectedSlice } from "../../chain/zkSpotChecks.ts";
import { loadCheckpoint, quantizeCheckpoint } from "../../engine/llama2c/modelFiles.ts";
import { readTraceFile } from "../../engine/traceFile.ts";
import { VerinferError } from "../../errors.ts";
import { bytesToHex } from "../../protocol/encoding/hex.ts";
import {
  SLICE_OPS,
  SLICE_ROWS,
  type SliceValues,
  sliceCommitment,
  sliceOpRows,
  sliceUnsupported,
  tracedSlice,
} from "../../protocol/spotcheck/slice.ts";
import type { IntModel } from "../../protocol/verifiable/intModel.ts";
import { modelRoot } from "../../protocol/verifiable/modelCommitment.ts";
import { replayExecution } from "../../protocol/verifiable/replay.ts";
import { leafHash, OP_NAMES, type OpCode, stepAt, TraceTree } from "../../protocol/verifiable/trace.ts";
import { jsonText } from "../../report/json.ts";
import { renderTable } from "../../report/table.ts";
import { ensureCompiled, readManifest, SPOTCHECK_CIRCUIT } from "../../zk/circuit.ts";
import { SliceProver, verifySliceProof } from "../../zk/prover.ts";
import { benchKeys, setupMismatch, trustedSetup } from "../../zk/setup.ts";
import { proofWords } from "../../zk/solidityVerifier.ts";
import type { CommandSpec, GroupSpec } from "../framework/command.ts";

/** A proof file: the slice, its values (so anyone can recompute the commitment) and the proof. */
interface ProofFile {
  readonly kind: "verinfer.zk-slice-proof";
  readonly circuit: { readonly n: number; readonly rows: number; readonly sourceHash: string };
  readonly traceRoot: string;
  readonly modelRoot: string;
  readonly slice: {
    readonly pos: number;
    readonly layer: number;
    readonly op: string;
    readonly row0: number;
  };
  readonly values: {
    readonly k: number;
    readonly a: number[];
    readonly q: number[][];
    readonly scale: number[];
    readonly y: number[];
  };
  readonly commitment: string;
  readonly proof: unknown;
  /** The proof as SliceProofVerifier's eight words (decimal). */
  readonly words: string[];
  readonly proveMs: number;
}

/** The trace's step outputs, re-executed on the model; the root must be the file's. */
function keptTrace(model: IntModel, file: string): KeptTrace {
  const t = readTraceFile(file);
  const root = modelRoot(model);
  if (t.modelRoot !== root)
    throw new VerinferError(
      "TRACE_MODEL_MISMATCH",
      `${file} was recorded on model ${t.modelRoot}, not ${root}`,
    );
  const context = { prompt: t.tokens.slice(0, t.promptTokens), sampling: t.sampling };
  const { steps } = replayExecution(model, context, t.tokens.length);
  const tree = new TraceTree(steps.map((s) => leafHash(s.id, s.output)));
  if (bytesToHex(tree.root) !== t.root)
    throw new VerinferError(
      "TRACE_MISMATCH",
      `${file}: its root is not the root of its tokens re-executed on the model (run 'verinfer trace verify')`,
    );
  return { outputs: steps.map((s) => s.output), tree };
}

/** The selector SpotChecks gives the receipt at `position` of a batch: keccak256(abi.encode(seed, root, position)). */
function obligationSelector(seed: Hex, batchRoot: Hex, position: number): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }],
      [seed, batchRoot, BigInt(position)],
    ),
  );
}

const hex32 = (name: string, v: string | undefined): Hex => {
  if (!v || !/^0x[0-9a-fA-F]{64}$/.test(v))
    throw new VerinferError("INPUT_INVALID", `--${name} must be a 0x-prefixed 32-byte hex string`);
  return v.toLowerCase() as Hex;
};

const proveCommand: CommandSpec = {
  name: "prove",
  summary: "prove a slice of a ts-int trace with Groth16 (the worker's side of a spot-check)",
  description: [
    "Re-executes the trace's tokens on the model (its root must be the file's), takes the slice — three rows",
    "of one matmul step, the circuit's size — and proves it on a worker thread with the committed setup",
    "(circuits/setup/). The slice is chosen like SpotChecks chooses it: by an obligation's --selector, or by",
    "--selected-by BATCH_ROOT with --seed and --position (the selector is keccak256(seed, root, position));",
    "or named directly with --step (a matmul leaf index) and --row. Writes a proof file with the slice's",
    "values, the commitment (the proof's public input) and the proof.",
  ].join("\n"),
  options: {
    trace: { type: "string", value: "FILE", required: true, description: "trace file (generate --trace)" },
    model: { type: "string", value: "FILE", required: true, description: "the llama2.c checkpoint it ran" },
    step: { type: "integer", value: "N", min: 0, description: "leaf index of a Q, K, V, WO, W1 or W3 step" },
    row: {
      type: "integer",
      value: "R",
      min: 0,
      default: 0,
      description: "first row of the slice (with --step)",
    },
    selector: { type: "string", value: "HEX", description: "an obligation's selector (bytes32)" },
    "selected-by": { type: "string", value: "ROOT", description: "the batch root (with --seed, --position)" },
    seed: { type: "string", value: "HEX", description: "the batch's seed (SpotChecks.seeds)" },
    position: { type: "integer", value: "P", min: 0, description: "the receipt's position in the batch" },
    out: { type: "string", value: "FILE", default: "slice-proof.json", description: "proof file to write" },
  },
  examples: [
    "verinfer zk prove --trace trace.json --model tiny.bin --step 3",
    "verinfer zk prove --trace trace.json --model tiny.bin --selector 0x…",
  ],
  async run(ctx) {
    const modelFile = ctx.string("model") as string;
    const model = quantizeCheckpoint(loadCheckpoint(modelFile), modelFile);
    const unsupported = sliceUnsupported(model.shape);
    if (unsupported) throw new VerinferError("ZK_SLICE_UNSUPPORTED", unsupported);
    const trace = keptTrace(model, ctx.string("trace") as string);
    let slice: { pos: number; layer: number; op: OpCode; row0: number };
    let values: SliceValues;
    const step = ctx.number("step");
    if (step !== undefined) {
      if (step >= trace.outputs.length)
        throw new VerinferError(
          "INPUT_INVALID",
          `--step ${step}: the trace has ${trace.outputs.length} leaves`,
        );
      const id = stepAt(model.shape, step);
      const kind = SLICE_OPS.find((o) => o.op === id.op);
      if (!kind)
        throw new VerinferError(
          "INPUT_INVALID",
          `--step ${step} is ${OP_NAMES[id.op]}, not one of ${SLICE_OPS.map((o) => OP_NAMES[o.op]).join(", ")}`,
        );
      const row0 = ctx.number("row") ?? 0;
      const rows = sliceOpRows(model.shape, id.op);
      if (row0 + SLICE_ROWS > rows)
        throw new VerinferError(
          "INPUT_INVALID",
          `--row ${row0}: the step has ${rows} rows, a slice ${SLICE_ROWS}`,
        );
      slice = { pos: id.pos, layer: id.layer, op: id.op, row0 };
      values = tracedSlice(model, trace.outputs, { ...slice, input: kind.input }).values;
    } else {
      const root = ctx.string("selected-by");
      const selector = root
        ? obligationSelector(
            hex32("seed", ctx.string("seed")),
            hex32("selected-by", root),
            ctx.number("position") ?? -1,
          )
        : hex32("selector", ctx.string("selector"));
      if (root && ctx.number("position") === undefined)
        throw new VerinferError("INPUT_INVALID", "--selected-by needs --position");
      const s = selectedSlice(model, trace, selector);
      slice = s.id;
      values = s.values;
    }
    ctx.info(
      `proving ${OP_NAMES[slice.op]} rows ${slice.row0}..${slice.row0 + SLICE_ROWS - 1} of layer ${slice.layer} at position ${slice.pos}`,
    );
    const prover = await SliceProver.open();
    const started = performance.now();
    let proved: Awaited<ReturnType<SliceProver["prove"]>>;
    try {
      proved = await prover.prove(values);
    } finally {
      await prover.close();
    }
    const proveMs = Math.round(performance.now() - started);
    const circuit = await ensureCompiled(SPOTCHECK_CIRCUIT);
    const file: ProofFile = {
      kind: "verinfer.zk-slice-proof",
      circuit: { ...SPOTCHECK_CIRCUIT, sourceHash: circuit.sourceHash },
      traceRoot: bytesToHex(trace.tree.root),
      modelRoot: modelRoot(model),
      slice: { pos: slice.pos, layer: slice.layer, op: OP_NAMES[slice.op] as string, row0: slice.row0 },
      values: {
        k: values.k,
        a: Array.from(values.a),
        q: values.q.map((r) => Array.from(r)),
        scale: [...values.scale],
        y: [...values.y],
      },
      commitment: proved.commitment,
      proof: proved.proof,
      words: proofWords(proved.proof).map(String),
      proveMs,
    };
    const out = ctx.string("out") as string;
    writeFileSync(out, jsonText(file));
    ctx.output({ out, slice: file.slice, commitment: file.commitment, proveMs }, () =>
      renderTable(
        ["field", "value"],
        [
          [
            "slice",
            `${file.slice.op} rows ${file.slice.row0}+${SLICE_ROWS}, layer ${file.slice.layer}, position ${file.slice.pos}`,
          ],
          ["outputs", file.values.y.join(", ")],
          ["commitment (public input)", file.commitment],
          ["proving time", `${proveMs} ms`],
          ["written to", out],
        ],
        { title: "spot-check proof" },
      ),
    );
    return 0;
  },
};

function readProofFile(path: string): ProofFile {
  let json: ProofFile;
  try {
    json = JSON.parse(readFileSync(path, "utf8")) as ProofFile;
  } catch (e) {
    throw new VerinferError("ZK_PROOF_MALFORMED", `${path}: ${(e as Error).message}`);
  }
  if (json?.kind !== "verinfer.zk-slice-proof" || typeof json.commitment !== "string" || !json.proof)
    throw new VerinferError(
      "ZK_PROOF_MALFORMED",
      `${path} is not a verinfer slice proof (kind, commitment, proof)`,
    );
  if (!/^\d+$/.test(json.commitment) || !Array.isArray(json.words) || json.words.length !== 8)
    throw new VerinferError("ZK_PROOF_MALFORMED", `${path}: commitment or words malformed`);
  return json;
}

const verifyCommand: CommandSpec = {
  name: "verify",
  summary:
    "verify a slice proof in JavaScript, or through the deployed verifier contract (exit 1 if invalid)",
  description: [
    "Checks that the commitment is the commitment of the file's slice values (so the proof is about those",
    "values) and that the Groth16 proof verifies for it: in JavaScript against circuits/setup's verification",
    "key, or with --rpc on chain, through the SliceProofVerifier behind the deployment's ZkSliceVerifier.",
  ].join("\n"),
  positionals: [{ name: "PROOF", description: "proof file (zk prove)", required: true }],
  options: {
    rpc: { type: "string", value: "URL", description: "verify on this chain instead of in JavaScript" },
    deployment: {
      type: "string",
      value: "FILE",
      default: ".verinfer/deployment.json",
      description: "deployment file naming the verifier (with --rpc)",
    },
  },
  async run(ctx) {
    const path = ctx.positionals[0] as string;
    const p = readProofFile(path);
    const v = p.values;
    const bound =
      sliceCommitment({
        k: v.k,
        a: Int16Array.from(v.a),
        q: v.q.map((r) => Int8Array.from(r)),
        scale: v.scale,
        y: v.y,
      }).toString() === p.commitment;
    let valid: boolean;
    let where: string;
    const rpc = ctx.string("rpc");
    if (rpc) {
      const d = readDeployment(ctx.string("deployment") as string);
      if (!d.zkVerifier)
        throw new VerinferError("CONFIG_INVALID", "the deployment has no ZK spot-check verifier");
      const client = publicClientFor(rpc, d.chainId);
      const groth16 = (await client.readContract({
        address: d.zkVerifier,
        abi: zkSliceVerifierAbi,
        functionName: "groth16",
      })) as Hex;
      // A fixed gas limit: an estimate is too low for the pairing and the call would just return false.
      valid = (await client.readContract({
        address: groth16,
        abi: sliceProofVerifierAbi,
        functionName: "verifyProof",
        args: [p.words.map(BigInt), BigInt(p.commitment)],
        gas: 1_000_000n,
      } as never)) as boolean;
      where = `on chain ${d.chainId} (${groth16})`;
    } else {
      valid = await verifySliceProof({ proof: p.proof as never, commitment: p.commitment });
      where = "in JavaScript";
    }
    const ok = valid && bound;
    ctx.output({ proof: path, valid: ok, proofVerifies: valid, commitmentOfValues: bound, where }, () =>
      renderTable(
        ["check", "result"],
        [
          ["commitment = commitment of the slice values", bound ? "yes" : "NO"],
          [`Groth16 proof verifies ${where}`, valid ? "yes" : "NO"],
          ["verdict", ok ? "valid" : "INVALID"],
        ],
        { title: path },
      ),
    );
    return ok ? 0 : 1;
  },
};

const infoCommand: CommandSpec = {
  name: "info",
  summary: "the spot-check circuit: size, constraints, and the trusted setup's hashes",
  options: {},
  async run(ctx) {
    const m = readManifest();
    const mismatch = await setupMismatch();
    ctx.output({ ...m, setupMatchesCircuit: mismatch === null, mismatch }, () =>
      renderTable(
        ["field", "value"],
        [
          [
            "circuit",
            `MatmulSlice(${m.circuit.n}, ${m.circuit.rows}): ${m.circuit.rows} rows of a matmul over ≤ ${m.circuit.n} inputs`,
          ],
          ["constraints", m.constraints.toLocaleString("en-US")],
          ["source (sha256)", m.sourceHash],
          ["powers of tau", `2^${m.ptau.power}, sha256 ${m.ptau.sha256}`],
          ["proving key (sha256)", m.zkeySha256],
          ["verification key (sha256)", m.vkeySha256],
          [
            "setup",
            m.development ? "DEVELOPMENT (public entropy: never use in production)" : "from given files",
          ],
          ["setup fits the circuit", mismatch ?? "yes"],
        ],
        { title: "verinfer ZK spot-check circuit" },
      ),
    );
    return 0;
  },
};

const setupCommand: CommandSpec = {
  name: "setup",
  summary: "make the circuit's trusted setup (development: public entropy) and the verifier contract",
  description: [
    "Compiles circuits/matmulSlice.circom, makes (or takes, --ptau) a 2^16 powers-of-tau file and the",
    "circuit's proving key, and writes circuits/setup/ (proving and verification keys, manifest) and",
    "contracts/src/zk/SliceProofVerifier.sol. Without --ptau/--zkey it is a single-party setup, for",
    "development only (docs/zk.md says how to run a ceremony). Takes about 20 minutes here without --ptau",
    "(preparing phase 2). Run `npm run contracts:generate` afterwards. --bench-keys makes only the bench's",
    "proving keys (2^13 to 2^16, not committed) from the same phase-1 file.",
  ].join("\n"),
  options: {
    ptau: { type: "string", value: "FILE", description: "a ceremony's phase-1 file (power ≥ 16)" },
    zkey: { type: "string", value: "FILE", description: "a phase-2 ceremony's proving key to adopt" },
    "bench-keys": { type: "boolean", description: "make only the bench's proving keys" },
  },
  async run(ctx) {
    const ptau = ctx.string("ptau");
    const zkey = ctx.string("zkey");
    const log = (line: string) => ctx.info(line);
    if (ctx.flag("bench-keys")) {
      await benchKeys({ ...(ptau ? { ptau } : {}), log });
      ctx.output({ benchKeys: true }, () => "bench proving keys written to circuits/build/sweep/");
      return 0;
    }
    const m = await trustedSetup({ ...(ptau ? { ptau } : {}), ...(zkey ? { zkey } : {}), log });
    ctx.output(m, () => `setup written: ${m.constraints} constraints, zkey sha256 ${m.zkeySha256}`);
    return 0;
  },
};

/** `verinfer zk ...`. */
export const zkGroup: GroupSpec = {
  name: "zk",
  summary: "ZK spot-checks: Groth16 proofs of committed slices of the verifiable engine",
  commands: [proveCommand, verifyCommand, infoCommand, setupCommand],
};
