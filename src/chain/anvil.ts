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
  readonly pid: number;
  stop(): Promise<void>;
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
export function startAnvil(options: AnvilOptions = {}): Promise<LocalChain> {
  const chainId = options.chainId ?? 31337;
  const args = [
    "--host",
    "127.0.0.1",
    "--port",
    String(options.port ?? 0),
    "--chain-id",
    String(chainId),
    "--accounts",
    String(options.accounts ?? 10),
    ...(options.blockTime ? ["--block-time", String(options.blockTime)] : []),
    ...(options.gasLimit ? ["--gas-limit", String(options.gasLimit)] : []),
  ];
  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let banner = "";
    const fail = (message: string) => {
      child.kill("SIGKILL");
      reject(new VerinferError("CONFIG_INVALID", `anvil did not start: ${message}`));
    };
    const timer = setTimeout(() => fail(`no "Listening on" within 20 s\n${banner}`), 20_000);
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
      resolve({
        rpcUrl: `http://${listening[1]}:${listening[2]}`,
        chainId,
        keys,
        pid: child.pid as number,
        stop: () => stopChild(child),
      });
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 2_000).unref();
  });
}
