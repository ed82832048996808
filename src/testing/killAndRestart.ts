/**
 * A crash and a restart of one devnet role, for the e2e tests: `kill -9`, then the same role started
 * again from its config (so its store, keys and the chain), on the same port — other roles know it by
 * URL (the gateway its workers and settler).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DevnetProcess, type RoleEntry, spawnRole } from "../node/devnet/devnet.ts";

/**
 * Kills `p` and starts it again, once `whileDown` (an outage's length) has resolved, with `changes` to
 * its role's config; its config and log are `<dir>/<name>.json` and `<dir>/logs/<name>.log`.
 */
export async function killAndRestart(
  p: DevnetProcess,
  dir: string,
  name: string,
  whileDown: () => Promise<void> = async () => {},
  changes: Record<string, unknown> = {},
  entry: RoleEntry = "bundle",
): Promise<DevnetProcess> {
  const exited = new Promise((r) => p.child.once("exit", r));
  p.child.kill("SIGKILL");
  await exited;
  await whileDown();
  const config = JSON.parse(readFileSync(p.config, "utf8")) as Record<string, Record<string, unknown>>;
  Object.assign(config[p.role] as Record<string, unknown>, changes, { port: Number(new URL(p.url).port) });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  return spawnRole(p.role, file, join(dir, "logs", `${name}.log`), entry);
}
