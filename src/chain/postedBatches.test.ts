import { describe, expect, it } from "vitest";
import { FORCED_BASE } from "../protocol/rollup/rollupState.ts";
import type { ChainClients } from "./deploy.ts";
import { type BatchCounts, followWithin, headReaches, postingLog } from "./postedBatches.ts";

/** A follower's cursors, in memory. */
function memoryCursor() {
  const cursors = new Map<string, number>();
  return { get: (k: string) => cursors.get(k) ?? 0, set: (k: string, v: number) => cursors.set(k, v) };
}

/** Cursors in memory, and a clock that only visits move. */
function rig(countsAt: (t: number) => BatchCounts) {
  const cursor = memoryCursor();
  let t = 0;
  const reads: number[] = [];
  const visited: number[] = [];
  const follow = (budgetMs: number, refreshMs: number, visitMs = 1000) =>
    followWithin(
      {
        budgetMs,
        refreshMs,
        nowMs: () => t,
        refresh: async () => {
          reads.push(t);
          return countsAt(t);
        },
      },
      cursor,
      "next",
      async (i) => {
        visited.push(i);
        t += visitMs;
      },
    );
  return { cursor, follow, reads, visited };
}

describe("followWithin", () => {
  it("starts batches only within its budget, in order, and the next call resumes where it stopped", async () => {
    const r = rig(() => ({ sequenced: 20, forced: 0 }));
    await r.follow(5000, 60_000);
    // Started at 0, 1000, …, 5000 ms: the one started at the budget's last moment runs to its end.
    expect(r.visited).toEqual([0, 1, 2, 3, 4, 5]);
    expect(r.cursor.get("next")).toBe(6);
    await r.follow(5000, 60_000);
    await r.follow(60_000, 60_000);
    expect(r.visited).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(r.cursor.get("next")).toBe(20);
  });

  it("reads the counts again between batches once refreshMs has passed, and visits what they add in the same pass", async () => {
    // A short pass reads once: batches posted after that read wait for the next pass.
    const r = rig((t) => (t < 1500 ? { sequenced: 2, forced: 0 } : { sequenced: 4, forced: 1 }));
    await r.follow(60_000, 1500);
    expect(r.reads).toEqual([0]);
    expect(r.visited).toEqual([0, 1]);
    // A pass whose batches take long reads again between them and follows the new ones.
    const s = rig((t) => (t < 1500 ? { sequenced: 3, forced: 0 } : { sequenced: 5, forced: 1 }));
    await s.follow(60_000, 1500);
    expect(s.reads).toEqual([0, 2000, 4000]);
    expect(s.visited).toEqual([0, 1, 2, 3, 4, FORCED_BASE]);
    expect(s.cursor.get("next")).toBe(5);
    expect(s.cursor.get("nextForced")).toBe(1);
    // Caught up: a later pass reads once and visits nothing until more is posted.
    await s.follow(60_000, 1500);
    expect(s.visited).toHaveLength(6);
  });

  it("leaves the cursor at a batch whose visit failed: the next pass starts with it", async () => {
    const cursor = memoryCursor();
    const o = {
      budgetMs: 60_000,
      refreshMs: 60_000,
      nowMs: () => 0,
      refresh: async () => ({ sequenced: 4, forced: 0 }),
    };
    await expect(
      followWithin(o, cursor, "next", async (i) => {
        if (i === 2) throw new Error("RPC down");
      }),
    ).rejects.toThrow("RPC down");
    expect(cursor.get("next")).toBe(2);
    const seen: number[] = [];
    await followWithin(o, cursor, "next", async (i) => {
      seen.push(i);
    });
    expect(seen).toEqual([2, 3]);
  });
});

/**
 * An RPC whose state names batch 0 posted in block 10 while its head (and so its logs) trails it: anvil
 * does this for a moment after mining a block, too briefly to reproduce on demand.
 */
function laggingRpc(heads: bigint[], logs: unknown[] = [{ transactionHash: "0xab", args: {} }]) {
  const calls: string[] = [];
  const head = () =>
    heads[Math.min(calls.filter((c) => c.startsWith("head")).length, heads.length - 1)] as bigint;
  const rpc = {
    public: {
      readContract: async () => {
        calls.push("batch");
        return { root: "0x01", count: 3, kind: 0, postedAt: 100n, postedBlock: 10n };
      },
      getBlockNumber: async () => {
        const h = head();
        calls.push(`head ${h}`);
        return h;
      },
      getContractEvents: async (q: { fromBlock: bigint }) => {
        // What anvil answers for a block past its head.
        if (q.fromBlock > head()) throw new Error("BlockOutOfRangeError");
        calls.push(`logs ${q.fromBlock}`);
        return logs;
      },
    },
  } as unknown as Pick<ChainClients, "public">;
  return { rpc, calls };
}

describe("postingLog", () => {
  it("waits for the RPC's head to reach the block the rollup names before reading its logs", async () => {
    const { rpc, calls } = laggingRpc([9n, 9n, 10n]);
    expect(await postingLog(rpc, "0x00", 0)).toEqual({ transactionHash: "0xab", args: {} });
    expect(calls).toEqual(["batch", "head 9", "head 9", "head 10", "logs 10"]);
  });

  it("refuses a posted batch whose event is missing, rather than answering 'no batch'", async () => {
    const { rpc } = laggingRpc([10n], []);
    await expect(postingLog(rpc, "0x00", 0)).rejects.toThrow("batch 0: no BatchPosted event in block 10");
  });

  it("gives up on a head that stays behind, with the blocks in its error", async () => {
    const { rpc, calls } = laggingRpc([9n]);
    await expect(headReaches(rpc, 10n, 120)).rejects.toThrow(
      "the RPC's head, block 9, is still behind block 10",
    );
    expect(calls.length).toBeGreaterThan(1);
  });
});
