/**
 * The protocol parameters a role runs with, read from the contracts it runs against. Windows, clocks,
 * deadlines, epochs, reward shares and slashes are fixed when the contracts are deployed; a role that
 * took them from its own preset instead would mirror dispute clocks the chain does not keep, draw
 * evaluator seeds from the wrong block or settle rewards the contract voids. So each role starts from
 * its preset (`params`: the choices the chain does not fix — batching, the gas model bonds are sized
 * with, rewards minted per epoch) and takes every deployed value from the chain. The one thing it
 * cannot take is the bonds' gas model: the chain keeps only the three bond amounts, so a preset whose
 * bonds differ is refused with CONFIG_INVALID, naming the amounts on both sides.
 */
import type { Chain, Hex, PublicClient, Transport } from "viem";
import { VerinferError } from "../errors.ts";
import { attackBond, dissectBond, type OtrParams } from "../protocol/params/otr.ts";
import type { Deployment } from "./deploy.ts";
import {
  disputeGameAbi,
  epochsAbi,
  registryAbi,
  rollupAbi,
  scoreCommitsAbi,
  spotChecksAbi,
} from "./generated/contracts.ts";

/** What a deployment's contracts fix, in the protocol's units (ms, wei, basis points); absent: not deployed. */
export interface DeployedValues {
  readonly challengeWindowMs: number;
  readonly maxReceiptAgeMs: number;
  readonly unbondingMs: number;
  readonly dispute?: {
    readonly arity: number;
    readonly maxClockMs: number;
    readonly extensionMs: number;
    readonly oneStepExtensionMs: number;
    readonly workerSlash: bigint;
    readonly challengerShareBps: number;
    readonly attackNodeBond: bigint;
    readonly attackLeafBond: bigint;
    readonly dissectBond: bigint;
  };
  readonly spotcheck?: {
    readonly rhoPpm: number;
    readonly seedDelayBlocks: number;
    readonly proofDeadlineMs: number;
    readonly bindingWindowMs: number;
    readonly missingProofSlash: bigint;
  };
  /** ScoreCommits' clock, and how many evaluators score each receipt. */
  readonly scores?: {
    readonly epochMs: number;
    readonly scoreCommitMs: number;
    readonly scoreRevealMs: number;
    readonly evaluatorsPerReceipt: number;
  };
  /** Epochs' pools; the fishermen's is the rest (floor), as the contract derives it. */
  readonly rewards?: {
    readonly workerShareBps: number;
    readonly evaluatorShareBps: number;
    readonly fishermanShareBps: number;
  };
}

