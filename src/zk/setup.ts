/**
 * The trusted setup of the spot-check circuit, made once and committed (circuits/setup/): a powers-of-tau
 * file (phase 1, made here unless a ceremony's file is given), the circuit's proving key (phase 2), the
 * verification key, the Solidity verifier and a manifest of hashes.
 *
 * DEVELOPMENT ONLY by default: one party (the machine that ran it) made each phase's contribution —
 * snarkjs mixes the given entropy with its own random bytes, discarded afterwards but unverifiably — and
 * a public beacon closed each phase. Whoever ran it could have kept the toxic waste and could forge
 * proofs, so its proofs convince nobody else; and it is not reproducible (the manifest's hashes name the
 * files committed). For production, pass a multi-party ceremony's phase-1 file (`--ptau`, e.g. a Perpetual Powers of Tau file
 * of power ≥ 14) and run a phase-2 ceremony on the zkey (`snarkjs zkey contribute` by each party, then
 * `zkey beacon`), then replace circuits/setup/spotcheck.zkey and rerun with `--zkey` to regenerate the
 * verification key, the verifier contract and the manifest (docs/zk.md).
 */
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { r1cs, zKey } from "snarkjs";
import { CONTRACTS_DIR } from "../chain/compile.ts";
import {
  CIRCUITS_DIR,
  type CircuitShape,
  type CompiledCircuit,
  circuitName,
  ensureCompiled,
  readManifest,
  type SetupManifest,
  SPOTCHECK_CIRCUIT,
  setupFiles,
  sha256File,
} from "./circuit.ts";
import { groth16VerifierSource, type VerificationKey } from "./solidityVerifier.ts";

export const PTAU_DIR = join(CIRCUITS_DIR, "ptau");
/** One 2^16 phase-1 file serves every circuit up to 65,536 constraints (the bench's sizes included). */
export const PTAU_POWER = 16;
export const DEV_PTAU = join(PTAU_DIR, `dev_pot${PTAU_POWER}.ptau`);
const DEV_ENTROPY = "verinfer development setup: single party, never use in production";
const DEV_BEACON = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
export const VERIFIER_SOL = join(CONTRACTS_DIR, "src", "zk", "SliceProofVerifier.sol");

// snarkjs exports only its library; its CLI is build/cli.cjs beside build/main.cjs.
const snarkjsCli = join(dirname(createRequire(import.meta.url).resolve("snarkjs")), "cli.cjs");
const run = (args: string[]) =>
  promisify(execFile)(process.execPath, [snarkjsCli, ...args], { maxBuffer: 1 << 26 });

/** Makes the development phase-1 file (minutes: preparing phase 2 dominates). */
export async function devPtau(log: (line: string) => void): Promise<string> {
  if (existsSync(DEV_PTAU)) return DEV_PTAU;
  mkdirSync(PTAU_DIR, { recursive: true });
  const step = (n: number) => join(PTAU_DIR, `step${n}.ptau`);
  log(`phase 1: new accumulator 2^${PTAU_POWER}`);
  await run(["powersoftau", "new", "bn128", String(PTAU_POWER), step(0)]);
  log("phase 1: contribution (single party)");
  await run(["powersoftau", "contribute", step(0), step(1), "--name=verinfer dev", `-e=${DEV_ENTROPY}`]);
  log("phase 1: beacon");
  await run(["powersoftau", "beacon", step(1), step(2), DEV_BEACON, "10", "-n=verinfer dev beacon"]);
  log("phase 1: prepare phase 2 (the slow part)");
  await run(["powersoftau", "prepare", "phase2", step(2), DEV_PTAU]);
  for (const n of [0, 1, 2]) rmSync(step(n), { force: true }); // 25 MB each, only the prepared file is used
  return DEV_PTAU;
}

/** Phase 2 for one circuit: the proving key, one contribution and a beacon (development only). */
export async function circuitZkey(c: CompiledCircuit, ptau: string, out: string): Promise<void> {
  const tmp = `${out}.tmp`;
  await zKey.newZKey(c.r1cs, ptau, `${tmp}0`);
  await zKey.contribute(`${tmp}0`, `${tmp}1`, "verinfer dev", DEV_ENTROPY);
  await zKey.beacon(`${tmp}1`, out, "verinfer dev beacon", DEV_BEACON, 10);
  for (const f of [`${tmp}0`, `${tmp}1`]) rmSync(f, { force: true });
}

