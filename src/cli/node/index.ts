import { type Role, resolveRoleConfig, roleEnvNames } from "../../node/nodeConfig.ts";
import { runUntilSignalled, startFisherman, startGateway, startWorker } from "../../node/runNode.ts";
import type { CommandSpec, GroupSpec } from "../framework/command.ts";

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
        ...(role === "worker"
          ? {
              model: ctx.string("model"),
              keyFile: ctx.string("key-file"),
              adversary: ctx.string("adversary"),
            }
          : { keyFile: ctx.string("key-file") }),
      };
      const config = resolveRoleConfig(role, ctx.string("config"), process.env, flags);
      await runUntilSignalled(await start(config as never));
      return 0;
    },
  };
}

/** `verinfer node ROLE`. */
export const nodeGroup: GroupSpec = {
  name: "node",
  summary: "run one role of a network (worker, gateway, fisherman) against any EVM RPC (docs/deploy.md)",
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
        adversary: { type: "string", value: "KIND", description: "devnet cheat: none | wrong-output" },
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
  ],
};
