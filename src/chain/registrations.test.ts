/**
 * Registrations against a real registry on anvil: evaluators and fishermen registered one per block,
 * asked about in any order (later blocks, then earlier, then the same concurrently), always give what a
 * full read of the Registered events up to that block gives, and read each block range once. A stake
 * replayed from the events at each block is what the registry's state at that block holds, through
 * deposits, unbondings and slashes (one reaching into the unbonding stake).
 */
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevChain, startDevChain, TOKEN } from "../testing/devChain.ts";
import { send } from "./clients.ts";
import { registryAbi, verinferTokenAbi } from "./generated/contracts.ts";
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

  it("replays each participant's active stake at any block as the registry's state there holds it", async () => {
    const owner = dev.owner;
    const me = owner.wallet.account.address;
    // An evaluator of its own, so the other test's answers stay as they were.
    const ev = dev.clientsOf(8);
    const who = ev.wallet.account.address;
    await send(owner, dev.d.registry, registryAbi, "setSlasher", [me, true]);
    await send(owner, dev.d.token, verinferTokenAbi, "mint", [who, 100n * TOKEN]);
    await send(ev, dev.d.token, verinferTokenAbi, "approve", [dev.d.registry, 100n * TOKEN]);
    const blocks: bigint[] = [];
    const step = async (c: typeof owner, functionName: string, args: readonly unknown[]) => {
      const hash = await send(c, dev.d.registry, registryAbi, functionName, args);
      blocks.push((await c.public.getTransactionReceipt({ hash })).blockNumber);
    };
    await step(ev, "register", [2]);
    await step(ev, "deposit", [who, 30n * TOKEN]);
    await step(ev, "unbond", [who, 10n * TOKEN]);
    await step(owner, "slash", [who, 5n * TOKEN, me, 1_000n]);
    await step(ev, "deposit", [who, 7n * TOKEN]);
    await step(ev, "unbond", [who, 12n * TOKEN]);
    // More than the active stake (10): the rest comes from the unbonding stakes.
    await step(owner, "slash", [who, 15n * TOKEN, me, 0n]);
    await step(ev, "deposit", [who, 3n * TOKEN]);
    const stateAt = async (blockNumber: bigint) =>
      (
        (await owner.public.readContract({
          address: dev.d.registry,
          abi: registryAbi,
          functionName: "participant",
          args: [who],
          blockNumber,
        })) as readonly unknown[]
      )[5] as bigint;
    const r = new Registrations(dev.d.registry, deployedFrom(dev.d));
    const first = blocks[0] as bigint;
    // Newest first: the replay answers earlier blocks from what it read for later ones.
    const asked = [...blocks.toReversed(), first - 1n];
    const replayed = [];
    for (const b of asked) replayed.push(await r.activeStakeAt(owner, who, b));
    const held = [];
    for (const b of asked) held.push(await stateAt(b));
    expect(replayed).toEqual(held);
    // Every kind of change, newest first: +3, slashed all 10 active, -12, +7, slashed 5, -10, +30, registered, before.
    expect(held).toEqual([3n, 0n, 10n, 22n, 15n, 20n, 30n, 0n, 0n].map((x) => x * TOKEN));
  }, 60_000);
});
