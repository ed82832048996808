/**
 * `verinfer node stake show|deposit|unbond|withdraw`: a participant's stake in the registry, managed by
 * its operator — a fisherman or an evaluator joining a network, a worker's operator topping up or
 * leaving — without writing transactions by hand.
 */
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { send } from "../../chain/clients.ts";
import { type ChainClients, clientsFor, type Deployment, publicClientFor } from "../../chain/deploy.ts";
import { readDeployment } from "../../chain/deploymentFile.ts";
import { verinferTokenAbi } from "../../chain/generated/contracts.ts";
import {
  depositStake,
  minimumStake,
  type StakeState,
  stakeState,
  unbondStake,
  withdrawStake,
} from "../../chain/stake.ts";
import { VerinferError } from "../../errors.ts";
import { readKeyFile } from "../../node/keys.ts";
import { renderTable } from "../../report/table.ts";
import { formatVrf } from "../../report/tokens.ts";
import type { CommandContext, CommandSpec, GroupSpec, OptionSpec } from "../framework/command.ts";

const KEY_FILE: OptionSpec = {
  type: "string",
  value: "FILE",
  description: "the operator's key (mode 0600): a fisherman's or evaluator's own, a worker's operator's",
};

const OPTIONS: Record<string, OptionSpec> = {
  deployment: { type: "string", value: "FILE", required: true, description: "deployment file" },
  "key-file": KEY_FILE,
  participant: {
    type: "string",
    value: "ADDRESS",
    description: "whose stake (default: the key's own account; a worker's address for its operator)",
  },
  rpc: { type: "string", value: "URL", description: "JSON-RPC endpoint (default: the deployment file's)" },
};

/** The options of a command that sends transactions: the operator's key is required. */
const SENDING: Record<string, OptionSpec> = { ...OPTIONS, "key-file": { ...KEY_FILE, required: true } };

const AMOUNT: OptionSpec = { type: "string", value: "WEI", description: "amount in wei (digits)" };

interface Target {
  readonly d: Deployment;
  readonly rpc: string;
  readonly who: Hex;
  readonly operator: ChainClients | null;
}

function target(ctx: CommandContext): Target {
  const d = readDeployment(ctx.string("deployment") as string);
  const rpc = ctx.string("rpc") ?? d.rpcUrl;
  const keyFile = ctx.string("key-file");
  const key = keyFile ? readKeyFile(keyFile) : null;
  const participant = ctx.string("participant");
  if (participant !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(participant))
    throw new VerinferError("CLI_USAGE", `--participant is a 0x address, not ${participant}`);
  const who = (participant ?? (key ? privateKeyToAccount(key).address : null)) as Hex | null;
  if (!who) throw new VerinferError("CLI_USAGE", "pass --participant or --key-file (see --help)");
  return { d, rpc, who, operator: key ? clientsFor(rpc, d.chainId, key) : null };
}

function amountOf(ctx: CommandContext): bigint | undefined {
  const text = ctx.string("amount");
  if (text === undefined) return undefined;
  if (!/^\d{1,40}$/.test(text) || BigInt(text) === 0n)
    throw new VerinferError("CLI_USAGE", `--amount is a positive amount in wei (digits), not ${text}`);
  return BigInt(text);
}

/** Prints a participant's state as a table, or JSON. */
function show(ctx: CommandContext, s: StakeState, done?: string): void {
  const when = (seconds: number | null) => (seconds === null ? "—" : new Date(seconds * 1000).toISOString());
  ctx.output({ kind: "verinfer.stake", ...s, ...(done ? { done } : {}) }, () =>
    [
      ...(done ? [done, ""] : []),
      renderTable(
        ["what", "value"],
        [
          ["role", s.role],
          ["operator", s.operator ?? "—"],
          ["active stake", `${formatVrf(s.active)} (the role's minimum: ${formatVrf(s.minimum)})`],
          ["unbonding (still slashable)", formatVrf(s.unbonding)],
          ["latest unbonding withdrawable from", when(s.lastAvailableAt)],
          ...(s.attestedUntil !== null ? [["attested until", when(s.attestedUntil)]] : []),
        ],
        { title: `stake of ${s.address}` },
      ),
    ].join("\n"),
  );
}

const showCommand: CommandSpec = {
  name: "show",
  summary: "a participant's role, operator, active and unbonding stake",
  options: OPTIONS,
  examples: ["verinfer node stake show --deployment d.json --participant 0x90F7…"],
  async run(ctx) {
    const t = target(ctx);
    show(ctx, await stakeState(publicClientFor(t.rpc, t.d.chainId), t.d, t.who));
    return 0;
  },
};

