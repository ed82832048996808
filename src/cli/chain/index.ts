import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { formatEther, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { startAnvil } from "../../chain/anvil.ts";
import { becomeSequencer, becomeSettler } from "../../chain/clients.ts";
import {
  type ChainClients,
  clientsFor,
  coreParamsOf,
  type Deployment,
  deployCore,
  publicClientFor,
} from "../../chain/deploy.ts";
import { type DeployedValues, readDeployedValues } from "../../chain/deployedParams.ts";
import { DEFAULT_DEPLOYMENT_FILE, type DeploymentFile, readDeployment } from "../../chain/deploymentFile.ts";
import { disputeGameAbi, registryAbi, rollupAbi, verinferTokenAbi } from "../../chain/generated/contracts.ts";
import { VerinferError } from "../../errors.ts";
import { readKeyFile } from "../../node/keys.ts";
import { DEFAULT_OTR_PARAMS } from "../../protocol/params/otr.ts";
import { jsonText } from "../../report/json.ts";
import { renderTable } from "../../report/table.ts";
import { formatVrf } from "../../report/tokens.ts";
import type { CommandContext, CommandSpec, GroupSpec } from "../framework/command.ts";
import { forceIncludeCommand } from "./forceInclude.ts";

function writeDeployment(path: string, rpcUrl: string, d: Deployment): DeploymentFile {
  const file: DeploymentFile = { kind: "verinfer.deployment", rpcUrl, ...d };
  mkdirSync(dirname(resolve(path)), { recursive: true });
  writeFileSync(path, jsonText(file));
  return file;
}

/** Deploys with the protocol's default parameters and makes the deployer the bonded sequencer. */
async function deployDefaults(c: ChainClients, ctx: CommandContext): Promise<Deployment> {
  ctx.info(
    "deploying the token, the registry, the rollup, the one-step check, the dispute game, epoch rewards and ZK spot-checks",
  );
  const d = await deployCore(c, coreParamsOf(DEFAULT_OTR_PARAMS));
  ctx.info("bonding the deployer as the sequencer and the epoch settler");
  await becomeSequencer(c, d, DEFAULT_OTR_PARAMS.rollup.sequencerBond);
  if (d.epochs) await becomeSettler(c, d, DEFAULT_OTR_PARAMS.rollup.sequencerBond);
  return d;
}

function deploymentTable(d: DeploymentFile): string {
  return renderTable(
    ["contract", "address"],
    [
      ["token (VRF)", d.token],
      ["registry", d.registry],
      ["rollup (settlement; receipts' EIP-712 domain)", d.rollup],
      ...(d.disputeGame ? [["dispute game", d.disputeGame]] : []),
      ...(d.stepVerifier ? [["one-step check (TraceStepVerifier)", d.stepVerifier]] : []),
      ...(d.epochs ? [["epoch rewards (Epochs)", d.epochs]] : []),
      ...(d.spotChecks ? [["ZK spot-checks (SpotChecks)", d.spotChecks]] : []),
      ...(d.zkVerifier ? [["spot-check proof verifier (ZkSliceVerifier)", d.zkVerifier]] : []),
    ],
    { title: `verinfer on chain ${d.chainId} at ${d.rpcUrl} (owner and sequencer ${d.owner})` },
  );
}

const upCommand: CommandSpec = {
  name: "up",
  summary: "start a local chain (anvil), deploy verinfer's contracts and keep it running until Ctrl-C",
  description: [
    "Starts anvil on loopback, deploys the token, the registry, the rollup, the dispute game and its",
    "on-chain one-step check (TraceStepVerifier), epoch rewards (Epochs) and ZK spot-checks (SpotChecks over",
    "ZkSliceVerifier, docs/zk.md) with the protocol's default parameters (docs/spec/otr.md),",
    "makes the first dev account the owner and the bonded sequencer, writes",
    "the deployment file and prints the addresses and the funded dev keys (10,000 ETH each; never use",
    "them on a real network).",
  ].join("\n"),
  options: {
    port: {
      type: "integer",
      value: "N",
      default: 8545,
      min: 0,
      max: 65_535,
      description: "RPC port (0: any free one)",
    },
    "block-time": {
      type: "integer",
      value: "S",
      min: 1,
      description: "seconds per block (default: one per transaction)",
    },
    out: {
      type: "string",
      value: "FILE",
      default: DEFAULT_DEPLOYMENT_FILE,
      description: "deployment file to write",
    },
  },
  examples: ["verinfer chain up", "verinfer chain up --port 0 --json --out /tmp/devnet.json"],
  async run(ctx) {
    const blockTime = ctx.number("block-time");
    const chain = await startAnvil({
      port: ctx.number("port") as number,
      ...(blockTime ? { blockTime } : {}),
    });
    try {
      const c = clientsFor(chain.rpcUrl, chain.chainId, chain.keys[0] as Hex);
      const d = await deployDefaults(c, ctx);
      const file = writeDeployment(ctx.string("out") as string, chain.rpcUrl, d);
      const accounts = chain.keys.map((key) => ({ address: privateKeyToAccount(key).address, key }));
      ctx.output({ ...file, pid: chain.pid, accounts }, () =>
        [
          deploymentTable(file),
          "",
          renderTable(
            ["dev account", "private key"],
            accounts.map((a) => [a.address, a.key]),
            { title: "Funded dev accounts (anvil's well-known keys: never use them on a real network)" },
          ),
          "",
          `deployment written to ${ctx.string("out")}; Ctrl-C stops the chain`,
        ].join("\n"),
      );
      await new Promise<void>((done) => {
        process.once("SIGINT", done);
        process.once("SIGTERM", done);
      });
    } finally {
      await chain.stop();
    }
    return 0;
  },
};

const deployCommand: CommandSpec = {
  name: "deploy",
  summary: "deploy verinfer's contracts to any EVM chain with the protocol's default parameters",
  options: {
    rpc: { type: "string", value: "URL", required: true, description: "JSON-RPC endpoint" },
    "key-file": {
      type: "string",
      value: "FILE",
      required: true,
      description: "file holding the deployer's 0x private key",
    },
    out: {
      type: "string",
      value: "FILE",
      default: DEFAULT_DEPLOYMENT_FILE,
      description: "deployment file to write",
    },
  },
  examples: ["verinfer chain deploy --rpc http://127.0.0.1:8545 --key-file deployer.key"],
  async run(ctx) {
    const key = readKeyFile(ctx.string("key-file") as string);
    const rpcUrl = ctx.string("rpc") as string;
    const chainId = await rpcChainId(rpcUrl);
    const d = await deployDefaults(clientsFor(rpcUrl, chainId, key), ctx);
    const file = writeDeployment(ctx.string("out") as string, rpcUrl, d);
    ctx.output(file, () => `${deploymentTable(file)}\n\ndeployment written to ${ctx.string("out")}`);
    return 0;
  },
};

async function rpcChainId(rpcUrl: string): Promise<number> {
  try {
    return await publicClientFor(rpcUrl, 1).getChainId();
  } catch (e) {
    throw new VerinferError(
      "UPSTREAM_CONNECTION_FAILED",
      `cannot reach ${rpcUrl}: ${(e as Error).message.split("\n")[0]}`,
    );
  }
}

/** What the contracts fix (every role reads these at start: chain/deployedParams.ts). */
function parametersTable(v: DeployedValues): string {
  const sec = (ms: number) => `${ms / 1000} s`;
  const pct = (bps: number) => `${bps / 100}%`;
  const eth = (wei: bigint) => `${formatEther(wei)} ETH`;
  const rows: string[][] = [
    ["challenge window (rollup)", sec(v.challengeWindowMs)],
    ["unbonding delay (registry)", sec(v.unbondingMs)],
  ];
  if (v.dispute)
    rows.push(
      ["dispute game: arity, clock per side", `${v.dispute.arity}, ${sec(v.dispute.maxClockMs)}`],
      [
        "extensions: any move, one step",
        `${sec(v.dispute.extensionMs)}, ${sec(v.dispute.oneStepExtensionMs)}`,
      ],
      [
        "worker slash, challenger share",
        `${formatVrf(v.dispute.workerSlash)}, ${pct(v.dispute.challengerShareBps)}`,
      ],
      [
        "bonds: attack a node / a leaf, dissect",
        `${eth(v.dispute.attackNodeBond)} / ${eth(v.dispute.attackLeafBond)} / ${eth(v.dispute.dissectBond)}`,
      ],
    );
  if (v.spotcheck)
    rows.push(
      [
        "ZK spot-checks: ρ, seed delay",
        `${v.spotcheck.rhoPpm / 10_000}%, ${v.spotcheck.seedDelayBlocks} blocks`,
      ],
      [
        "proof deadline, binding window",
        `${sec(v.spotcheck.proofDeadlineMs)}, ${sec(v.spotcheck.bindingWindowMs)}`,
      ],
      ["missing proof slash", formatVrf(v.spotcheck.missingProofSlash)],
    );
  if (v.scores)
    rows.push(
      [
        "epoch, score commit, score reveal",
        `${sec(v.scores.epochMs)}, ${sec(v.scores.scoreCommitMs)}, ${sec(v.scores.scoreRevealMs)}`,
      ],
      ["evaluators per receipt (PoQ's k)", String(v.scores.evaluatorsPerReceipt)],
    );
  if (v.rewards)
    rows.push([
      "reward pools: workers, evaluators, fishermen",
      `${pct(v.rewards.workerShareBps)}, ${pct(v.rewards.evaluatorShareBps)}, ${pct(v.rewards.fishermanShareBps)}`,
    ]);
  return renderTable(["parameter", "value"], rows, { title: "parameters the contracts fix" });
}

const statusCommand: CommandSpec = {
  name: "status",
  summary:
    "what a deployment holds: batches, sequencer bond, stakes, token supply, chain head, and the parameters its contracts fix",
  options: {
    deployment: {
      type: "string",
      value: "FILE",
      default: DEFAULT_DEPLOYMENT_FILE,
      description: "deployment file",
    },
  },
  examples: ["verinfer chain status", "verinfer chain status --deployment /tmp/devnet.json --json"],
  async run(ctx) {
    const d = readDeployment(ctx.string("deployment") as string);
    const chainId = await rpcChainId(d.rpcUrl);
    if (chainId !== d.chainId)
      throw new VerinferError(
        "CONFIG_INVALID",
        `${d.rpcUrl} is chain ${chainId}, the deployment is on ${d.chainId}`,
      );
    const client = publicClientFor(d.rpcUrl, chainId);
    const read = (address: Hex, abi: readonly unknown[], functionName: string) =>
      client.readContract({ address, abi, functionName } as never) as Promise<unknown>;
    const [head, batches, forced, sequencer, bond, supply, deposited, withdrawn, slashed] = await Promise.all(
      [
        client.getBlock(),
        read(d.rollup, rollupAbi, "batchCount"),
        read(d.rollup, rollupAbi, "forcedCount"),
        read(d.rollup, rollupAbi, "sequencer"),
        read(d.rollup, rollupAbi, "sequencerBond"),
        read(d.token, verinferTokenAbi, "totalSupply"),
        read(d.registry, registryAbi, "deposited"),
        read(d.registry, registryAbi, "withdrawn"),
        read(d.registry, registryAbi, "slashed"),
      ],
    );
    const games = d.disputeGame ? ((await read(d.disputeGame, disputeGameAbi, "gameCount")) as bigint) : null;
    const parameters = await readDeployedValues(client, d);
    const status = {
      kind: "verinfer.chain-status",
      deployment: d,
      head: { number: head.number, timestamp: head.timestamp },
      batches,
      forcedReceipts: forced,
      sequencer,
      sequencerBondWei: bond,
      tokenSupplyWei: supply,
      stakes: { depositedWei: deposited, withdrawnWei: withdrawn, slashedWei: slashed },
      disputeGames: games,
      parameters,
    };
    const tokens = (wei: unknown) => `${Number(wei as bigint) / 1e18}`;
    ctx.output(
      status,
      () =>
        `${renderTable(
          ["what", "value"],
          [
            [
              "chain head",
              `block ${head.number} at ${new Date(Number(head.timestamp) * 1000).toISOString()}`,
            ],
            ["batches posted", String(batches)],
            ["receipts forced in by their clients", String(forced)],
            ["sequencer (bond, tokens)", `${sequencer} (${tokens(bond)})`],
            [
              "stakes deposited / withdrawn / slashed (tokens)",
              `${tokens(deposited)} / ${tokens(withdrawn)} / ${tokens(slashed)}`,
            ],
            ["token supply (tokens)", tokens(supply)],
            ["dispute games opened", games === null ? "(no dispute game deployed)" : String(games)],
          ],
          { title: `verinfer on chain ${d.chainId} at ${d.rpcUrl}` },
        )}\n\n${parametersTable(parameters)}`,
    );
    return 0;
  },
};

/** `verinfer chain ...`. */
export const chainGroup: GroupSpec = {
  name: "chain",
  summary:
    "settlement contracts: a local chain with them deployed, deployment to any EVM chain, status, forced inclusion",
  commands: [upCommand, deployCommand, statusCommand, forceIncludeCommand],
};
