/**
 * OTR: the simulator's speed at the scale (10^6 requests, 10^4 workers), the sequencer's
 * ingest (full receipt verification + admission + sealing), sealing a 10,000-receipt batch (root and
 * data), and dispute games (over 2^24 leaves with run-length traces and an oracle one-step; over a
 * real model's trace with the real one-step check), plus what regenerating a real 2^24-leaf trace tree
 * costs, which the 2^24 game leaves out.
 */

import { loadNativeSecp256k1 } from "../src/crypto/nativeSecp256k1.ts";
import { PRESETS } from "../src/engine/llama2c/generateModel.ts";
import { generatedIntModel } from "../src/engine/llama2c/modelFiles.ts";
import { defaultThreads, WorkerPool } from "../src/parallel/workerPool.ts";
import { openGame } from "../src/protocol/dispute/game.ts";
import { traceStepEvidence, traceStepVerifier } from "../src/protocol/dispute/traceStep.ts";
import { bytesToHex, type Hex } from "../src/protocol/encoding/hex.ts";
import { keccak256 } from "../src/protocol/encoding/keccak.ts";
import type { Verdict } from "../src/protocol/errors.ts";
import { DEFAULT_OTR_PARAMS } from "../src/protocol/params/otr.ts";
import { type SignedReceipt, validateSignedReceipt } from "../src/protocol/receipt/receipt.ts";
import { DEFAULT_REPLAY_WINDOW } from "../src/protocol/receipt/replayGuard.ts";
import {
  checkReceipt,
  parseRegistry,
  type RegistrySnapshot,
  type VerifiedReceipt,
} from "../src/protocol/receipt/verifyReceipt.ts";
import { seedFrom } from "../src/protocol/rng/deriveSeed.ts";
import { encodeBatchData } from "../src/protocol/rollup/batchData.ts";
import { BatchTree } from "../src/protocol/rollup/batchTree.ts";
import { leafOfSigned, Sequencer } from "../src/protocol/rollup/sequencer.ts";
import { IntTransformer } from "../src/protocol/verifiable/intTransformer.ts";
import { replayExecution } from "../src/protocol/verifiable/replay.ts";
import { paramsHashOf, promptHashOf, traceLeafCount } from "../src/protocol/verifiable/requestCommitments.ts";
import { type Hash32, leafHash, OP, TraceTree } from "../src/protocol/verifiable/trace.ts";
import { playDispute, runDispute } from "../src/sim/otr/disputeRun.ts";
import { DEFAULT_OTR_SIM, simulateOtr } from "../src/sim/otr/otrSim.ts";
import { workerCapacity } from "../src/sim/otr/scenarios.ts";
import { exampleReceipts } from "./attestation.bench.ts";

