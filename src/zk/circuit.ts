/**
 * The spot-check circuit's files. The source is circuits/matmulSlice.circom; a circuit is one
 * instance MatmulSlice(N, R), compiled with circom 2 (`--O2`) on first use into circuits/build/
 * (ignored by git: compiling is deterministic, and takes seconds on idle cores, minutes on loaded
 * ones; a worker compiles it before it is ready). The production instance's trusted setup is
 * committed in circuits/setup/ with a manifest naming the source and constraint system it was made
 * for, so a changed circuit is refused instead of proving against a stale key.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SLICE_INPUTS, SLICE_ROWS } from "../protocol/spotcheck/slice.ts";

export const CIRCUITS_DIR = fileURLToPath(new URL("../../circuits/", import.meta.url));
export const BUILD_DIR = join(CIRCUITS_DIR, "build");
export const SETUP_DIR = join(CIRCUITS_DIR, "setup");

/** A circuit instance: MatmulSlice(n, rows). */
export interface CircuitShape {
  readonly n: number;
  readonly rows: number;
}

/** The instance the network's spot-checks use. */
export const SPOTCHECK_CIRCUIT: CircuitShape = { n: SLICE_INPUTS, rows: SLICE_ROWS };

/** The compiled files of an instance. */
export interface CompiledCircuit {
  readonly name: string;
  readonly wasm: string;
  readonly r1cs: string;
  readonly sym: string;
  /** sha256 of the template source and the instance's parameters. */
  readonly sourceHash: string;
}

export const circuitName = (c: CircuitShape) => `matmulSlice_${c.n}_${c.rows}`;

export const TEMPLATE = join(CIRCUITS_DIR, "matmulSlice.circom");

/** The hash that names a circuit's source: the template file and the instance's parameters. */
export function circuitSourceHash(c: CircuitShape, template = TEMPLATE): string {
  return createHash("sha256")
    .update(readFileSync(template))
    .update(`MatmulSlice(${c.n}, ${c.rows})`)
    .digest("hex");
}

const circomCli = createRequire(import.meta.url).resolve("circom2/cli.js");

/**
 * Compiles the instance unless circuits/build/ already holds it for the current source. `template`
 * (an absolute path) replaces circuits/matmulSlice.circom, for the soundness tests' mutants.
 */
export async function ensureCompiled(
  c: CircuitShape = SPOTCHECK_CIRCUIT,
  template = TEMPLATE,
  name = circuitName(c),
): Promise<CompiledCircuit> {
  const sourceHash = circuitSourceHash(c, template);
  const files: CompiledCircuit = {
    name,
    wasm: join(BUILD_DIR, `${name}_js`, `${name}.wasm`),
    r1cs: join(BUILD_DIR, `${name}.r1cs`),
    sym: join(BUILD_DIR, `${name}.sym`),
    sourceHash,
  };
  const stamp = join(BUILD_DIR, `${name}.source`);
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === sourceHash && existsSync(files.wasm)) return files;
  mkdirSync(BUILD_DIR, { recursive: true });
  // Compiled in a folder of its own, then moved into place file by file (a rename replaces a file at
  // once), the stamp last: several processes may compile at once — a devnet's workers on a fresh
  // checkout did, and read each other's half-written files (ENOENT) while honest obligations expired.
  const own = mkdtempSync(join(BUILD_DIR, `.${name}-`));
  try {
    const main = join(own, `${name}.circom`);
    writeFileSync(
      main,
      `pragma circom 2.1.0;\ninclude "${relative(own, template)}";\ncomponent main = MatmulSlice(${c.n}, ${c.rows});\n`,
    );
    // circom (WASI) sees the working directory only: run it from the repository with relative paths.
    const root = join(CIRCUITS_DIR, "..");
    const rel = (path: string) => relative(root, path);
    await promisify(execFile)(
      process.execPath,
      [circomCli, rel(main), "--r1cs", "--wasm", "--sym", "--O2", "-l", ".", "-o", rel(own)],
      { cwd: root, maxBuffer: 1 << 24 },
    );
    mkdirSync(join(BUILD_DIR, `${name}_js`), { recursive: true });
    for (const file of [
      `${name}.r1cs`,
      `${name}.sym`,
      ...readdirSync(join(own, `${name}_js`)).map((f) => join(`${name}_js`, f)),
    ])
      renameSync(join(own, file), join(BUILD_DIR, file));
    writeFileSync(join(own, "stamp"), sourceHash);
    renameSync(join(own, "stamp"), stamp);
  } finally {
    rmSync(own, { recursive: true, force: true });
  }
  return files;
}

/** The committed trusted setup of the production circuit and what it was made for. */
export interface SetupManifest {
  readonly circuit: CircuitShape;
  readonly sourceHash: string;
  readonly r1csSha256: string;
  readonly constraints: number;
  readonly ptau: { readonly power: number; readonly sha256: string; readonly note: string };
  readonly zkeySha256: string;
  readonly vkeySha256: string;
  readonly development: boolean;
}

export const setupFiles = {
  manifest: join(SETUP_DIR, "manifest.json"),
  zkey: join(SETUP_DIR, "spotcheck.zkey"),
  vkey: join(SETUP_DIR, "verification_key.json"),
};

export const sha256File = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

export function readManifest(): SetupManifest {
  return JSON.parse(readFileSync(setupFiles.manifest, "utf8")) as SetupManifest;
}
