/** What every report records about how it was produced: git revision, runtime, machine, time. */
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";

/** Provenance block of a report. */
export interface Provenance {
  readonly gitRevision: string | null;
  readonly gitDirty: boolean | null;
  readonly verinferVersion: string;
  readonly node: string;
  readonly platform: string;
  readonly cpu: string;
  readonly cores: number;
  readonly generatedAt: string;
}

const REPO = fileURLToPath(new URL("../..", import.meta.url));

function git(args: string[]): string | null {
  try {
    return execFileSync("git", args, {
      cwd: REPO,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return null;
  }
}

/** Collects provenance now. */
export function provenance(): Provenance {
  const status = git(["status", "--porcelain"]);
  return {
    gitRevision: git(["rev-parse", "HEAD"]),
    gitDirty: status === null ? null : status.length > 0,
    verinferVersion: "0.1.0",
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    generatedAt: new Date().toISOString(),
  };
}

/** One line for a report page: git revision (marked dirty when the tree had changes), time, machine. */
export function provenanceLine(p: Provenance): string {
  const rev = p.gitRevision ?? "unknown";
  const dirty = p.gitDirty
    ? " (dirty: uncommitted changes)"
    : p.gitDirty === null
      ? " (tree state unknown)"
      : "";
  return `git ${rev}${dirty} · ${p.generatedAt} · ${p.cpu} (${p.cores} cores) · node ${p.node}`;
}
