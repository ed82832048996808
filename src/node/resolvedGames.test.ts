import { describe, expect, it } from "vitest";
import { REORG_DEPTH_BLOCKS, ResolvedGames } from "./resolvedGames.ts";

describe("games seen resolved", () => {
  it("are watched until a reorganisation deep, played on if the chain loses the resolution, counted once", async () => {
    const onChain = new Map<bigint, boolean>([
      [1n, true],
      [2n, true],
    ]);
    const reads: bigint[] = [];
    const games = new ResolvedGames(async (id) => {
      reads.push(id);
      return onChain.get(id) ?? false;
    });
    expect(games.add(1n, 100n)).toBe(true);
    expect(games.add(2n, 110n)).toBe(true);
    expect(await games.check(120n)).toEqual({ settled: [], reopened: [] });
    expect(reads).toEqual([1n, 2n]);

    // A reorganisation took game 2's resolution off the chain: it is no longer watched, but played on.
    onChain.set(2n, false);
    expect(await games.check(121n)).toEqual({ settled: [], reopened: [2n] });
    expect([games.has(1n), games.has(2n)]).toEqual([true, false]);
    // Resolved again: watched again, but not a second resolution to count.
    onChain.set(2n, true);
    expect(games.add(2n, 125n)).toBe(false);

    // Each is forgotten once its resolution is REORG_DEPTH_BLOCKS deep, without reading it again.
    reads.length = 0;
    expect(await games.check(100n + REORG_DEPTH_BLOCKS)).toEqual({ settled: [1n], reopened: [] });
    expect(reads).toEqual([2n]);
    expect(await games.check(125n + REORG_DEPTH_BLOCKS)).toEqual({ settled: [2n], reopened: [] });
    expect([games.has(1n), games.has(2n)]).toEqual([false, false]);
    // A later resolution of a game counts again (a new game with the id cannot exist; a forgotten one can).
    expect(games.add(2n, 300n)).toBe(true);
    games.forget(2n);
    expect(games.has(2n)).toBe(false);
    expect(await games.check(301n)).toEqual({ settled: [], reopened: [] });
  });

  it("a failed read fails the check and loses nothing: the next check reads again", async () => {
    let fail = true;
    const games = new ResolvedGames(async () => {
      if (fail) throw new Error("rpc down");
      return false;
    });
    games.add(7n, 10n);
    await expect(games.check(11n)).rejects.toThrow("rpc down");
    expect(games.has(7n)).toBe(true);
    fail = false;
    expect(await games.check(12n)).toEqual({ settled: [], reopened: [7n] });
  });
});
