/**
 * Registrations against a real registry on anvil: evaluators and fishermen registered one per block,
 * asked about in any order (later blocks, then earlier, then the same concurrently), always give what a
 * full read of the Registered events up to that block gives, and read each block range once.
 */
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevChain, startDevChain } from "../testing/devChain.ts";
import { send } from "./clients.ts";
import { registryAbi } from "./generated/contracts.ts";
import { contractEvents, deployedFrom } from "./logs.ts";
import { Registrations } from "./postedBatches.ts";

let dev: DevChain;
/** Each registration's block, role and account. */
const registered: { block: bigint; role: 2 | 3; account: Hex }[] = [];

beforeAll(async () => {
  dev = await startDevChain();
  for (const [i, role] of [2, 3, 2, 2, 3].entries()) {
    const c = dev.clientsOf(3 + i);
    const hash = await send(c, dev.d.registry, registryAbi, "register", [role]);
    const { blockNumber } = await c.public.getTransactionReceipt({ hash });
    registered.push({
      block: blockNumber,
      role: role as 2 | 3,
      account: c.wallet.account.address.toLowerCase() as Hex,
    });
  }
}, 60_000);

afterAll(async () => {
  await dev?.chain.stop();
});

/** What a full read from the deployment gives: the accounts of `role` registered up to `block`. */
async function fullRead(role: 2 | 3, block: bigint): Promise<Hex[]> {
  const logs = await contractEvents<{ args: { participant: Hex; role: number } }>(
    dev.owner,
    { address: dev.d.registry, abi: registryAbi, eventName: "Registered" },
    { fromBlock: deployedFrom(dev.d), toBlock: block },
  );
  return logs.filter((l) => l.args.role === role).map((l) => l.args.participant.toLowerCase() as Hex);
}

describe("Registrations", () => {
  it("answers as a full read does, in any order of blocks, reading each range once", async () => {
    let reads = 0;
    const counted = {
      public: new Proxy(dev.owner.public, {
        get(target, key, receiver) {
          if (key === "getContractEvents") reads++;
          return Reflect.get(target, key, receiver);
        },
      }),
    };
    const r = new Registrations(dev.d.registry, deployedFrom(dev.d));
    const last = registered.at(-1)?.block as bigint;
    const blocks = [
      last,
      registered[1]?.block,
      registered[0]?.block,
      (registered[0]?.block as bigint) - 1n,
      last,
    ];
    for (const block of blocks as bigint[])
      for (const role of [2, 3] as const)
        expect(await r.at(counted, role, block)).toEqual(await fullRead(role, block));
    expect(await r.at(counted, 2, last)).toEqual(
      registered.filter((x) => x.role === 2).map((x) => x.account),
    );
    // Everything up to `last` was read in one go; nothing was read again for earlier blocks.
    expect(reads).toBe(1);
    // Concurrent questions past what was read: one more read, the same answers.
    await send(dev.clientsOf(9), dev.d.registry, registryAbi, "register", [3]);
    const head = await dev.owner.public.getBlockNumber({ cacheTime: 0 });
    const [a, b] = await Promise.all([r.at(counted, 3, head), r.at(counted, 3, head)]);
    expect(a).toEqual(await fullRead(3, head));
    expect(b).toEqual(a);
    expect(reads).toBe(2);
  }, 60_000);
});
