/**
 * Runs one role as a process: builds it from its options, listens, writes one JSON "ready" line to
 * stdout (what `verinfer devnet` waits for), and on SIGTERM or SIGINT drains and exits.
 *
 * Each role's service is imported when that role starts, not with this module: a process runs one role,
 * and loading all five through tsx's loader cost every node process about a second more CPU at start.
 */

import { readFileSync } from "node:fs";
import type { Hex } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { type ChainClients, clientsFor, publicClientFor } from "../chain/deploy.ts";
import { deployedParams } from "../chain/deployedParams.ts";
import { type DeploymentFile, readDeployment } from "../chain/deploymentFile.ts";
import { epochsAbi, rollupAbi } from "../chain/generated/contracts.ts";
import { stakeState } from "../chain/stake.ts";
import { isGguf } from "../engine/llamaCpp/llamaCppEngine.ts";
import { VerinferError } from "../errors.ts";
import { fishermanSeed } from "../protocol/dispute/sampling.ts";
import { DEFAULT_OTR_PARAMS, DEVNET_OTR_PARAMS, type OtrParams } from "../protocol/params/otr.ts";
import { DEFAULT_POQ_ROUND_PARAMS } from "../protocol/params/poq.ts";
import { contextRetentionMs } from "../protocol/rollup/receiptAge.ts";
import { formatVrf } from "../report/tokens.ts";
import { pinnedDevRoot, verifyWorkerEvidence } from "./attester.ts";
import { readKeyFile } from "./keys.ts";
import type {
  CommonConfig,
  EvaluatorConfig,
  FishermanConfig,
  GatewayConfig,
  Role,
  SettlerConfig,
  WorkerConfig,
} from "./nodeConfig.ts";
import { type Logger, nodeLogger } from "./observability.ts";
import { retentionMsOf } from "./retention.ts";
import { addressOfKey } from "./roleAuth.ts";
import type { WorkerAttestation } from "./services/gateway/workerLinks.ts";
import type { WorkerEvidence } from "./services/worker/workerService.ts";
import { tokenTextOf } from "./tokenText.ts";

/** What a started role reports. */
export interface NodeReady {
  readonly ready: true;
  readonly role: Role;
  readonly url: string;
  readonly address: string;
  readonly pid: number;
}

/** A started role: its ready report and how to stop it. */
export interface RunningNode {
  readonly ready: NodeReady;
  close(): Promise<void>;
}

/**
 * Listens, or closes the started role and fails: its engine threads and timers would otherwise keep
 * the process alive after the error, and `devnet up` would wait for a ready line that never comes.
 */
async function listen(
  node: { app: { listen(o: { host: string; port: number }): Promise<string> }; close(): Promise<void> },
  host: string,
  port: number,
) {
  try {
    return await node.app.listen({ host, port });
  } catch (e) {
    await node.close();
    throw new VerinferError("CONFIG_INVALID", `cannot listen on ${host}:${port}: ${(e as Error).message}`);
  }
}

/** A role's chain account on its RPC, re-sending stuck transactions as its config says. */
function chainClients(
  c: CommonConfig,
  deployment: DeploymentFile,
  key: `0x${string}`,
  logger: Logger,
): ChainClients {
  return clientsFor(c.rpcUrl ?? deployment.rpcUrl, deployment.chainId, key, {
    resendAfterMs: c.resendAfterSeconds * 1000,
    maxFeePerGas: c.maxFeeGwei === undefined ? undefined : BigInt(Math.round(c.maxFeeGwei * 1e9)),
    logger,
  });
}

/**
 * The protocol parameters a role runs with: its preset (`params`) with every value the deployment
 * fixes read from the contracts (chain/deployedParams.ts), logged once at start.
 */
async function protocolParams(
  c: { params: "devnet" | "default" },
  chain: Pick<ChainClients, "public">,
  deployment: DeploymentFile,
  logger: Logger,
): Promise<OtrParams> {
  const preset = c.params === "devnet" ? DEVNET_OTR_PARAMS : DEFAULT_OTR_PARAMS;
  const p = await deployedParams(chain.public, deployment, preset, c.params);
  logger.info(
    {
      preset: c.params,
      challengeWindowMs: p.rollup.challengeWindowMs,
      maxReceiptAgeMs: p.rollup.maxReceiptAgeMs,
      maxClockMs: p.dispute.maxClockMs,
      epochMs: p.poea.epochMs,
      seedDelayBlocks: p.spotcheck.seedDelayBlocks,
      evaluatorsPerReceipt: p.poea.evaluatorsPerReceipt,
    },
    "protocol parameters read from the deployment",
  );
  return p;
}

