/**
 * The event cursor across reorganisations on a real anvil (`evm_snapshot` / `evm_revert` take blocks off
 * the chain, as a deep reorganisation or an RPC node that lost blocks would): a follower that forgets
 * what `onRewind` tells it to ends with exactly the events the chain holds, read from the newest block
 * it still holds, or from its floor when the reorganisation is deeper than what it remembers. And the
 * seed watch that has a follower draw again the batches whose seed blocks a reorganisation replaced.
 */
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalChain, startAnvil } from "./anvil.ts";
import { send } from "./clients.ts";
import { type ChainClients, clientsFor, deployContract } from "./deploy.ts";
import { EventCursor } from "./events.ts";
import { verinferTokenAbi, verinferTokenBytecode } from "./generated/contracts.ts";
import { contractEvents } from "./logs.ts";
import { type DrawNote, type DrawNotes, DrawWatch } from "./postedBatches.ts";

let chain: LocalChain;
let c: ChainClients;
let token: Hex;
let deployedAt: bigint;

beforeAll(async () => {
  chain = await startAnvil();
  c = clientsFor(chain.rpcUrl, chain.chainId, chain.keys[0] as Hex);
  token = await deployContract(c, verinferTokenAbi, verinferTokenBytecode, [c.wallet.account.address]);
  deployedAt = await c.public.getBlockNumber({ cacheTime: 0 });
}, 60_000);
afterAll(() => chain?.stop());

const rpc = (method: string, params: unknown[] = []) =>
  c.public.request({ method, params } as never) as Promise<unknown>;
/** A Transfer of `amount` (anvil mines each transaction in its own block). */
const mint = (amount: bigint) => send(c, token, verinferTokenAbi, "mint", [c.wallet.account.address, amount]);
const transfers = () => ({ address: token, abi: verinferTokenAbi, eventName: "Transfer" }) as const;

/** A follower keeping the amounts minted and the blocks they were minted in, as `onRewind` tells it. */
function follower(from: bigint, o: { floor?: bigint } = {}) {
  const seen: { block: bigint; value: bigint }[] = [];
  const rewinds: bigint[] = [];
  const cursor = new EventCursor(from, {
    ...o,
    onRewind: (at) => {
      rewinds.push(at);
      seen.splice(0, seen.length, ...seen.filter((s) => s.block < at));
    },
  });
  const step = () =>
    cursor.each<{ value: bigint }>(c, transfers(), (log) => {
      seen.push({ block: log.blockNumber, value: log.args.value });
    });
  return { cursor, seen, rewinds, step };
}

/** Every amount minted on the chain now, by a full read from the deployment. */
async function chainHolds(): Promise<bigint[]> {
  const logs = await contractEvents<{ args: { value: bigint } }>(c, transfers(), { fromBlock: deployedAt });
  return logs.map((l) => l.args.value);
}

