/**
 * The worker store's kept spot-check proofs (real SQLite): a proof made is kept across a restart,
 * unsent or mined; mined ones are forgotten once older than a reorganisation could reach, unsent ones
 * only when their obligation is done with.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type KeptProof, WorkerStore } from "./workerStore.ts";

const proof = (key: string, minedAt: bigint | null): KeptProof => ({
  key,
  opened: JSON.stringify({ args: { batch: `${key.length}n` } }),
  bytes: `0x${"ab".repeat(8)}`,
  proveMs: 8000,
  minedAt,
});

describe("WorkerStore kept proofs", () => {
  it("keeps proofs across a restart, and forgets mined ones older than a given block only", () => {
    const path = join(mkdtempSync(join(tmpdir(), "verinfer-worker-store-")), "worker.sqlite");
    let store = WorkerStore.open(path);
    store.keepProof(proof("1:0:0xaa", null));
    store.keepProof(proof("1:1:0xbb", 10n));
    store.keepProof(proof("2:0:0xcc", 20n));
    // Sent again and mined later: the same obligation's row is replaced.
    store.keepProof(proof("1:1:0xbb", 12n));
    store.close();

    store = WorkerStore.open(path);
    expect(store.keptProof("1:0:0xaa")).toEqual(proof("1:0:0xaa", null));
    expect(store.minedProofs()).toEqual([proof("1:1:0xbb", 12n), proof("2:0:0xcc", 20n)]);
    store.forgetProofsMinedBefore(13n);
    expect(store.minedProofs()).toEqual([proof("2:0:0xcc", 20n)]);
    expect(store.keptProof("1:0:0xaa")).toEqual(proof("1:0:0xaa", null));
    store.forgetProof("1:0:0xaa");
    expect(store.keptProof("1:0:0xaa")).toBeUndefined();
    store.close();
  });
});
