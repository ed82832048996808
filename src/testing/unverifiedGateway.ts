/**
 * A second gateway process in front of a devnet's workers with `verification: "none"` (a plain proxy):
 * the baseline `npm run bench -- devnet` measures verification against, and what the devnet test checks
 * of it. Its config, store and log are the devnet's gateway's, renamed `gateway-unverified`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Devnet, type DevnetProcess, spawnRole } from "../node/devnet/devnet.ts";

export async function startUnverifiedGateway(
  devnet: Pick<Devnet, "dir" | "gateway">,
): Promise<DevnetProcess> {
  const config = JSON.parse(readFileSync(devnet.gateway.config, "utf8")) as { gateway: object };
  const file = join(devnet.dir, "gateway-unverified.json");
  writeFileSync(
    file,
    JSON.stringify({
      gateway: {
        ...config.gateway,
        port: 0,
        dataDir: join(devnet.dir, "gateway-unverified"),
        verification: "none",
      },
    }),
  );
  return spawnRole("gateway", file, unverifiedGatewayLog(devnet));
}

/** Where the unverified gateway logs. */
export const unverifiedGatewayLog = (devnet: Pick<Devnet, "dir">) =>
  join(devnet.dir, "logs", "gateway-unverified.log");
