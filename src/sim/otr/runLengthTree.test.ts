import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keccak256 } from "../../protocol/encoding/keccak.ts";
import { TraceTree } from "../../protocol/verifiable/trace.ts";
import { RunLengthTree } from "./runLengthTree.ts";

describe("RunLengthTree", () => {
  it("property: equals the TraceTree of the same leaves at every node, padding included", () => {
    const leaf = (v: number) => keccak256(Uint8Array.of(v));
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ length: fc.integer({ min: 1, max: 40 }), value: fc.integer({ min: 0, max: 3 }) }),
          {
            minLength: 1,
            maxLength: 5,
          },
        ),
        (spec) => {
          const runs: { end: number; leaf: Uint8Array }[] = [];
          for (const r of spec) runs.push({ end: (runs.at(-1)?.end ?? 0) + r.length, leaf: leaf(r.value) });
          const leaves = spec.flatMap((r) => Array.from({ length: r.length }, () => leaf(r.value)));
          const full = new TraceTree(leaves, keccak256);
          const sparse = new RunLengthTree(runs, keccak256);
          expect(sparse.depth).toBe(full.depth);
          expect(sparse.root).toEqual(full.root);
          for (let h = 0; h <= full.depth; h++)
            for (let i = 0; i < 2 ** (full.depth - h); i++)
              expect(sparse.node(h, i)).toEqual(full.node(h, i));
        },
      ),
      { numRuns: 60, seed: 5 },
    );
  });
});
