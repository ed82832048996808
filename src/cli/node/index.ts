import { readFileSync } from "node:fs";
import { loadTrustAnchors } from "../../attestation/evidenceFiles.ts";
import { clientsFor } from "../../chain/deploy.ts";
import { readDeployment } from "../../chain/deploymentFile.ts";
import { VerinferError } from "../../errors.ts";
import { pinnedDevRoot } from "../../node/attester.ts";
import { readKeyFile } from "../../node/keys.ts";
import { type Role, resolveRoleConfig, roleEnvNames } from "../../node/nodeConfig.ts";
import { attesterAddress, fetchWorker, registerModelOf, registerWorker } from "../../node/registration.ts";
import {
  runUntilSignalled,
  startEvaluator,
  startFisherman,
  startGateway,
  startSettler,
  startWorker,
} from "../../node/runNode.ts";
import { DEVNET_OTR_PARAMS } from "../../protocol/params/otr.ts";
import { formatVrf } from "../../report/tokens.ts";
import type { CommandSpec, GroupSpec } from "../framework/command.ts";
import { stakeGroup } from "./stake.ts";

const COMMON_OPTIONS = {
  config: {
    type: "string",
    value: "FILE",
    description: 'JSON config file with a section for the role ({"worker": {...}})',
  },
  host: { type: "string", value: "ADDRESS", description: "address to listen on (default 127.0.0.1)" },
  port: { type: "integer", value: "N", min: 0, max: 65_535, description: "port (0: any free one)" },
  "data-dir": { type: "string", value: "DIR", description: "the role's state folder (SQLite, keys)" },
  deployment: { type: "string", value: "FILE", description: "deployment file (`verinfer chain up|deploy`)" },
  rpc: { type: "string", value: "URL", description: "JSON-RPC endpoint (default: the deployment file's)" },
  "log-level": { type: "string", value: "LEVEL", description: "fatal|error|warn|info|debug|trace|silent" },
  "max-fee-gwei": {
    type: "string",
    value: "GWEI",
    description: "the most the role's transactions offer per gas (default: what the chain asks)",
  },
  "resend-after-seconds": {
    type: "string",
    value: "S",
    description: "a transaction pending this long is sent again with higher fees (default 30)",
  },
} as const;

type Starter = (config: never) => ReturnType<typeof startWorker>;

function roleCommand(
  role: Role,
  summary: string,
  extra: CommandSpec["options"],
  start: Starter,
): CommandSpec {
  const env = Object.values(roleEnvNames(role));
  return {
    name: role,
    summary,
    description: [
      `Runs the ${role} role in this process until SIGTERM or Ctrl-C (it then drains: running requests finish).`,
      "Options come from defaults < the config file's section < environment < flags; every problem is",
      `reported at once. Environment: ${env.join(", ")}.`,
      "Prints one JSON line {ready, role, url, address, pid} on stdout when it listens; logs are JSON on stderr.",
    ].join("\n"),
    options: { ...COMMON_OPTIONS, ...extra },
    examples: [`verinfer node ${role} --config ${role}.json`],
    async run(ctx) {
      const flags = {
        host: ctx.string("host"),
        port: ctx.number("port"),
        dataDir: ctx.string("data-dir"),
        deployment: ctx.string("deployment"),
        rpcUrl: ctx.string("rpc"),
        logLevel: ctx.string("log-level"),
        maxFeeGwei: ctx.string("max-fee-gwei"),
        resendAfterSeconds: ctx.string("resend-after-seconds"),
        // The role's own options, by their config names (`key-file` → keyFile).
        ...Object.fromEntries(
          Object.keys(extra ?? {}).map((flag) => [
            flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
            ctx.string(flag),
          ]),
        ),
      };
      const config = resolveRoleConfig(role, ctx.string("config"), process.env, flags);
      await runUntilSignalled(await start(config as never));
      return 0;
    },
  };
}

