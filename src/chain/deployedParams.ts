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

type Reader = PublicClient<Transport, Chain>;

/** `preset` with every value the deployment fixes read from its contracts. */
export async function deployedParams(
  pub: Reader,
  d: Deployment,
  preset: OtrParams,
  presetName: string,
): Promise<OtrParams> {
  const read = async (address: Hex | undefined, abi: readonly unknown[], functionName: string) =>
    address === undefined
      ? undefined
      : BigInt((await pub.readContract({ address, abi, functionName } as never)) as bigint | number);
  const ms = (seconds: bigint | undefined, fallback: number) =>
    seconds === undefined ? fallback : Number(seconds) * 1000;
  const num = (v: bigint | undefined, fallback: number) => (v === undefined ? fallback : Number(v));
  const [challengeWindow, unbondingDelay] = await Promise.all([
    read(d.rollup, rollupAbi, "challengeWindow"),
    read(d.registry, registryAbi, "unbondingDelay"),
  ]);
  const game = d.disputeGame;
  const [arityLog2, maxClock, extension, oneStepExtension, workerSlash, challengerShareBps] =
    await Promise.all(
      ["arityLog2", "maxClock", "extension", "oneStepExtension", "workerSlash", "challengerShareBps"].map(
        (f) => read(game, disputeGameAbi, f),
      ),
    );
  const bonds = await Promise.all(
    ["attackNodeBond", "attackLeafBond", "dissectBond"].map((f) => read(game, disputeGameAbi, f)),
  );
  const spot = d.spotChecks;
  const [rhoPpm, seedDelayBlocks, proofDeadline, bindingWindow, missingProofSlash] = await Promise.all(
    ["rhoPpm", "seedDelayBlocks", "proofDeadline", "bindingWindow", "missingProofSlash"].map((f) =>
      read(spot, spotChecksAbi, f),
    ),
  );
  const [epochSeconds, commitSeconds, revealSeconds] = await Promise.all(
    ["epochSeconds", "commitSeconds", "revealSeconds"].map((f) => read(d.scoreCommits, scoreCommitsAbi, f)),
  );
  const [workerShareBps, evaluatorShareBps] = await Promise.all(
    ["workerShareBps", "evaluatorShareBps"].map((f) => read(d.epochs, epochsAbi, f)),
  );

  const p = preset;
  const dispute = {
    ...p.dispute,
    arity: arityLog2 === undefined ? p.dispute.arity : 2 ** Number(arityLog2),
    maxClockMs: ms(maxClock, p.dispute.maxClockMs),
    extensionMs: ms(extension, p.dispute.extensionMs),
    oneStepExtensionMs: ms(oneStepExtension, p.dispute.oneStepExtensionMs),
    workerSlash: workerSlash ?? p.dispute.workerSlash,
    challengerShareBps: num(challengerShareBps, p.dispute.challengerShareBps),
  };
  if (game !== undefined) {
    const ours = [attackBond(dispute, 1), attackBond(dispute, 0), dissectBond(dispute)];
    const names = ["attackNodeBond", "attackLeafBond", "dissectBond"];
    const differ = names.filter((_, i) => bonds[i] !== ours[i]);
    if (differ.length > 0)
      throw new VerinferError(
        "CONFIG_INVALID",
        `params "${presetName}" sizes dispute bonds the deployed DisputeGame ${game} does not take: ${differ
          .map((n) => `${n} ${bonds[names.indexOf(n)]} on chain, ${ours[names.indexOf(n)]} here`)
          .join("; ")}. Choose the preset the contracts were deployed with`,
      );
  }
  const worker = num(workerShareBps, p.poea.workerShareBps);
  const evaluator = num(evaluatorShareBps, p.poea.evaluatorShareBps);
  return {
    rollup: { ...p.rollup, challengeWindowMs: ms(challengeWindow, p.rollup.challengeWindowMs) },
    dispute,
    spotcheck: {
      ...p.spotcheck,
      rhoPpm: num(rhoPpm, p.spotcheck.rhoPpm),
      seedDelayBlocks: num(seedDelayBlocks, p.spotcheck.seedDelayBlocks),
      proofDeadlineMs: ms(proofDeadline, p.spotcheck.proofDeadlineMs),
      bindingWindowMs: ms(bindingWindow, p.spotcheck.bindingWindowMs),
      missingProofSlash: missingProofSlash ?? p.spotcheck.missingProofSlash,
    },
    poea: {
      ...p.poea,
      unbondingMs: ms(unbondingDelay, p.poea.unbondingMs),
      epochMs: ms(epochSeconds, p.poea.epochMs),
      scoreCommitMs: ms(commitSeconds, p.poea.scoreCommitMs),
      scoreRevealMs: ms(revealSeconds, p.poea.scoreRevealMs),
      workerShareBps: worker,
      evaluatorShareBps: evaluator,
      // Epochs derives the fishermen's pool as the rest (floor), as rewardEntries does.
      fishermanShareBps: d.epochs === undefined ? p.poea.fishermanShareBps : 10_000 - worker - evaluator,
    },
  };
}