describe("EventCursor", () => {
  it("reads again from the newest block the chain still holds, and its follower ends with what the chain holds", async () => {
    const f = follower(deployedAt);
    await mint(1n);
    await f.step();
    await mint(2n);
    await f.step();
    const fork = await c.public.getBlockNumber({ cacheTime: 0 });
    const snapshot = (await rpc("evm_snapshot")) as string;
    await mint(3n);
    await f.step();
    await mint(4n);
    await f.step();
    expect(f.seen.map((s) => s.value)).toEqual([1n, 2n, 3n, 4n]);

    // A block the cursor read, asked for again (as a lagging RPC node would give its head): the same
    // block, nothing read and nothing rewound.
    await f.cursor.each(c, { ...transfers(), toBlock: fork }, () => {
      throw new Error("nothing to read");
    });
    expect(f.rewinds).toEqual([]);

    await rpc("evm_revert", [snapshot]);
    // One block in their place, the chain still behind the last block read: that height holds another
    // block than the one read, and the cursor reads again after the fork at once.
    await mint(30n);
    await f.step();
    expect(f.rewinds).toEqual([fork + 1n]);
    expect(f.seen.map((s) => s.value)).toEqual([1n, 2n, 30n]);
    await mint(40n);
    await mint(50n);
    await f.step();
    expect(f.seen.map((s) => s.value)).toEqual(await chainHolds());
    expect(f.seen.map((s) => s.value)).toEqual([1n, 2n, 30n, 40n, 50n]);

    // No reorganisation: nothing read again.
    await mint(60n);
    await f.step();
    expect(f.rewinds).toHaveLength(1);
    expect(f.seen.map((s) => s.value)).toEqual(await chainHolds());
  }, 60_000);

  it("reads again from its floor when the chain holds none of the blocks it remembers", async () => {
    const floor = await c.public.getBlockNumber({ cacheTime: 0 });
    const snapshot = (await rpc("evm_snapshot")) as string;
    const f = follower(floor + 1n, { floor: floor + 1n });
    // More reads than the cursor remembers ends of, each a block.
    for (let i = 0; i < 70; i++) {
      await mint(1000n + BigInt(i));
      await f.step();
    }
    await rpc("evm_revert", [snapshot]);
    for (let i = 0; i < 72; i++) await mint(2000n + BigInt(i));
    await f.step();
    expect(f.rewinds).toEqual([floor + 1n]);
    expect(f.seen.map((s) => s.value)).toEqual(Array.from({ length: 72 }, (_, i) => 2000n + BigInt(i)));
  }, 120_000);

  it("whose follower fails to forget moves nowhere, and is told again on the next call", async () => {
    const start = await c.public.getBlockNumber({ cacheTime: 0 });
    let refuse = true;
    const told: bigint[] = [];
    const seen: bigint[] = [];
    const cursor = new EventCursor(start + 1n, {
      onRewind: (at) => {
        told.push(at);
        if (refuse) throw new Error("store unavailable");
        seen.length = 0;
      },
    });
    const step = () =>
      cursor.each<{ value: bigint }>(c, transfers(), (log) => {
        seen.push(log.args.value);
      });
    const snapshot = (await rpc("evm_snapshot")) as string;
    await mint(7n);
    await step();
    await rpc("evm_revert", [snapshot]);
    await mint(8n);
    await mint(9n);
    await expect(step()).rejects.toThrow("store unavailable");
    expect(cursor.next).toBe(start + 2n);
    refuse = false;
    await step();
    expect(told).toEqual([start + 1n, start + 1n]);
    expect(seen).toEqual([8n, 9n]);
  }, 60_000);

  it("with the draw watch, names the first batch drawn from a block the chain replaced", async () => {
    const watch = new DrawWatch();
    const noteHead = async (index: number) => {
      const b = await c.public.getBlock();
      watch.note(index, b.number as bigint, b.hash as Hex);
    };
    await mint(1n);
    await noteHead(10);
    const snapshot = (await rpc("evm_snapshot")) as string;
    for (const index of [11, 12, 13]) {
      await mint(2n);
      await noteHead(index);
    }
    expect(await watch.firstReplaced(c)).toBeNull();
    await rpc("evm_revert", [snapshot]);
    // A block in place of the first one noted after the fork.
    await mint(3n);
    expect(await watch.firstReplaced(c)).toBe(11);
    // Forgotten once named; the batch drawn before the fork still holds.
    expect(await watch.firstReplaced(c)).toBeNull();
  }, 60_000);

  it("with the draw watch, finds a replaced block noted before an older one the chain still holds, after a restart too", async () => {
    // A batch's openings are mined after the next batch's seed block: notes come out of block order.
    let saved: readonly DrawNote[] = [];
    const notes: DrawNotes = { load: () => [...saved], save: (n) => (saved = [...n]) };
    const watch = new DrawWatch(notes);
    const head = async () => {
      const b = await c.public.getBlock();
      return { number: b.number as bigint, hash: b.hash as Hex };
    };
    await mint(1n);
    const held = await head();
    const snapshot = (await rpc("evm_snapshot")) as string;
    await mint(2n);
    const seedOf11 = await head();
    await mint(3n);
    const openingsOf10 = await head();
    watch.note(10, openingsOf10.number, openingsOf10.hash);
    watch.note(11, seedOf11.number, seedOf11.hash);
    watch.note(12, held.number, held.hash);
    await rpc("evm_revert", [snapshot]);
    await mint(4n);
    // A watch restarted on the saved notes finds the same, in block order, and forgets it too.
    expect(saved.map((n) => n.index)).toEqual([12, 11, 10]);
    expect(await new DrawWatch(notes).firstReplaced(c)).toBe(10);
    expect(saved.map((n) => n.index)).toEqual([12]);
    expect(await watch.firstReplaced(c)).toBe(10);
  }, 60_000);
});
