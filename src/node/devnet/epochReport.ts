/**
 * Following a devnet's epochs to their payouts (`devnet up --demo`, the e2e tests): which epochs the
 * demo's batches fell in, each epoch's settlement as the settler published it (PoQ rounds, PoEA
 * attribution, reward entries), and what the chain actually paid — the Epochs contract's Claimed
 * events summed per account.
 */
import type { Hex } from "viem";
import { publicClientFor } from "../../chain/deploy.ts";
import type { DeploymentFile } from "../../chain/deploymentFile.ts";
import { epochsAbi } from "../../chain/generated/contracts.ts";
import { contractEvents, deployedFrom } from "../../chain/logs.ts";
import { batchInfo, epochAt, scoreClock } from "../../chain/postedBatches.ts";
import type { EpochRound } from "../../protocol/poq/networkEpoch.ts";

/** One paid entry of an epoch. */
export interface EpochPayoutRow {
  readonly account: Hex;
  readonly role: "worker" | "evaluator" | "fisherman";
  readonly weight: string;
  readonly amount: string;
  /** What the Epochs contract's Claimed events paid this entry's account in this epoch (wei). */
  readonly paidOnChain: string;
}

/** An epoch as settled and paid. */
export interface EpochReport {
  readonly epoch: number;
  readonly status: string;
  readonly root: Hex | null;
  readonly entries: readonly EpochPayoutRow[];
  readonly attribution: Readonly<Record<string, { tokens: string; quality: number; costPerToken: number }>>;
  readonly rounds: readonly EpochRound[];
}

const ROLES = ["worker", "evaluator", "fisherman"] as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The epochs (ScoreCommits' clock) in which these batches were posted. */
export async function epochsOfBatches(
  deployment: DeploymentFile,
  batches: readonly number[],
): Promise<number[]> {
  const c = { public: publicClientFor(deployment.rpcUrl, deployment.chainId) };
  const clock = await scoreClock(c, deployment.scoreCommits as Hex);
  const epochs = new Set<number>();
  for (const b of batches) epochs.add(epochAt(clock, (await batchInfo(c, deployment.rollup, b)).postedAt));
  return [...epochs].sort((a, b) => a - b);
}

/**
 * Waits until the settler has settled and claimed (or found empty) each epoch, then reports them with
 * what the chain paid; null for an epoch that did not get there before `deadline` (ms since epoch). A
 * settler that does not answer for a while is waited for.
 */
export async function followEpochs(
  settlerUrl: string,
  deployment: DeploymentFile,
  epochs: readonly number[],
  deadline: number,
  log: (line: string) => void,
): Promise<(EpochReport | null)[]> {
  const c = publicClientFor(deployment.rpcUrl, deployment.chainId);
  /** Each settled epoch's status, from the settler's list (one request for all of them). */
  const statuses = async () => {
    const { epochs: list } = (await (await fetch(`${settlerUrl}/v1/epochs`)).json()) as {
      epochs: { epoch: number; status: string }[];
    };
    return new Map(list.map((x) => [x.epoch, x.status]));
  };
  const seen = new Map<number, string>();
  while (Date.now() < deadline) {
    // A settler restarting (it resumes from its store and the chain) is asked again, until `deadline`.
    const now = await statuses().catch(() => null);
    if (now === null) {
      await sleep(2000);
      continue;
    }
    for (const e of epochs) {
      const s = now.get(e) ?? "open";
      if (seen.get(e) !== s) {
        seen.set(e, s);
        if (s === "posted")
          log(`epoch ${e}: scores revealed, reward root posted on chain; claims open after its window`);
        if (s === "claimed") log(`epoch ${e}: every reward entry claimed on chain, dust burned`);
      }
    }
    if (epochs.every((e) => seen.get(e) === "claimed" || seen.get(e) === "empty")) break;
    await sleep(2000);
  }
  const reports: (EpochReport | null)[] = [];
  for (const e of epochs) {
    if (seen.get(e) !== "claimed" && seen.get(e) !== "empty") {
      reports.push(null);
      continue;
    }
    const full = (await (await fetch(`${settlerUrl}/v1/epochs/${e}`)).json()) as {
      status: string;
      root: Hex | null;
      entries: { account: Hex; role: number; weight: string; amount: string }[];
      attribution: EpochReport["attribution"];
      rounds: EpochRound[];
    };
    const claims = await contractEvents<{ args: { account: Hex; amount: bigint; index: bigint } }>(
      { public: c },
      { address: deployment.epochs as Hex, abi: epochsAbi, eventName: "Claimed", args: { epoch: BigInt(e) } },
      { fromBlock: deployedFrom(deployment) },
    );
    reports.push({
      epoch: e,
      status: full.status,
      root: full.root,
      entries: full.entries.map((x, i) => ({
        account: x.account,
        role: ROLES[x.role] as EpochPayoutRow["role"],
        weight: x.weight,
        amount: x.amount,
        paidOnChain: String(
          claims.filter((l) => l.args.index === BigInt(i)).reduce((s, l) => s + l.args.amount, 0n),
        ),
      })),
      attribution: full.attribution,
      rounds: full.rounds,
    });
  }
  return reports;
}