const depositCommand: CommandSpec = {
  name: "deposit",
  summary: "join as a fisherman or an evaluator, or add to a participant's stake",
  description: [
    "Registers the key's account in --role (fisherman or evaluator) if it is not registered, then deposits",
    "--amount of the operator's tokens (default: what brings the active stake to the role's minimum). An",
    "evaluator below the minimum is never sampled; fishermen share their reward pool by stake. A worker",
    "registers with 'verinfer node register'; its operator tops its stake up here with --participant.",
    "With --owner-key-file (the deployment's owner) the tokens are minted first (devnet faucet).",
  ].join("\n"),
  options: {
    ...SENDING,
    role: {
      type: "string",
      value: "ROLE",
      choices: ["fisherman", "evaluator"],
      description: "role to join as",
    },
    amount: AMOUNT,
    "owner-key-file": {
      type: "string",
      value: "FILE",
      description: "the owner's key: mint the tokens (devnet)",
    },
  },
  examples: [
    "verinfer node stake deposit --deployment d.json --key-file fisherman.key --role fisherman --amount 1000000000000000000",
    "verinfer node stake deposit --deployment d.json --key-file evaluator.key --role evaluator",
    "verinfer node stake deposit --deployment d.json --key-file operator.key --participant 0xWORKER --amount 5000000000000000000",
  ],
  async run(ctx) {
    const t = target(ctx);
    const c = t.operator as ChainClients;
    const role = ctx.string("role") as "fisherman" | "evaluator" | undefined;
    const before = await stakeState(c.public, t.d, t.who);
    // The default fills up to the role's minimum (the role joined, for an account not registered yet).
    const minimum = before.role === "none" && role ? await minimumStake(c.public, t.d, role) : before.minimum;
    const amount = amountOf(ctx) ?? (minimum > before.active ? minimum - before.active : 0n);
    const ownerFile = ctx.string("owner-key-file");
    const me = c.wallet.account.address;
    if (ownerFile && amount > 0n)
      await send(
        clientsFor(t.rpc, t.d.chainId, readKeyFile(ownerFile)),
        t.d.token,
        verinferTokenAbi,
        "mint",
        [me, amount],
      );
    await depositStake(c, t.d, t.who, amount, role);
    const after = await stakeState(c.public, t.d, t.who);
    const joined = before.role === "none" ? `registered ${t.who} as ${after.role}; ` : "";
    show(ctx, after, `${joined}deposited ${formatVrf(amount)}`);
    return 0;
  },
};

const unbondCommand: CommandSpec = {
  name: "unbond",
  summary: "start unbonding stake: it stays slashable until the registry's unbonding delay has passed",
  options: {
    ...SENDING,
    amount: { ...AMOUNT, description: "amount in wei (default: all the active stake)" },
  },
  examples: ["verinfer node stake unbond --deployment d.json --key-file fisherman.key"],
  async run(ctx) {
    const t = target(ctx);
    const c = t.operator as ChainClients;
    const before = await stakeState(c.public, t.d, t.who);
    const amount = amountOf(ctx) ?? before.active;
    if (amount === 0n) throw new VerinferError("CONFIG_INVALID", `${t.who} has no active stake to unbond`);
    const availableAt = await unbondStake(c, t.d, t.who, amount);
    show(
      ctx,
      await stakeState(c.public, t.d, t.who),
      `unbonding ${formatVrf(amount)}: withdraw it from ${new Date(availableAt * 1000).toISOString()} ('verinfer node stake withdraw')`,
    );
    return 0;
  },
};

const withdrawCommand: CommandSpec = {
  name: "withdraw",
  summary: "withdraw to the operator every unbonding whose delay has passed",
  options: SENDING,
  examples: ["verinfer node stake withdraw --deployment d.json --key-file fisherman.key"],
  async run(ctx) {
    const t = target(ctx);
    const c = t.operator as ChainClients;
    const before = await stakeState(c.public, t.d, t.who);
    if (before.unbonding === 0n)
      throw new VerinferError(
        "CONFIG_INVALID",
        `${t.who} has nothing unbonding: start with 'verinfer node stake unbond'`,
      );
    const withdrawn = await withdrawStake(c, t.d, t.who);
    const after = await stakeState(c.public, t.d, t.who);
    show(
      ctx,
      after,
      withdrawn > 0n
        ? `withdrew ${formatVrf(withdrawn)} to ${c.wallet.account.address}`
        : "nothing was withdrawable yet: the unbonding delay has not passed",
    );
    return withdrawn > 0n ? 0 : 1;
  },
};

/** `verinfer node stake`. */
export const stakeGroup: GroupSpec = {
  name: "stake",
  summary:
    "a participant's stake in the registry: show, deposit (join as fisherman or evaluator), unbond, withdraw",
  commands: [showCommand, depositCommand, unbondCommand, withdrawCommand],
};