/** Starts a worker. */
export async function startWorker(c: WorkerConfig): Promise<RunningNode> {
  const { createWorker } = await import("./services/worker/workerService.ts");
  const logger = nodeLogger("worker", c.logLevel);
  const deployment = readDeployment(c.deployment);
  const operator = c.operatorKeyFile
    ? chainClients(c, deployment, readKeyFile(c.operatorKeyFile), logger)
    : undefined;
  const params = await protocolParams(
    c,
    operator ?? { public: publicClientFor(c.rpcUrl ?? deployment.rpcUrl, deployment.chainId) },
    deployment,
    logger,
  );
  const horizonMs = contextRetentionMs(params);
  const retentionMs = c.contextRetentionSeconds === undefined ? horizonMs : c.contextRetentionSeconds * 1000;
  if (retentionMs < horizonMs)
    logger.warn(
      { retentionMs, horizonMs },
      "contexts are kept for less than the protocol's horizon: a receipt disputed or spot-checked later than that cannot be defended or proven (its stake is at risk)",
    );
  const worker = await createWorker({
    dataDir: c.dataDir,
    keyFile: c.keyFile,
    model: c.model,
    modelName: c.modelName,
    deployment,
    gateways: c.gateways as `0x${string}`[],
    threads: c.threads,
    engineNice: c.engineNice,
    adversary: c.adversary,
    devTeeKeys: c.devTeeKeys,
    evidence: c.evidence,
    logger,
    retentionMs,
    ...(operator && deployment.disputeGame
      ? {
          defence: {
            chain: operator,
            disputeGame: deployment.disputeGame,
            params: params.dispute,
            pollMs: c.pollMs,
            spotChecks: deployment.spotChecks,
          },
        }
      : {}),
  });
  const url = await listen(worker, c.host, c.port);
  logger.info({ url, address: worker.identity.address, adversary: c.adversary }, "worker ready");
  return {
    ready: { ready: true, role: "worker", url, address: worker.identity.address, pid: process.pid },
    close: () => worker.close(),
  };
}

/** The attester's check of a worker's evidence, kept as claims for the dashboard. */
async function evidenceVerifier(
  devRootPem: string,
  d: DeploymentFile,
): Promise<(e: WorkerEvidence) => WorkerAttestation> {
  const { registrationChallenge } = await import("./services/worker/workerService.ts");
  const devRoot = pinnedDevRoot(devRootPem);
  const challenge = registrationChallenge(d.chainId, d.registry);
  return (evidence) => {
    const r = verifyWorkerEvidence(evidence, { challenge, devRoot, at: Date.now() });
    return {
      attestationHash: r.attestationHash,
      overall: r.overall,
      gpus: r.gpus.map((g) => ({ kind: g.evidenceKind, claims: g.claims })),
      failures: r.failures.map((f) => `${f.claim}: ${f.message}`),
    };
  };
}

/**
 * Refuses a key that is not the account a contract names for `role` (the rollup's sequencer, the
 * epochs' settler): such a node would start, then have every transaction it exists to send refused (a
 * gateway would even promise batch positions first). The sequencer's bond is checked too; a settler
 * tops its own bond up before it posts (settlerService's ensureBond).
 */
async function checkRoleAccount(
  chain: ChainClients,
  keyFile: string,
  role: "sequencer" | "settler",
  contract: { readonly address: Hex; readonly abi: readonly unknown[]; readonly name: string },
): Promise<void> {
  const read = (functionName: string) =>
    chain.public.readContract({ address: contract.address, abi: contract.abi, functionName } as never);
  const holder = (await read(role)) as Hex;
  const me = chain.wallet.account.address;
  if (holder.toLowerCase() !== me.toLowerCase())
    throw new VerinferError(
      "CONFIG_INVALID",
      `${keyFile} is the key of ${me}, but the ${contract.name}'s ${role} is ${holder} (chain deploy makes the deployer both the sequencer and the settler)`,
    );
  if (role !== "sequencer") return;
  const [bond, minimum] = (await Promise.all([read("sequencerBond"), read("minSequencerBond")])) as [
    bigint,
    bigint,
  ];
  if (bond < minimum)
    throw new VerinferError(
      "CONFIG_INVALID",
      `the sequencer's bond is ${formatVrf(bond)}, below the rollup's minimum ${formatVrf(minimum)}: its batches would be refused (Rollup.depositBond)`,
    );
}