/** Results. */
export interface OtrBench {
  readonly hash: "native" | "pure";
  readonly simulate: {
    requests: number;
    workers: number;
    ratePerSecond: number;
    seconds: number;
    events: number;
    eventsPerSecond: number;
  }[];
  readonly ingest: { mode: string; threads: number; receipts: number; perSecond: number }[];
  readonly seal: { receipts: number; rootMs: number; dataMs: number; totalMs: number };
  readonly dispute: { game: string; leaves: number; moves: number; seconds: number; workerLost: boolean }[];
  readonly traceTree: {
    leaves: number;
    seconds: number;
    hashesPerSecond: number;
    extrapolated2to24Seconds: number;
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const timed = <T>(f: () => T): [T, number] => {
  const t = performance.now();
  const value = f();
  return [value, (performance.now() - t) / 1000];
};

function simulate(hash: Hash32, requests: number, workers: number, log: (line: string) => void) {
  const base = { ...DEFAULT_OTR_SIM, requests, workers };
  const ratePerSecond = Math.round(0.6 * workerCapacity(base));
  log(
    `  simulating ${requests.toLocaleString("en-US")} requests on ${workers.toLocaleString("en-US")} workers`,
  );
  const [r, seconds] = timed(() =>
    simulateOtr({ ...base, arrivals: { kind: "poisson", ratePerSecond } }, seedFrom(1), hash),
  );
  return {
    requests,
    workers,
    ratePerSecond,
    seconds,
    events: r.events,
    eventsPerSecond: r.events / seconds,
  };
}

/** A receipt's JSON text, parsed and validated (as a gateway does before verification). */
function parse(text: string): SignedReceipt {
  const v = validateSignedReceipt(JSON.parse(text));
  if (!v.ok) throw new Error(v.error.message);
  return v.value;
}

/** A sequencer sealing every 10,000 receipts, as the defaults do. */
const newSequencer = (hash: Hash32) => new Sequencer(DEFAULT_OTR_PARAMS.rollup, DEFAULT_REPLAY_WINDOW, hash);

async function ingest(hash: Hash32, log: (line: string) => void): Promise<OtrBench["ingest"]> {
  const native = loadNativeSecp256k1();
  if (!native) return [];
  const count = 30_000;
  log(`  signing ${count.toLocaleString("en-US")} receipts`);
  const { raw, registryJson } = exampleReceipts(count);
  const registry = parseRegistry(registryJson);
  if (!registry.ok) throw new Error(registry.error.message);
  const admitAll = (signed: readonly SignedReceipt[], verdicts: readonly Verdict<VerifiedReceipt>[]) => {
    const sequencer = newSequencer(hash);
    for (let i = 0; i < signed.length; i++)
      if (!sequencer.admit(signed[i] as SignedReceipt, verdicts[i] as Verdict<VerifiedReceipt>, i).ok)
        throw new Error("bench receipts must be admitted");
    sequencer.flush(signed.length);
  };
  const rows: OtrBench["ingest"] = [];
  // The sequencer alone: receipts already parsed and verified.
  const signed = raw.map(parse);
  const reg = registry.value as RegistrySnapshot;
  const verdicts = signed.map((s) => checkReceipt(s, reg, native));
  admitAll(signed.slice(0, 2000), verdicts.slice(0, 2000)); // warm-up
  const [, admitSeconds] = timed(() => admitAll(signed, verdicts));
  rows.push({
    mode: "admit + seal only (pre-verified)",
    threads: 1,
    receipts: count,
    perSecond: count / admitSeconds,
  });
  // Parse, verify, admit on one thread.
  const [, oneSeconds] = timed(() => {
    const s = raw.map(parse);
    admitAll(
      s,
      s.map((x) => checkReceipt(x, reg, native)),
    );
  });
  rows.push({
    mode: "parse + verify + admit + seal",
    threads: 1,
    receipts: count,
    perSecond: count / oneSeconds,
  });
  // Verification on worker threads, admission here in arrival order as batches come back.
  const threads = defaultThreads();
  const pool = new WorkerPool<string, Verdict<VerifiedReceipt>>(
    new URL("../src/receipts/verifyTask.ts", import.meta.url),
    { registry: registryJson, pure: false },
    threads,
  );
  try {
    await pool.run(raw.slice(0, 200)); // start-up, excluded: a gateway's workers are long-lived
    const batch = 1000;
    const t = performance.now();
    const pending: Promise<Verdict<VerifiedReceipt>[]>[] = [];
    for (let i = 0; i < count; i += batch) pending.push(pool.run(raw.slice(i, i + batch)));
    const sequencer = newSequencer(hash);
    for (let b = 0; b < pending.length; b++) {
      const texts = raw.slice(b * batch, (b + 1) * batch);
      const results = await (pending[b] as Promise<Verdict<VerifiedReceipt>[]>);
      for (let i = 0; i < texts.length; i++)
        if (
          !sequencer.admit(parse(texts[i] as string), results[i] as Verdict<VerifiedReceipt>, b * batch + i)
            .ok
        )
          throw new Error("bench receipts must be admitted");
    }
    sequencer.flush(count);
    rows.push({
      mode: "verify on workers, parse + admit + seal here",
      threads,
      receipts: count,
      perSecond: count / ((performance.now() - t) / 1000),
    });
  } finally {
    await pool.close();
  }
  return rows;
}

function seal(hash: Hash32): OtrBench["seal"] {
  const { raw } = exampleReceipts(10_000);
  const signed = raw.map(parse);
  // Leaves are computed at admission; sealing builds the tree and encodes the data.
  const leaves = signed.map((s, i) => leafOfSigned(i, bytesToHex(hash(Uint8Array.of(i))), s.signature, hash));
  const root: number[] = [];
  const data: number[] = [];
  for (let k = 0; k < 7; k++) {
    root.push(timed(() => new BatchTree(leaves, hash).root)[1] * 1000);
    data.push(timed(() => encodeBatchData(signed))[1] * 1000);
  }
  const rootMs = median(root);
  const dataMs = median(data);
  return { receipts: 10_000, rootMs, dataMs, totalMs: rootMs + dataMs };
}

function disputes(hash: Hash32): OtrBench["dispute"] {
  const rows: OtrBench["dispute"] = [];
  const params = DEFAULT_OTR_PARAMS.dispute;
  for (const leaves of [2 ** 24, 2 ** 30]) {
    const results = [0, 1, 2, 3, 4].map((seed) =>
      timed(() =>
        runDispute(
          {
            leaves,
            divergeAt: Math.floor((leaves * (seed + 0.5)) / 5),
            honest: "challenger",
            workerAbsent: false,
            reactionMs: 60_000,
            seed,
          },
          params,
          hash,
        ),
      ),
    );
    const [r] = results[0] as (typeof results)[number];
    rows.push({
      game: "cheating worker vs honest challenger, both solvers; run-length traces, oracle one-step",
      leaves,
      moves: r.moves,
      seconds: median(results.map(([, s]) => s)),
      workerLost: r.workerLost,
    });
  }
  // A real trace of the tiny model with one faulty step, the real one-step check.
  const model = generatedIntModel(PRESETS.tiny as NonNullable<typeof PRESETS.tiny>, 3);
  const context = { prompt: [1, 72, 105], sampling: { temperature: 0.7, topP: 1, seed: 9 } };
  const positions = context.prompt.length + 7;
  const leafCount = traceLeafCount(model.shape, context.prompt.length, 8);
  const traceOf = (fault: IntTransformer["fault"]) => {
    const t = new IntTransformer(model);
    t.fault = fault;
    const { steps } = replayExecution(model, context, positions, t);
    const outputs = steps.map((s) => s.output);
    return {
      outputs,
      tree: new TraceTree(
        steps.map((s) => leafHash(s.id, s.output)),
        hash,
      ),
    };
  };
  const honest = traceOf(null);
  const cheat = traceOf({ pos: 6, layer: 1, op: OP.W2, index: 5, delta: 1 });
  const worker = "0x00000000000000000000000000000000000000aa" as Hex;
  const fisher = "0x00000000000000000000000000000000000000bb" as Hex;
  const subject = {
    traceRoot: bytesToHex(cheat.tree.root),
    leafCount,
    worker,
    promptHash: bytesToHex(promptHashOf(context.prompt, hash)),
    paramsHash: bytesToHex(paramsHashOf(context.sampling, hash)),
  };
  const view = (me: Hex, t: typeof honest) => ({
    me,
    tree: t.tree,
    stepEvidence: (i: number) => traceStepEvidence(model, context, t.outputs, (j) => t.tree.proof(j), i),
  });
  const runs = [0, 1, 2, 3, 4].map(() =>
    timed(() => {
      const state = openGame(subject, params, fisher, 0);
      if (!state.ok) throw new Error(state.error.message);
      return playDispute(
        state.value,
        [view(worker, cheat), view(fisher, honest)],
        traceStepVerifier(model, subject, hash),
        params,
        hash,
        60_000,
      );
    }),
  );
  const [real] = runs[0] as (typeof runs)[number];
  rows.push({
    game: `tiny model's real trace (${positions} positions), one faulty step, real one-step check`,
    leaves: leafCount,
    moves: real.moves,
    seconds: median(runs.map(([, s]) => s)),
    workerLost: real.workerLost,
  });
  return rows;
}

function traceTree(hash: Hash32): OtrBench["traceTree"] {
  const leaves = 2 ** 20;
  const input = Array.from({ length: leaves }, (_, i) =>
    hash(Uint8Array.of(i & 255, (i >> 8) & 255, i >> 16)),
  );
  const [, seconds] = timed(() => new TraceTree(input, hash));
  const hashesPerSecond = (leaves - 1) / seconds;
  return { leaves, seconds, hashesPerSecond, extrapolated2to24Seconds: (2 ** 24 * 2) / hashesPerSecond };
}

/** Runs the suite. */
export async function benchOtr(log: (line: string) => void): Promise<OtrBench> {
  const native = loadNativeSecp256k1();
  const hash = native?.keccak256 ?? keccak256;
  log("  sealing a 10,000-receipt batch");
  const sealed = seal(hash);
  log("  dispute games");
  const dispute = disputes(hash);
  log("  building a 2^20-leaf trace tree");
  const tree = traceTree(hash);
  const ingested = await ingest(hash, log);
  const simulated = [simulate(hash, 100_000, 200, log), simulate(hash, 1_000_000, 10_000, log)];
  return {
    hash: native ? "native" : "pure",
    simulate: simulated,
    ingest: ingested,
    seal: sealed,
    dispute,
    traceTree: tree,
  };
}