const registerCommand: CommandSpec = {
  name: "register",
  summary: "register and stake a running worker on chain after the attester verifies its evidence",
  description: [
    "Fetches the worker's identity and registration evidence (GET /v1/identity, /v1/evidence), verifies the",
    "evidence as the attester (certificate chains to the pinned roots — --dev-root for the dev TEE, --nvidia-roots",
    "for H100 hardware — RIMs, measurements, OCSP, the enclave key bound to this network's challenge), signs the",
    "attester's verdict, and as the worker's operator registers",
    "the worker and deposits --stake. With --owner-key-file (the deployment's owner) the model is registered",
    "first if it is not, the attester is allowed, and the stake is minted to the operator (devnet faucet).",
    "A worker already registered is re-attested instead: its evidence verified again now and a new 30-day",
    "expiry on chain (Registry.reattest), its stake untouched. Run it before the attestation expires: the",
    "gateway routes nothing to a worker past its expiry.",
  ].join("\n"),
  options: {
    deployment: { type: "string", value: "FILE", required: true, description: "deployment file" },
    worker: { type: "string", value: "URL", required: true, description: "the worker's base URL" },
    "operator-key-file": {
      type: "string",
      value: "FILE",
      required: true,
      description: "the operator's key (mode 0600)",
    },
    "attester-key-file": {
      type: "string",
      value: "FILE",
      required: true,
      description: "the attester's key (mode 0600)",
    },
    "dev-root": {
      type: "string",
      value: "PEM",
      description: "the dev-TEE root certificate the attester pins (devnet policy)",
    },
    "nvidia-roots": {
      type: "string",
      value: "DIR",
      description:
        "NVIDIA's pinned roots (verifier_device_root.pem, verifier_RIM_root.pem; e.g. <data-dir>/nvtrust/roots) for H100 evidence",
    },
    policy: {
      type: "string",
      value: "NAME",
      default: "devnet",
      description: "devnet (the dev TEE accepted under --dev-root) or production (NVIDIA hardware only)",
    },
    "owner-key-file": {
      type: "string",
      value: "FILE",
      description: "the owner's key: register the model, mint the stake",
    },
    stake: {
      type: "string",
      value: "WEI",
      default: String(DEVNET_OTR_PARAMS.poea.minWorkerStake),
      description: "stake to deposit",
    },
    rpc: { type: "string", value: "URL", description: "JSON-RPC endpoint (default: the deployment file's)" },
  },
  examples: [
    "verinfer node register --deployment d.json --worker http://10.0.0.5:8601 --operator-key-file op.key --attester-key-file att.key --dev-root dev-root.pem",
    "verinfer node register --deployment d.json --worker https://h100-1:8601 --operator-key-file op.key --attester-key-file att.key --nvidia-roots ../shared/data/nvtrust/roots --policy production",
  ],
  async run(ctx) {
    const policy = ctx.string("policy");
    if (policy !== "devnet" && policy !== "production")
      throw new VerinferError("CLI_USAGE", `--policy is devnet or production, not ${policy}`);
    const devRootFile = ctx.string("dev-root");
    const nvidiaRoots = ctx.string("nvidia-roots");
    if (!devRootFile && !nvidiaRoots)
      throw new VerinferError("CLI_USAGE", "pin --dev-root, --nvidia-roots, or both");
    if (policy === "production" && !nvidiaRoots)
      throw new VerinferError(
        "CLI_USAGE",
        "the production policy accepts NVIDIA hardware only: pass --nvidia-roots",
      );
    const d = readDeployment(ctx.string("deployment") as string);
    const rpc = ctx.string("rpc") ?? d.rpcUrl;
    const stakeText = ctx.string("stake") as string;
    if (!/^\d{1,40}$/.test(stakeText))
      throw new VerinferError("CLI_USAGE", "--stake is an amount in wei (digits)");
    const attesterKey = readKeyFile(ctx.string("attester-key-file") as string);
    const attest = {
      policy,
      devRoot: devRootFile ? pinnedDevRoot(readFileSync(devRootFile, "utf8")) : undefined,
      nvidia: nvidiaRoots ? loadTrustAnchors(nvidiaRoots) : undefined,
    } as const;
    const { identity, evidence } = await fetchWorker(ctx.string("worker") as string);
    const ownerFile = ctx.string("owner-key-file");
    const owner = ownerFile ? clientsFor(rpc, d.chainId, readKeyFile(ownerFile)) : undefined;
    if (owner) await registerModelOf(owner, d, identity, attesterAddress(attesterKey));
    const done = await registerWorker({
      deployment: d,
      identity,
      evidence,
      operator: clientsFor(rpc, d.chainId, readKeyFile(ctx.string("operator-key-file") as string)),
      attesterKey,
      attest,
      stake: BigInt(stakeText),
      validSeconds: 30n * 86_400n,
      ...(owner ? { faucet: owner } : {}),
    });
    const until = new Date(done.expiresAt * 1000).toISOString();
    ctx.output(
      {
        registered: identity.address,
        model: identity.modelName,
        attestationHash: identity.attestationHash,
        reattested: done.reattested,
        attestedUntil: done.expiresAt,
        ...(done.reattested ? {} : { stake: stakeText }),
      },
      () =>
        done.reattested
          ? `re-attested worker ${identity.address} (${identity.modelName}, already registered) with attestation ${identity.attestationHash} until ${until}; its stake is unchanged ('verinfer node stake deposit' adds to it)`
          : `registered worker ${identity.address} (${identity.modelName}) with attestation ${identity.attestationHash} until ${until}, staked ${formatVrf(BigInt(stakeText))}`,
    );
    return 0;
  },
};

