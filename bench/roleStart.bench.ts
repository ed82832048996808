/**
 * How long a devnet role takes to come back after `kill -9`: from the kill to its ready line, and the CPU
 * its new process spent until then, started from the CLI's bundle (how the devnet starts roles) and
 * through bin/verinfer.mjs's tsx loader (how `verinfer node` runs by hand), alternating, on one devnet.
 * A chaos soak's restarts took 12–28 s on its busy cores; this runs on idle ones, so that the two
 * entries differ by what they cost, not by the load.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DevnetProcess, type RoleEntry, startDevnet, stopProcess } from "../src/node/devnet/devnet.ts";
import { buildRoleBundle } from "../src/node/devnet/roleBundle.ts";
import { killAndRestart } from "../src/testing/killAndRestart.ts";

export interface RoleStartBench {
  readonly rounds: number;
  /** Building the bundle once, in this process (a spawning process pays it once). */
  readonly bundleSeconds: number;
  readonly runs: readonly {
    readonly role: string;
    readonly entry: RoleEntry;
    /** Kill to ready line, s, one per round. */
    readonly seconds: readonly number[];
    /** User + system CPU of the new process (all its threads) at its ready line, s. */
    readonly cpuSeconds: readonly number[];
  }[];
}

const TICKS_PER_SECOND = 100;

/** User + system CPU seconds of process `pid` so far (Linux /proc, clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  // The command name (field 2) may hold spaces; the fields after it are space-separated.
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export async function benchRoleStart(log: (line: string) => void, rounds = 5): Promise<RoleStartBench> {
  const t0 = performance.now();
  await buildRoleBundle();
  const bundleSeconds = (performance.now() - t0) / 1000;
  const dir = mkdtempSync(join(tmpdir(), "verinfer-role-start-"));
  const devnet = await startDevnet({
    dir,
    workers: 1,
    adversary: "none",
    gatewayPort: 0,
    rpcPort: 0,
    evaluators: 1,
  });
  const roster = new Map<string, DevnetProcess>([
    ["gateway", devnet.gateway],
    ["worker", devnet.workers[0] as DevnetProcess],
    ["evaluator", devnet.evaluators[0] as DevnetProcess],
    ...(devnet.fisherman ? [["fisherman", devnet.fisherman] as const] : []),
    ...(devnet.settler ? [["settler", devnet.settler] as const] : []),
  ]);
  const runs = new Map<string, { role: string; entry: RoleEntry; seconds: number[]; cpuSeconds: number[] }>();
  try {
    for (let round = 0; round < rounds; round++) {
      // Alternating which entry goes first, so that neither always follows the other's restart.
      const entries: RoleEntry[] = round % 2 === 0 ? ["bundle", "tsx"] : ["tsx", "bundle"];
      for (const [role, first] of [...roster]) {
        let p = first;
        for (const entry of entries) {
          const started = performance.now();
          p = await killAndRestart(p, dir, `${role}-${entry}-${round}`, undefined, {}, entry);
          const seconds = (performance.now() - started) / 1000;
          const run = runs.get(`${role} ${entry}`) ?? { role, entry, seconds: [], cpuSeconds: [] };
          run.seconds.push(seconds);
          run.cpuSeconds.push(cpuSeconds(p.pid));
          runs.set(`${role} ${entry}`, run);
        }
        roster.set(role, p);
        log(`role-start: round ${round + 1} of ${rounds}, ${role} restarted both ways`);
      }
    }
  } finally {
    await Promise.all([...roster.values()].map((p) => stopProcess(p.child)));
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { rounds, bundleSeconds, runs: [...runs.values()] };
}