/** Reads what `d`'s contracts fix. */
export async function readDeployedValues(
  pub: PublicClient<Transport, Chain>,
  d: Deployment,
): Promise<DeployedValues> {
  const read = (address: Hex, abi: readonly unknown[], names: readonly string[]) =>
    Promise.all(
      names.map(async (functionName) =>
        BigInt((await pub.readContract({ address, abi, functionName } as never)) as bigint | number),
      ),
    );
  const ms = (seconds: bigint | undefined) => Number(seconds) * 1000;
  const [[challengeWindow, maxReceiptAge], [unbondingDelay]] = await Promise.all([
    read(d.rollup, rollupAbi, ["challengeWindow", "maxReceiptAge"]),
    read(d.registry, registryAbi, ["unbondingDelay"]),
  ]);
  const [g, s, k, e] = await Promise.all([
    d.disputeGame
      ? read(d.disputeGame, disputeGameAbi, [
          "arityLog2",
          "maxClock",
          "extension",
          "oneStepExtension",
          "workerSlash",
          "challengerShareBps",
          "attackNodeBond",
          "attackLeafBond",
          "dissectBond",
        ])
      : undefined,
    d.spotChecks
      ? read(d.spotChecks, spotChecksAbi, [
          "rhoPpm",
          "seedDelayBlocks",
          "proofDeadline",
          "bindingWindow",
          "missingProofSlash",
        ])
      : undefined,
    d.scoreCommits
      ? read(d.scoreCommits, scoreCommitsAbi, [
          "epochSeconds",
          "commitSeconds",
          "revealSeconds",
          "evaluatorsPerReceipt",
        ])
      : undefined,
    d.epochs ? read(d.epochs, epochsAbi, ["workerShareBps", "evaluatorShareBps"]) : undefined,
  ]);
  return {
    challengeWindowMs: ms(challengeWindow),
    maxReceiptAgeMs: ms(maxReceiptAge),
    unbondingMs: ms(unbondingDelay),
    ...(g
      ? {
          dispute: {
            arity: 2 ** Number(g[0]),
            maxClockMs: ms(g[1]),
            extensionMs: ms(g[2]),
            oneStepExtensionMs: ms(g[3]),
            workerSlash: g[4] as bigint,
            challengerShareBps: Number(g[5]),
            attackNodeBond: g[6] as bigint,
            attackLeafBond: g[7] as bigint,
            dissectBond: g[8] as bigint,
          },
        }
      : {}),
    ...(s
      ? {
          spotcheck: {
            rhoPpm: Number(s[0]),
            seedDelayBlocks: Number(s[1]),
            proofDeadlineMs: ms(s[2]),
            bindingWindowMs: ms(s[3]),
            missingProofSlash: s[4] as bigint,
          },
        }
      : {}),
    ...(k
      ? {
          scores: {
            epochMs: ms(k[0]),
            scoreCommitMs: ms(k[1]),
            scoreRevealMs: ms(k[2]),
            evaluatorsPerReceipt: Number(k[3]),
          },
        }
      : {}),
    ...(e
      ? {
          rewards: {
            workerShareBps: Number(e[0]),
            evaluatorShareBps: Number(e[1]),
            fishermanShareBps: 10_000 - Number(e[0]) - Number(e[1]),
          },
        }
      : {}),
  };
}

/** `preset` with every value `v` fixes; CONFIG_INVALID where the preset sizes other dispute bonds. */
export function withDeployedValues(preset: OtrParams, v: DeployedValues, presetName: string): OtrParams {
  const p = preset;
  const { attackNodeBond, attackLeafBond, dissectBond: dissect, ...clocks } = v.dispute ?? {};
  const dispute = { ...p.dispute, ...clocks };
  if (v.dispute) {
    const onChain = { attackNodeBond, attackLeafBond, dissectBond: dissect };
    const ours = {
      attackNodeBond: attackBond(dispute, 1),
      attackLeafBond: attackBond(dispute, 0),
      dissectBond: dissectBond(dispute),
    };
    const differ = (Object.keys(ours) as (keyof typeof ours)[]).filter((n) => onChain[n] !== ours[n]);
    if (differ.length > 0)
      throw new VerinferError(
        "CONFIG_INVALID",
        `params "${presetName}" sizes dispute bonds the deployed DisputeGame does not take: ${differ
          .map((n) => `${n} ${onChain[n]} on chain, ${ours[n]} here`)
          .join("; ")}. Choose the preset the contracts were deployed with`,
      );
  }
  return {
    rollup: { ...p.rollup, challengeWindowMs: v.challengeWindowMs, maxReceiptAgeMs: v.maxReceiptAgeMs },
    dispute,
    spotcheck: { ...p.spotcheck, ...v.spotcheck },
    poea: { ...p.poea, unbondingMs: v.unbondingMs, ...v.scores, ...v.rewards },
  };
}

/** `preset` with every value the deployment `d` fixes read from its contracts. */
export async function deployedParams(
  pub: PublicClient<Transport, Chain>,
  d: Deployment,
  preset: OtrParams,
  presetName: string,
): Promise<OtrParams> {
  return withDeployedValues(preset, await readDeployedValues(pub, d), presetName);
}
