/**
 * A participant's stake in the registry (contracts/src/Registry.sol), as its operator manages it: join
 * as a fisherman or an evaluator, deposit (or top up a worker's stake), start unbonding, withdraw what
 * the unbonding delay has freed, and read where it stands. `verinfer node stake` drives these.
 */
import { type Hex, type PublicClient, parseEventLogs } from "viem";
import { VerinferError } from "../errors.ts";
import { formatVrf } from "../report/tokens.ts";
import { send } from "./clients.ts";
import type { ChainClients, Deployment } from "./deploy.ts";
import { registryAbi, verinferTokenAbi } from "./generated/contracts.ts";
import { contractEvents, deployedFrom } from "./logs.ts";

/** Registry.Role, by name. */
export const ROLES = ["none", "worker", "evaluator", "fisherman"] as const;
export type RoleName = (typeof ROLES)[number];

/** What the registry holds for an address. */
export interface StakeState {
  readonly address: Hex;
  readonly role: RoleName;
  /** Who may deposit, unbond and withdraw for it (a worker's operator; the account itself otherwise). */
  readonly operator: Hex | null;
  readonly active: bigint;
  /** Started unbonding, not withdrawn: still slashable until available. */
  readonly unbonding: bigint;
  /** When the latest unbonding becomes withdrawable (seconds since the epoch), if any was started. */
  readonly lastAvailableAt: number | null;
  /** The role's minimum active stake (a worker below it is not routed to, an evaluator not sampled). */
  readonly minimum: bigint;
  /** A worker's attestation expiry (seconds), if it is one. */
  readonly attestedUntil: number | null;
}

type Reader = Pick<PublicClient, "readContract" | "getContractEvents" | "getBlockNumber">;

const ZERO = "0x0000000000000000000000000000000000000000";

/** Where `who` stands in the registry. */
export async function stakeState(
  p: Reader,
  d: Pick<Deployment, "registry" | "deployedAtBlock">,
  who: Hex,
): Promise<StakeState> {
  const read = (functionName: string, args: readonly unknown[]) =>
    p.readContract({ address: d.registry, abi: registryAbi, functionName, args } as never);
  const [participant, atRisk] = await Promise.all([read("participant", [who]), read("atRisk", [who])]);
  const [operator, roleIndex, , , attestedUntil, active] = participant as [
    Hex,
    number,
    Hex,
    Hex,
    bigint,
    bigint,
  ];
  const role = ROLES[roleIndex] ?? "none";
  const minimum = await minimumStake(p, d, role);
  const unbonding = (atRisk as bigint) - active;
  // Only the events say when: read them (the chain's history since the deployment) only when it matters.
  const started =
    unbonding > 0n
      ? await contractEvents<{ args: { availableAt: bigint } }>(
          { public: p },
          {
            address: d.registry,
            abi: registryAbi,
            eventName: "UnbondingStarted",
            args: { participant: who },
          },
          { fromBlock: deployedFrom(d) },
        )
      : [];
  const last = started.at(-1);
  return {
    address: who,
    role,
    operator: operator === ZERO ? null : operator,
    active,
    unbonding,
    lastAvailableAt: last ? Number(last.args.availableAt) : null,
    minimum,
    attestedUntil: role === "worker" ? Number(attestedUntil) : null,
  };
}

/** A role's minimum active stake in the registry (0 for no role). */
export async function minimumStake(
  p: Reader,
  d: Pick<Deployment, "registry">,
  role: RoleName,
): Promise<bigint> {
  if (role === "none") return 0n;
  return (await p.readContract({
    address: d.registry,
    abi: registryAbi,
    functionName: "minStake",
    args: [BigInt(ROLES.indexOf(role))],
  } as never)) as bigint;
}

/**
 * Deposits `amount` of the operator's tokens for `who`, registering the operator's own account first
 * as `join` (evaluator or fisherman) when it is not registered. A participant in another role, or one
 * this account does not operate, is refused before any transaction.
 */
export async function depositStake(
  c: ChainClients,
  d: Deployment,
  who: Hex,
  amount: bigint,
  join?: "evaluator" | "fisherman",
): Promise<void> {
  const me = c.wallet.account.address;
  const state = await stakeState(c.public, d, who);
  if (state.role === "none") {
    if (!join)
      throw new VerinferError(
        "CONFIG_INVALID",
        `${who} is not registered: pass --role fisherman or evaluator to join (a worker registers with 'verinfer node register')`,
      );
    if (who.toLowerCase() !== me.toLowerCase())
      throw new VerinferError(
        "CONFIG_INVALID",
        `an account joins for itself only: the key is ${me}, not ${who}`,
      );
  } else {
    if (join && join !== state.role)
      throw new VerinferError("CONFIG_INVALID", `${who} is registered as a ${state.role}, not a ${join}`);
    if (state.operator?.toLowerCase() !== me.toLowerCase())
      throw new VerinferError(
        "CONFIG_INVALID",
        `${who} is operated by ${state.operator}, not by the key's ${me}`,
      );
  }
  const balance = (await c.public.readContract({
    address: d.token,
    abi: verinferTokenAbi,
    functionName: "balanceOf",
    args: [me],
  } as never)) as bigint;
  if (balance < amount)
    throw new VerinferError(
      "CHAIN_FUNDS_INSUFFICIENT",
      `${me} holds ${formatVrf(balance)} of the staking token and the deposit is ${formatVrf(amount)}: acquire tokens first (on a devnet, the owner's faucet mints them)`,
      { account: me },
    );
  if (join && state.role === "none")
    await send(c, d.registry, registryAbi, "register", [BigInt(ROLES.indexOf(join))]);
  if (amount === 0n) return;
  await send(c, d.token, verinferTokenAbi, "approve", [d.registry, amount]);
  await send(c, d.registry, registryAbi, "deposit", [who, amount]);
}

/** Starts unbonding `amount` of `who`'s active stake; returns when it becomes withdrawable (seconds). */
export async function unbondStake(c: ChainClients, d: Deployment, who: Hex, amount: bigint): Promise<number> {
  const [started] = await eventsOf(
    c,
    await send(c, d.registry, registryAbi, "unbond", [who, amount]),
    "UnbondingStarted",
  );
  return Number((started as { args: { availableAt: bigint } }).args.availableAt);
}

/** Withdraws to the operator every unbonding of `who` whose delay has passed; returns the amount. */
export async function withdrawStake(c: ChainClients, d: Deployment, who: Hex): Promise<bigint> {
  const [withdrawn] = await eventsOf(
    c,
    await send(c, d.registry, registryAbi, "withdraw", [who]),
    "Withdrawn",
  );
  return (withdrawn as { args: { amount: bigint } }).args.amount;
}

async function eventsOf(c: ChainClients, hash: Hex, eventName: "UnbondingStarted" | "Withdrawn") {
  const { logs } = await c.public.getTransactionReceipt({ hash });
  return parseEventLogs({ abi: registryAbi, eventName, logs });
}
