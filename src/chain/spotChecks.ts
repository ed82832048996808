/**
 * Spot-checks on chain (contracts/src/SpotChecks.sol): deployment wired to the registry as a slasher.
 * `chain up` does not deploy it yet: until the ZK issue's verifier exists, a selected honest worker
 * could not prove its obligation and would be slashed.
 */
import type { Hex } from "viem";
import { VerinferError } from "../errors.ts";
import type { SpotCheckParams } from "../protocol/params/otr.ts";
import { send } from "./clients.ts";
import { type ChainClients, type Deployment, deployContract } from "./deploy.ts";
import { registryAbi, spotChecksAbi, spotChecksBytecode } from "./generated/contracts.ts";
import { contractEvents } from "./logs.ts";

/** SpotChecks' constructor parameters (seconds, wei) from the protocol's. */
export function spotChecksParams(p: SpotCheckParams, reporterShareBps: number) {
  return {
    rhoPpm: p.rhoPpm,
    seedDelayBlocks: p.seedDelayBlocks,
    proofDeadline: Math.ceil(p.proofDeadlineMs / 1000),
    bindingWindow: Math.ceil(p.bindingWindowMs / 1000),
    missingProofSlash: p.missingProofSlash,
    reporterShareBps: BigInt(reporterShareBps),
  };
}

/** Deploys SpotChecks over `verifier` (an ISpotCheckVerifier) and lets it slash in the registry. */
export async function deploySpotChecks(
  c: ChainClients,
  d: Pick<Deployment, "registry" | "rollup">,
  verifier: Hex,
  p: SpotCheckParams,
  reporterShareBps: number,
): Promise<Hex> {
  const spotChecks = await deployContract(c, spotChecksAbi, spotChecksBytecode, [
    d.registry,
    d.rollup,
    verifier,
    spotChecksParams(p, reporterShareBps),
  ]);
  await send(c, d.registry, registryAbi, "setSlasher", [spotChecks, true]);
  return spotChecks;
}

/**
 * The trace subject of an open obligation, as its ObligationOpened event carries it (SpotChecks keeps
 * only its hash): what `prove` and `challengeBinding` take back.
 */
export async function openedSubject(
  c: ChainClients,
  spotChecks: Hex,
  batch: bigint,
  position: number,
  fromBlock = 0n,
) {
  const logs = await contractEvents<{ args: { position?: number; subject?: unknown } }>(
    c,
    { address: spotChecks, abi: spotChecksAbi, eventName: "ObligationOpened", args: { batch } },
    { fromBlock },
  );
  const opened = logs.find((l) => l.args.position === position);
  if (!opened?.args.subject)
    throw new VerinferError(
      "INPUT_INVALID",
      `no obligation was opened for batch ${batch} position ${position}`,
    );
  return opened.args.subject;
}
