/**
 * `verinfer node register` against a real worker on anvil, as an operator runs it: it registers and
 * stakes the worker; once the worker's attestation has expired (the gateway then routes it nothing),
 * running it again re-attests the worker — its evidence verified again, a new expiry on chain, its
 * stake untouched — and another operator's key is refused before any transaction.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalChain, startAnvil } from "../chain/anvil.ts";
import { advanceTime } from "../chain/clients.ts";
import { clientsFor } from "../chain/deploy.ts";
import { readDeployment } from "../chain/deploymentFile.ts";
import { stakeState } from "../chain/stake.ts";
import { PRESETS } from "../engine/llama2c/generateModel.ts";
import { writeGeneratedModel } from "../engine/llama2c/modelFiles.ts";
import { cli } from "../testing/cli.ts";
import { writeKeyFile } from "./keys.ts";
import { nodeLogger } from "./observability.ts";
import { addressOfKey } from "./roleAuth.ts";
import { createWorker, type WorkerNode } from "./services/worker/workerService.ts";

const dir = mkdtempSync(join(tmpdir(), "verinfer-register-"));
const deploymentFile = join(dir, "deployment.json");
let chain: LocalChain;
let worker: WorkerNode;
let workerUrl: string;
const keyFile = (name: string, key: Hex) => {
  const path = join(dir, `${name}.key`);
  if (!existsSync(path)) writeKeyFile(path, key);
  return path;
};

beforeAll(async () => {
  chain = await startAnvil();
  const deployed = await cli(
    ...["chain", "deploy", "--rpc", chain.rpcUrl, "--key-file", keyFile("owner", chain.keys[0] as Hex)],
    ...["--out", deploymentFile],
  );
  expect(deployed.code, deployed.stderr).toBe(0);
  const model = join(dir, "tiny.bin");
  writeGeneratedModel(model, PRESETS.tiny as NonNullable<typeof PRESETS.tiny>, 3);
  worker = await createWorker({
    dataDir: join(dir, "worker"),
    model,
    modelName: "verinfer-tiny",
    deployment: readDeployment(deploymentFile),
    gateways: [addressOfKey(chain.keys[0] as Hex)],
    threads: 1,
    adversary: "none",
    logger: nodeLogger("worker", "silent"),
  });
  workerUrl = await worker.app.listen({ host: "127.0.0.1", port: 0 });
}, 60_000);
afterAll(async () => {
  await worker?.close();
  await chain?.stop();
});

const register = (operatorKey: Hex, ...more: string[]) =>
  cli(
    ...["node", "register", "--deployment", deploymentFile, "--worker", workerUrl, "--json"],
    ...["--operator-key-file", keyFile(`operator-${operatorKey.slice(2, 8)}`, operatorKey)],
    ...["--attester-key-file", keyFile(`attester-${more.length}`, chain.keys[9] as Hex)],
    ...["--dev-root", join(dir, "worker", "tee", "dev-root.pem"), ...more],
  );

describe("verinfer node register", () => {
  it("registers a worker, and re-attests it once its attestation has expired", async () => {
    const d = readDeployment(deploymentFile);
    const owner = clientsFor(chain.rpcUrl, chain.chainId, chain.keys[0] as Hex);
    const first = await register(chain.keys[1] as Hex, "--owner-key-file", join(dir, "owner.key"));
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      registered: worker.identity.address,
      reattested: false,
    });
    const staked = await stakeState(owner.public, d, worker.identity.address);
    expect(staked.role).toBe("worker");

    // 31 days on: the 30-day attestation has lapsed.
    await advanceTime(owner, 31 * 86_400);
    const now = Number((await owner.public.getBlock()).timestamp);
    expect(staked.attestedUntil).toBeLessThan(now);

    const again = await register(chain.keys[1] as Hex);
    expect(again.code, again.stderr).toBe(0);
    const out = JSON.parse(again.stdout);
    expect(out).toMatchObject({ reattested: true, attestationHash: worker.identity.attestationHash });
    expect(out).not.toHaveProperty("stake");
    const renewed = await stakeState(owner.public, d, worker.identity.address);
    expect(renewed.attestedUntil).toBe(out.attestedUntil);
    expect(renewed.attestedUntil).toBeGreaterThan(now + 29 * 86_400);
    expect(renewed.active).toBe(staked.active);

    const stranger = await register(chain.keys[2] as Hex);
    expect(stranger.code).toBe(2);
    expect(stranger.stderr).toMatch(/CONFIG_INVALID.*operated by 0x/);
  });
});