/** Starts a gateway. */
export async function startGateway(c: GatewayConfig): Promise<RunningNode> {
  const { createGateway } = await import("./services/gateway/gatewayService.ts");
  const logger = nodeLogger("gateway", c.logLevel);
  const deployment = readDeployment(c.deployment);
  const key = readKeyFile(c.keyFile);
  const chain = chainClients(c, deployment, key, logger);
  const params = await protocolParams(c, chain, deployment, logger);
  if (c.verification !== "none")
    await checkRoleAccount(chain, c.keyFile, "sequencer", {
      address: deployment.rollup,
      abi: rollupAbi,
      name: "rollup",
    });
  const gateway = createGateway({
    dataDir: c.dataDir,
    key,
    chain,
    deployment,
    workers: c.workers,
    rollupParams: params.rollup,
    apiClients: c.apiKeys,
    openRequestsPerMinute: c.openRequestsPerMinute,
    bodyLimit: c.maxRequestBytes,
    receiptRetentionMs: retentionMsOf(c.receiptRetentionDays),
    maxStoreBytes: c.maxStoreMb === undefined ? undefined : c.maxStoreMb * 1_048_576,
    refreshMs: c.refreshMs,
    maxFeePerGas: chain.maxFeePerGas,
    finality: c.finality,
    routingSeed: c.routingSeed,
    settler: c.settler?.replace(/\/$/, ""),
    rpcUrl: c.rpcUrl ?? deployment.rpcUrl,
    disputeParams: params.dispute,
    attest: c.devRoot ? await evidenceVerifier(readFileSync(c.devRoot, "utf8"), deployment) : undefined,
    verification: c.verification,
    logger,
  });
  if (c.verification === "none")
    logger.warn(
      "verification is off: this gateway forwards answers unchecked and records nothing (a measurement baseline, never a network's gateway)",
    );
  await gateway.start();
  const url = await listen(gateway, c.host, c.port);
  logger.info(
    { url, sequencer: addressOfKey(key), workers: c.workers.length, routingSeed: c.routingSeed },
    "gateway ready",
  );
  return {
    ready: { ready: true, role: "gateway", url, address: addressOfKey(key), pid: process.pid },
    close: () => gateway.close(),
  };
}

/**
 * Warns at start when the role's account is not registered in `role` or holds no stake above the role's
 * minimum: the node runs (it may join later), but what it does then goes unrewarded or unasked.
 */
async function warnUnlessStaked(
  chain: ChainClients,
  d: DeploymentFile,
  role: "fisherman" | "evaluator",
  consequence: string,
  logger: Logger,
): Promise<void> {
  const s = await stakeState(chain.public, d, chain.wallet.account.address);
  const join = `join with 'verinfer node stake deposit --role ${role}' (docs/deploy.md)`;
  if (s.role !== role)
    logger.warn(
      { account: s.address, registeredAs: s.role },
      `this account is not a registered ${role}: ${consequence}; ${join}`,
    );
  else if (s.active === 0n || s.active < s.minimum)
    logger.warn(
      { account: s.address, stake: formatVrf(s.active), minimum: formatVrf(s.minimum) },
      `this ${role}'s stake is below what counts: ${consequence}; add with 'verinfer node stake deposit'`,
    );
}

/** Starts a fisherman. */
export async function startFisherman(c: FishermanConfig): Promise<RunningNode> {
  if (isGguf(c.model))
    throw new VerinferError(
      "CONFIG_INVALID",
      `${c.model} is a GGUF model: llama.cpp records no execution trace, so its receipts cannot be disputed and a fisherman has nothing to check`,
    );
  const logger = nodeLogger("fisherman", c.logLevel);
  const deployment = readDeployment(c.deployment);
  if (!deployment.disputeGame)
    throw new VerinferError(
      "CONFIG_INVALID",
      `${c.deployment} has no dispute game: a fisherman has nothing to play`,
    );
  const key = readKeyFile(c.keyFile);
  const { createFisherman } = await import("./services/fisherman/fishermanService.ts");
  const chain = chainClients(c, deployment, key, logger);
  await warnUnlessStaked(
    chain,
    deployment,
    "fisherman",
    "it earns no share of the fishermen's epoch rewards (shared by stake), and the gateway refuses it the copies of requests a withholding worker will not give out",
    logger,
  );
  const fisherman = createFisherman({
    retentionMs: retentionMsOf(c.retentionDays),
    dataDir: c.dataDir,
    chain,
    deployment,
    dispute: (await protocolParams(c, chain, deployment, logger)).dispute,
    model: c.model,
    gateway: c.gateway.replace(/\/$/, ""),
    key,
    sampleRate: c.sampleRate,
    reexecutionShare: c.reexecutionShare,
    engineNice: c.engineNice,
    // A crew draws from its shared secret (each member's share, the same draw for all); one alone from
    // its configured seed, or from its own key.
    seed: c.crewKeyFile ? fishermanSeed(readKeyFile(c.crewKeyFile)) : (c.seed ?? fishermanSeed(key)),
    crew: { size: c.crewSize, member: c.crewMember },
    pollMs: c.pollMs,
    logger,
  });
  const url = await listen(fisherman, c.host, c.port);
  fisherman.start();
  logger.info(
    {
      url,
      account: addressOfKey(key),
      sampleRate: c.sampleRate,
      ...(c.crewSize > 1 ? { crew: `${c.crewMember} of ${c.crewSize}` } : {}),
    },
    "fisherman ready",
  );
  return {
    ready: { ready: true, role: "fisherman", url, address: addressOfKey(key), pid: process.pid },
    close: () => fisherman.close(),
  };
}