/** `verinfer node ROLE`. */
export const nodeGroup: GroupSpec = {
  name: "node",
  summary:
    "run one role of a network (worker, gateway, fisherman, evaluator, settler) against any EVM RPC (docs/deploy.md)",
  commands: [
    roleCommand(
      "worker",
      "serve inference on the verifiable engine, signing a receipt per request",
      {
        model: { type: "string", value: "FILE", description: "llama2.c checkpoint (tokenizer beside it)" },
        "key-file": {
          type: "string",
          value: "FILE",
          description: "enclave key (default <data-dir>/enclave.key)",
        },
        adversary: {
          type: "string",
          value: "KIND",
          description: "devnet cheat: none | wrong-output | downgrade | lazy",
        },
      },
      startWorker,
    ),
    roleCommand(
      "gateway",
      "OpenAI-compatible gateway and sequencer: verifies, records and batches receipts, posts roots",
      { "key-file": { type: "string", value: "FILE", description: "the sequencer's key file (mode 0600)" } },
      startGateway,
    ),
    roleCommand(
      "fisherman",
      "re-execute posted receipts, dispute mismatches, play the bisection game on chain",
      {
        "key-file": { type: "string", value: "FILE", description: "the fisherman's key file (mode 0600)" },
        model: { type: "string", value: "FILE", description: "the workers' llama2.c checkpoint" },
        gateway: {
          type: "string",
          value: "URL",
          description: "a gateway (its /v1/network lists the workers)",
        },
      },
      startFisherman,
    ),
    roleCommand(
      "evaluator",
      "score the posted receipts the protocol samples this evaluator for; commit and reveal the scores",
      {
        "key-file": { type: "string", value: "FILE", description: "the evaluator's key file (mode 0600)" },
        model: {
          type: "string",
          value: "FILE",
          description: "the workers' llama2.c checkpoint (its tokenizer)",
        },
        gateway: {
          type: "string",
          value: "URL",
          description: "a gateway (its /v1/network lists the workers)",
        },
        evaluator: {
          type: "string",
          value: "NAMES",
          description:
            "comma-separated, scored as one composite: structure | alignment:X | llm-judge (with --judge-url, --judge-model) (default: structure,alignment:chrf, + alignment:sts with --sts-model)",
        },
        "sts-model": {
          type: "string",
          value: "FILE",
          description: "learned STS model for alignment:sts (verinfer evaluators train-sts --out FILE)",
        },
        "judge-url": {
          type: "string",
          value: "URL",
          description: "OpenAI-compatible endpoint of the LLM judge",
        },
        "judge-model": { type: "string", value: "NAME", description: "the LLM judge's model" },
        adversary: {
          type: "string",
          value: "KIND",
          description: "devnet cheat: none | colluding (always 10)",
        },
      },
      startEvaluator,
    ),
    roleCommand(
      "settler",
      "settle each epoch: PoQ rounds from the revealed scores, PoEA attribution, the reward root on chain (or, with --mode audit, check the settler's)",
      {
        mode: {
          type: "string",
          value: "MODE",
          description:
            "settle (post and claim each epoch) | audit (post nothing: recompute each epoch from the chain and check the root the settler posted; no key needed)",
        },
        "key-file": {
          type: "string",
          value: "FILE",
          description: "the settler's key file (mode 0600); not needed to audit",
        },
      },
      startSettler,
    ),
    registerCommand,
    stakeGroup,
  ],
};
