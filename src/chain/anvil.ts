/**
 * A local chain: anvil from the npm registry (@foundry-rs/anvil), spawned directly (not through npx,
 * whose wrapper would outlive a kill) on a free loopback port, and stopped by pid. Its funded dev
 * accounts are read from its banner.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { arch, platform } from "node:os";
import { VerinferError } from "../errors.ts";
import type { Hex } from "../protocol/encoding/hex.ts";

/** A running anvil. */
export interface LocalChain {
  readonly rpcUrl: string;
  readonly chainId: number;
  /** Private keys of the funded dev accounts (10,000 ETH each). */
  readonly keys: readonly Hex[];
  /** The running process's (a restart changes it). */
  readonly pid: number;
  stop(): Promise<void>;
  /**
   * Stops anvil and starts it again on the same port, from its state file (`state`): the chain keeps its
   * blocks, receipts and contracts; transactions still in its pool are lost, as a real node's restart
   * may lose them. `blockTime` mines a block every so many seconds from the start (default automine).
   */
  restart(o?: { readonly blockTime?: number }): Promise<void>;
}

/** Options of {@link startAnvil}. */
export interface AnvilOptions {
  readonly chainId?: number;
  /** Seconds per block (default: a block per transaction). */
  readonly blockTime?: number;
  readonly port?: number;
  readonly accounts?: number;
  /** Block gas limit (anvil's default is 30,000,000). */
  readonly gasLimit?: bigint;
  /**
   * A file anvil loads its state from at start (if it exists) and writes it to when stopped: its blocks,
   * receipts and current state, what lets {@link LocalChain.restart} resume. Not the states of past
   * blocks: a call at a block from before a restart is refused, as a pruning node refuses it (no role
   * makes one). With them (`--preserve-historical-states`), each a full copy, a loaded devnet's file
   * grew to 2 GB in 40 minutes of the chaos soak and a restart took 30-76 s to write and read it.
   */
  readonly state?: string;
  /** How many recent blocks' states anvil keeps in memory for calls at past blocks (default all). */
  readonly keptStates?: number;
}

/** Path of the anvil binary for this machine. */
export function anvilBinary(): string {
  const os = platform() === "win32" ? "win32" : platform();
  const cpu = arch() === "x64" ? "amd64" : arch();
  const require = createRequire(import.meta.url);
  try {
    return require.resolve(`@foundry-rs/anvil-${os}-${cpu}/bin/anvil${os === "win32" ? ".exe" : ""}`);
  } catch {
    throw new VerinferError(
      "CONFIG_INVALID",
      `no anvil binary for ${os}-${cpu}: @foundry-rs/anvil-${os}-${cpu} is not installed (npm install)`,
    );
  }
}

/** Starts anvil and resolves once it listens. */
export async function startAnvil(options: AnvilOptions = {}): Promise<LocalChain> {
  const chainId = options.chainId ?? 31337;
  const args = (port: number, blockTime: number | undefined) => [
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--chain-id",
    String(chainId),
    "--accounts",
    String(options.accounts ?? 10),
    ...(blockTime ? ["--block-time", String(blockTime)] : []),
    ...(options.gasLimit ? ["--gas-limit", String(options.gasLimit)] : []),
    ...(options.state ? ["--state", options.state] : []),
    ...(options.keptStates ? ["--prune-history", String(options.keptStates)] : []),
  ];
  // A state file is given as long to load as to write (STATE_DUMP_MS); a fresh chain starts in seconds.
  const startMs = options.state ? STATE_DUMP_MS : 20_000;
  let running = await spawnAnvil(args(options.port ?? 0, options.blockTime), startMs);
  const port = Number(new URL(running.rpcUrl).port);
  return {
    rpcUrl: running.rpcUrl,
    chainId,
    keys: running.keys,
    get pid() {
      return running.child.pid as number;
    },
    stop: () => stopChild(running.child, options.state ? STATE_DUMP_MS : 2_000),
    async restart(o = {}) {
      if (!options.state) throw new Error("restart needs a state file (AnvilOptions.state)");
      // Mining stops first: anvil goes on serving while it writes its state, and a block mined meanwhile
      // would be missing after the restart — a rollback of blocks the nodes saw, which a chain's node
      // restart does not make. Transactions sent meanwhile wait in its pool, lost with the restart.
      const url = running.rpcUrl;
      const rpc = async (method: string, params: unknown[] = []) =>
        (
          (await (
            await fetch(url, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
            })
          ).json()) as { result: unknown }
        ).result;
      await rpc("evm_setAutomine", [false]);
      await haltMining(rpc);
      await stopChild(running.child, STATE_DUMP_MS);
      running = await spawnAnvil(args(port, o.blockTime), startMs);
    },
  };
}

/**
 * Spawns anvil and resolves with its URL and keys once it listens, within `startMs` (anvil loading a
 * state file reads all of it first: one with every block's state, 1.8 GB, took more than 20 s).
 */
function spawnAnvil(
  args: string[],
  startMs: number,
): Promise<{ child: ChildProcess; rpcUrl: string; keys: Hex[] }> {
  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let banner = "";
    const fail = (message: string) => {
      child.kill("SIGKILL");
      reject(new VerinferError("CONFIG_INVALID", `anvil did not start: ${message}`));
    };
    const timer = setTimeout(() => fail(`no "Listening on" within ${startMs / 1000} s\n${banner}`), startMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      fail(e.message);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (!banner.includes("Listening on")) fail(`exited with ${code}\n${banner}`);
    });
    child.stderr.on("data", (d: Buffer) => {
      banner += d.toString();
    });
    child.stdout.on("data", (d: Buffer) => {
      banner += d.toString();
      const listening = /Listening on ([\d.]+):(\d+)/.exec(banner);
      if (!listening) return;
      clearTimeout(timer);
      child.stdout.removeAllListeners("data");
      child.stdout.resume();
      const keys = [...banner.matchAll(/^\(\d+\) (0x[0-9a-f]{64})\s*$/gm)].map((m) => m[1] as Hex);
      resolve({ child, rpcUrl: `http://${listening[1]}:${listening[2]}`, keys });
    });
  });
}

/**
 * Stops anvil's interval mining and returns once a block it was mining has been stored: the head has not
 * moved for {@link BLOCK_SETTLE_MS}. Anvil stopped mid-block keeps the block's state without the block:
 * after a chaos soak's restart, the rollup named two batches posted in a block the restarted chain did
 * not hold (its block of that number held other transactions and no logs), and every role that reads
 * batches stopped at them for good. Reverting to a snapshot mid-block leaves state and logs disagreeing
 * in the same way (src/testing/reorganisation.ts).
 */
export async function haltMining(
  rpc: (method: string, params?: unknown[]) => Promise<unknown>,
): Promise<void> {
  await rpc("evm_setIntervalMining", [0]);
  for (let head = await rpc("eth_blockNumber"); ; ) {
    await new Promise((r) => setTimeout(r, BLOCK_SETTLE_MS));
    const now = await rpc("eth_blockNumber");
    if (now === head) return;
    head = now;
  }
}

/** How long a block anvil is mining is given to finish once interval mining is stopped (ms). */
const BLOCK_SETTLE_MS = 300;

/**
 * How long anvil with a state file is given to write it on SIGTERM before it is killed: a generous bound
 * (a state with every block's, 2 GB, took a minute), since a kill midway leaves a file it cannot start
 * from.
 */
const STATE_DUMP_MS = 300_000;

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), graceMs).unref();
  });
}
