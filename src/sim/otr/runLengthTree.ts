/**
 * The trace tree (verifiable/trace.ts's padded ordered Merkle tree) of a trace whose leaves come in
 * runs of equal values, without materializing the leaves: a subtree inside one run is that run's
 * uniform subtree (one hash per height), and only the few subtrees straddling a run boundary are
 * hashed, memoized. A dispute over 2^24 or 2^30 leaves thus costs the game, not the tree: the
 * simulator's disputes and the dispute benchmark use it for two traces that agree up to a point and
 * differ after it. Equal to TraceTree leaf for leaf (tested).
 */
import type { TraceView } from "../../protocol/dispute/solver.ts";
import { type Hash32, treeDepth, zeroHashes } from "../../protocol/verifiable/trace.ts";

/** A run: leaves `[previous run's end, end)` all equal `leaf`. */
export interface LeafRun {
  readonly end: number;
  readonly leaf: Uint8Array;
}

export class RunLengthTree implements TraceView {
  readonly depth: number;
  readonly size: number;
  private readonly starts: number[];
  /** Per run, the root of a uniform subtree of each height. */
  private readonly uniform: Uint8Array[][];
  private readonly memo = new Map<string, Uint8Array>();

  constructor(
    private readonly runs: readonly LeafRun[],
    private readonly hash: Hash32,
  ) {
    this.size = runs.at(-1)?.end ?? 0;
    this.depth = treeDepth(this.size);
    this.starts = runs.map((_, i) => (i === 0 ? 0 : (runs[i - 1] as LeafRun).end));
    const pair = new Uint8Array(64);
    this.uniform = runs.map((run) => {
      const levels = [run.leaf];
      for (let h = 0; h < this.depth; h++) {
        pair.set(levels[h] as Uint8Array, 0);
        pair.set(levels[h] as Uint8Array, 32);
        levels.push(hash(pair));
      }
      return levels;
    });
  }

  get root(): Uint8Array {
    return this.size === 0 ? new Uint8Array(32) : this.node(this.depth, 0);
  }

  node(height: number, index: number): Uint8Array {
    const from = index * 2 ** height;
    const to = from + 2 ** height;
    if (from >= this.size) return zeroHashes(this.hash, height)[height] as Uint8Array;
    // Inside one run: its uniform subtree.
    const run = this.runOf(from);
    if (to <= (this.runs[run] as LeafRun).end)
      return (this.uniform[run] as Uint8Array[])[height] as Uint8Array;
    const key = `${height}:${index}`;
    let value = this.memo.get(key);
    if (!value) {
      const pair = new Uint8Array(64);
      pair.set(this.node(height - 1, 2 * index), 0);
      pair.set(this.node(height - 1, 2 * index + 1), 32);
      value = this.hash(pair);
      this.memo.set(key, value);
    }
    return value;
  }

  private runOf(leaf: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] as number) <= leaf) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