/** The sizes the bench proves at (about 2^13, 2^14, 2^15 and 2^16 constraints). */
export const SWEEP: readonly CircuitShape[] = [
  { n: 256, rows: 1 },
  SPOTCHECK_CIRCUIT,
  { n: 288, rows: 8 },
  { n: 288, rows: 18 },
];
export const SWEEP_DIR = join(CIRCUITS_DIR, "build", "sweep");
export const sweepZkey = (c: CircuitShape) => join(SWEEP_DIR, `${circuitName(c)}.zkey`);

export interface SetupOptions {
  /** A phase-1 file from a ceremony; the development one is made when absent. */
  readonly ptau?: string;
  /** An existing proving key (from a phase-2 ceremony) to adopt instead of making one. */
  readonly zkey?: string;
  readonly log?: (line: string) => void;
}

/** Runs the setup and writes circuits/setup/ and the verifier contract. */
export async function trustedSetup(o: SetupOptions = {}): Promise<SetupManifest> {
  const log = o.log ?? (() => {});
  const circuit = await ensureCompiled(SPOTCHECK_CIRCUIT);
  const ptau = o.ptau ?? (await devPtau(log));
  mkdirSync(join(CIRCUITS_DIR, "setup"), { recursive: true });
  if (o.zkey) copyFileSync(o.zkey, setupFiles.zkey);
  else {
    log("phase 2: the spot-check circuit");
    await circuitZkey(circuit, ptau, setupFiles.zkey);
  }
  const vkey = (await zKey.exportVerificationKey(setupFiles.zkey)) as VerificationKey;
  writeFileSync(setupFiles.vkey, `${JSON.stringify(vkey, null, 1)}\n`);
  const info = await r1cs.info(circuit.r1cs);
  const development = o.ptau === undefined && o.zkey === undefined;
  const note = development
    ? "DEVELOPMENT SETUP: its entropy is public, anyone can forge proofs. Never use it in production."
    : "Setup from the files given to `verinfer zk setup` (see circuits/setup/manifest.json).";
  mkdirSync(join(CONTRACTS_DIR, "src", "zk"), { recursive: true });
  writeFileSync(VERIFIER_SOL, groth16VerifierSource(vkey, note));
  const manifest: SetupManifest = {
    circuit: SPOTCHECK_CIRCUIT,
    sourceHash: circuit.sourceHash,
    r1csSha256: sha256File(circuit.r1cs),
    constraints: info.nConstraints,
    ptau: {
      power: PTAU_POWER,
      sha256: sha256File(ptau),
      note: development ? "made by verinfer zk setup on one machine (single party, development only)" : ptau,
    },
    zkeySha256: sha256File(setupFiles.zkey),
    vkeySha256: sha256File(setupFiles.vkey),
    development,
  };
  writeFileSync(setupFiles.manifest, `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}

/** The bench's proving keys (circuits/build/sweep/, not committed), from the given or development ptau. */
export async function benchKeys(o: { readonly ptau?: string; readonly log?: (line: string) => void } = {}) {
  const ptau = o.ptau ?? (await devPtau(o.log ?? (() => {})));
  mkdirSync(SWEEP_DIR, { recursive: true });
  for (const c of SWEEP) {
    if (c === SPOTCHECK_CIRCUIT || existsSync(sweepZkey(c))) continue;
    o.log?.(`phase 2: bench circuit MatmulSlice(${c.n}, ${c.rows})`);
    await circuitZkey(await ensureCompiled(c), ptau, sweepZkey(c));
  }
}

/** Why the committed setup does not fit the circuit as compiled now, or null when it does. */
export async function setupMismatch(): Promise<string | null> {
  if (!existsSync(setupFiles.manifest))
    return "circuits/setup/manifest.json is missing: run `verinfer zk setup`";
  const m = readManifest();
  const circuit = await ensureCompiled(SPOTCHECK_CIRCUIT);
  if (m.sourceHash !== circuit.sourceHash)
    return "the circuit source changed since the setup: run `verinfer zk setup`";
  if (sha256File(setupFiles.zkey) !== m.zkeySha256)
    return "circuits/setup/spotcheck.zkey is not the manifest's";
  if (sha256File(setupFiles.vkey) !== m.vkeySha256)
    return "circuits/setup/verification_key.json is not the manifest's";
  return null;
}