/** Starts an evaluator. */
export async function startEvaluator(c: EvaluatorConfig): Promise<RunningNode> {
  const logger = nodeLogger("evaluator", c.logLevel);
  const deployment = readDeployment(c.deployment);
  if (!deployment.scoreCommits)
    throw new VerinferError(
      "CONFIG_INVALID",
      `${c.deployment} has no ScoreCommits: evaluators have nowhere to commit`,
    );
  const key = readKeyFile(c.keyFile);
  const chain = chainClients(c, deployment, key, logger);
  const params = await protocolParams(c, chain, deployment, logger);
  await warnUnlessStaked(
    chain,
    deployment,
    "evaluator",
    "the protocol samples only staked evaluators, so it is asked to score nothing",
    logger,
  );
  const { createEvaluatorNode } = await import("./services/evaluator/evaluatorService.ts");
  const { nodeEvaluator } = await import("./services/evaluator/nodeEvaluator.ts");
  const evaluator = await nodeEvaluator(c);
  const node = createEvaluatorNode({
    retentionMs: retentionMsOf(c.retentionDays),
    dataDir: c.dataDir,
    chain,
    deployment,
    tokenText: await tokenTextOf(c.model),
    evaluator,
    gateway: c.gateway.replace(/\/$/, ""),
    k: params.poea.evaluatorsPerReceipt,
    seedDelayBlocks: params.spotcheck.seedDelayBlocks,
    adversary: c.adversary,
    pollMs: c.pollMs,
    logger,
  });
  const url = await listen(node, c.host, c.port);
  node.start();
  logger.info(
    { url, account: addressOfKey(key), evaluator: evaluator.info.name, adversary: c.adversary },
    "evaluator ready",
  );
  return {
    ready: { ready: true, role: "evaluator", url, address: addressOfKey(key), pid: process.pid },
    close: () => node.close(),
  };
}

/** Starts the epoch settler. */
export async function startSettler(c: SettlerConfig): Promise<RunningNode> {
  const logger = nodeLogger("settler", c.logLevel);
  const deployment = readDeployment(c.deployment);
  // An auditor sends no transaction: a key of its own only stands in for the account it never uses.
  const key = c.keyFile ? readKeyFile(c.keyFile) : generatePrivateKey();
  const chain = chainClients(c, deployment, key, logger);
  const params = await protocolParams(c, chain, deployment, logger);
  if (c.mode === "settle" && c.keyFile && deployment.epochs)
    await checkRoleAccount(chain, c.keyFile, "settler", {
      address: deployment.epochs,
      abi: epochsAbi,
      name: "epochs contract",
    });
  const { createSettler } = await import("./services/settler/settlerService.ts");
  const node = createSettler({
    retentionMs: retentionMsOf(c.retentionDays),
    maxReceiptAgeMs: params.rollup.maxReceiptAgeMs,
    dataDir: c.dataDir,
    chain,
    deployment,
    poea: params.poea,
    // The deployment's k: the evaluators scored the receipts that draw gave them.
    round: { ...DEFAULT_POQ_ROUND_PARAMS, k: params.poea.evaluatorsPerReceipt },
    seedDelayBlocks: params.spotcheck.seedDelayBlocks,
    pollMs: c.pollMs,
    logger,
    mode: c.mode,
  });
  const url = await listen(node, c.host, c.port);
  node.start();
  logger.info({ url, account: addressOfKey(key), mode: c.mode }, "settler ready");
  return {
    ready: { ready: true, role: "settler", url, address: addressOfKey(key), pid: process.pid },
    close: () => node.close(),
  };
}

/** Runs a started role until SIGTERM/SIGINT, then drains it. */
export async function runUntilSignalled(node: RunningNode): Promise<void> {
  process.stdout.write(`${JSON.stringify(node.ready)}\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await node.close();
}
