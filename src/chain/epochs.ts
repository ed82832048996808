/**
 * Epoch rewards on chain (contracts/src/Epochs.sol): the reward root of an epoch's entries
 * (protocol/poea/epoch.ts rewardEntries), their proofs, and deployment.
 */
import { encodeAbiParameters, type Hex, keccak256 } from "viem";
import { hexToBytes } from "../protocol/encoding/hex.ts";
import type { PoeaParams } from "../protocol/params/otr.ts";
import type { RewardEntry } from "../protocol/poea/epoch.ts";
import { TraceTree } from "../protocol/verifiable/trace.ts";
import { send } from "./clients.ts";
import { type ChainClients, type Deployment, deployContract } from "./deploy.ts";
import { epochsAbi, epochsBytecode } from "./generated/contracts.ts";

const ENTRY = [
  {
    type: "tuple",
    components: [
      { name: "account", type: "address" },
      { name: "role", type: "uint8" },
      { name: "weight", type: "uint256" },
      { name: "amount", type: "uint256" },
      { name: "weightBefore", type: "uint256" },
      { name: "amountBefore", type: "uint256" },
    ],
  },
] as const;

/** The leaf of an entry: keccak256(abi.encode(entry)) (Epochs.leafOf). */
export function rewardLeaf(x: RewardEntry): Uint8Array {
  return hexToBytes(keccak256(encodeAbiParameters(ENTRY, [x])));
}

/** The ordered, zero-padded tree over an epoch's entries (the contract's proofs are its paths). */
export function rewardTree(entries: readonly RewardEntry[]): TraceTree {
  return new TraceTree(entries.map(rewardLeaf));
}

/** Deploys Epochs for the token, with the protocol's reward shares, and makes `settler` its settler. */
export async function deployEpochs(
  c: ChainClients,
  d: Pick<Deployment, "token">,
  p: PoeaParams,
  o: { challengeWindowSeconds: bigint; minSettlerBond: bigint; challengerShareBps: number; settler: Hex },
): Promise<Hex> {
  const epochs = await deployContract(c, epochsAbi, epochsBytecode, [
    c.wallet.account.address,
    d.token,
    p.workerShareBps,
    p.evaluatorShareBps,
    o.challengeWindowSeconds,
    o.minSettlerBond,
    o.challengerShareBps,
  ]);
  await send(c, epochs, epochsAbi, "setSettler", [o.settler]);
  return epochs;
}
