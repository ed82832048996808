/**
 * The OTR network as a seeded discrete-event simulation (docs/reproductions/otr.md). Clients send
 * requests (Poisson or bursty); the gateway routes each to a worker (the less loaded of two drawn at
 * random); workers serve them in TEEs (log-normal service times, a TEE overhead, concurrent slots);
 * receipts come back over the network, are verified and persisted on the gateway's cores and admitted
 * by the protocol's own rules (the replay guard, the batch sealing rule, the batch tree), which gives
 * provisional finality; sealed batches are posted on the next block, spot-checked with the protocol's
 * selection from the batch root and a later block's randomness (provers answer the obligations), watched
 * by fishermen who re-execute a sample and play the protocol's dispute game against fraud, and become
 * final after the window. Adversaries cheat in the ways docs/reproductions/otr.md lists; stakes are
 * slashed and the epoch settled with the protocol's code. Pure: the hash is injected (a native keccak
 * in the shell), time is simulated, randomness seeded.
 */
import type { Hex } from "../../protocol/encoding/hex.ts";
import { fail, ok, type Verdict } from "../../protocol/errors.ts";
import { DEFAULT_OTR_PARAMS, type OtrParams, otrProblems } from "../../protocol/params/otr.ts";
import { settleEpoch, type WorkerEpoch } from "../../protocol/poea/epoch.ts";
import { StakeBook } from "../../protocol/poea/stakes.ts";
import { ReplayGuard } from "../../protocol/receipt/replayGuard.ts";
import { deriveSeed, type Seed } from "../../protocol/rng/deriveSeed.ts";
import { createRng } from "../../protocol/rng/prng.ts";
import { BatchTree } from "../../protocol/rollup/batchTree.ts";
import { RollupState } from "../../protocol/rollup/rollupState.ts";
import { BatchPolicy } from "../../protocol/rollup/sequencer.ts";
import { obligationsOf, settleObligation } from "../../protocol/spotcheck/spotcheck.ts";
import type { Hash32 } from "../../protocol/verifiable/trace.ts";
import { type CostInputs, DEFAULT_COST_INPUTS } from "./costModel.ts";
import { runDispute } from "./disputeRun.ts";
import { EventQueue } from "./eventQueue.ts";
import { ArrivalProcess, type Arrivals, drawLogNormal, type LogNormal, meanLogNormal } from "./traffic.ts";

/** How an adversary cheats. */
export type Adversary =
  | { readonly kind: "none" }
  /** Workers serve a smaller model and claim the larger; with an honest TEE the receipt cannot match. */
  | { readonly kind: "downgrade"; readonly workers: number; readonly teeCompromised: boolean }
  /** Workers answer from a cache (another prompt's output) at a rate: the trace does not match. */
  | { readonly kind: "lazy"; readonly workers: number; readonly rate: number }
  /** A transient TEE vulnerability: workers return wrong outputs at a rate, signed with their key. */
  | { readonly kind: "wrongOutputs"; readonly workers: number; readonly rate: number }
  /** One worker's enclave key leaks for a window: forged receipts at a rate while it lasts. */
  | { readonly kind: "keyLeak"; readonly fromMs: number; readonly durationMs: number; readonly rate: number }
  /** Challengers dispute honest receipts. */
  | { readonly kind: "griefing"; readonly disputes: number }
  /** The gateway drops a share of requests; their clients go to a worker directly and force the receipt in. */
  | { readonly kind: "censorship"; readonly share: number; readonly clientTimeoutMs: number }
  /** A colluding sequencer admits receipts of an unregistered worker at a rate (provable from the data). */
  | { readonly kind: "collusion"; readonly rate: number };

/** A simulation configuration. Durations in ms. */
export interface OtrSimConfig {
  readonly requests: number;
  readonly arrivals: Arrivals;
  readonly workers: number;
  readonly slotsPerWorker: number;
  /** Service time without a TEE. */
  readonly service: LogNormal;
  /** Extra service time of a TEE (the paper: 15–20%; measured elsewhere: 4–8%). */
  readonly teeOverhead: number;
  /** One-way network latency between any two parties. */
  readonly network: LogNormal;
  /** The gateway's cores and what admitting one receipt costs on one (verification, durable write). */
  readonly gateway: { readonly cores: number; readonly verifyMs: number; readonly persistMs: number };
  readonly otr: OtrParams;
  readonly chain: { readonly blockMs: number };
  /** Proving one spot-check; `onCriticalPath`: the client waits for the proof of a selected request. */
  readonly prover: LogNormal & { readonly onCriticalPath: boolean };
  /** Share of receipts a fisherman re-executes, and how fast it reacts (to a receipt, to a move). */
  readonly fishermen: { readonly coverage: number; readonly reactionMs: number };
  readonly adversary: Adversary;
  /**
   * Leaves of a disputed trace (the game's depth follows): 2^24 by default, the order of a real
   * request's trace (steps per position × positions; verifiable/requestCommitments.ts).
   */
  readonly disputeLeaves: number;
  /** What a cheater saves per fraudulent receipt, in tokens (wei): the deterrence side of the ledger. */
  readonly fraudGainWei: bigint;
  /** Prices for the cost accounting. */
  readonly cost: CostInputs;
  /** The centralized baseline: same workers and arrivals, no TEE, no verification, no protocol. */
  readonly baseline: boolean;
}

/** Our default network: 1,000 req/s on 200 workers × 8 slots serving 1 s requests (about 60% load). */
export const DEFAULT_OTR_SIM: OtrSimConfig = {
  requests: 100_000,
  arrivals: { kind: "poisson", ratePerSecond: 1_000 },
  workers: 200,
  slotsPerWorker: 8,
  service: { medianMs: 1_000, sigma: 0.3 },
  teeOverhead: 0.175,
  network: { medianMs: 20, sigma: 0.3 },
  gateway: { cores: 2, verifyMs: 0.08, persistMs: 0.02 },
  otr: DEFAULT_OTR_PARAMS,
  chain: { blockMs: 12_000 },
  // One slice proof as measured on the product's path (docs/zk.md: 1.66–1.82 s on a worker thread).
  prover: { medianMs: 1_700, sigma: 0.05, onCriticalPath: false },
  fishermen: { coverage: 0.01, reactionMs: 12_000 },
  adversary: { kind: "none" },
  disputeLeaves: 2 ** 24,
  fraudGainWei: 10n ** 15n,
  cost: DEFAULT_COST_INPUTS,
  baseline: false,
};

/** Distribution summary of a latency (ms). */
export interface LatencyStats {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** What a run measured. */
export interface OtrSimResult {
  readonly seed: Seed;
  readonly baseline: boolean;
  readonly events: number;
  /** Simulated time from the first arrival to the last completion. */
  readonly spanMs: number;
  readonly completed: number;
  /**
   * Completions per second in the steady state: the middle 80% of completions over the time they
   * took (the ramp-up and the final drain, where queues empty unevenly, would bias a whole-run rate).
   */
  readonly throughputPerSecond: number;
  readonly latency: {
    /** Arrival to the client holding the output and its provisional finality (or just the output, baseline). */
    readonly endToEnd: LatencyStats;
    /**
     * Output ready at the worker to the client holding it: two network hops through the gateway, and
     * for OTR the receipt's verification and durable write there (the provisional-finality promise).
     */
    readonly provisionalOverhead: LatencyStats;
    /** What a client waits when the proofs of selected requests are on its critical path. */
    readonly withProofs: LatencyStats;
    /** The same for the selected requests alone (their proof's wait included when it is on the path). */
    readonly selectedWithProofs: LatencyStats;
    /** Arrival to the receipt being final on chain. */
    readonly toFinal: LatencyStats;
  };
  readonly batches: {
    readonly count: number;
    readonly meanSize: number;
    readonly byReason: Readonly<Record<string, number>>;
  };
  readonly spotchecks: { readonly selected: number; readonly proven: number; readonly slashed: number };
  readonly security: {
    readonly fraudulent: number;
    readonly rejectedAtAdmission: number;
    readonly caughtBySpotcheck: number;
    readonly caughtByFisherman: number;
    readonly undetected: number;
    readonly disputes: number;
    readonly disputesWorkerLost: number;
    readonly meanDisputeMs: number;
    readonly slashedWei: string;
    readonly attackerGainWei: string;
    readonly attackerProfitWei: string;
    /** Bonds the honest side posted in disputes, and what the attacking side posted. */
    readonly honestBondsWei: string;
    readonly attackerBondsWei: string;
    readonly censored: number;
    readonly forcedIn: number;
    readonly invalidInclusionsProven: number;
  };
  /**
   * The watchers' ledger (the verifier's dilemma): receipts fishermen re-executed, the GPU time and
   * dollars that cost, and the bounties they won (their share of slashes). Their baseline reward is the
   * epoch's fisherman pool (`poea.fishermanShareBps`).
   */
  readonly fishermen: {
    readonly reexecuted: number;
    readonly gpuHours: number;
    readonly costUsd: number;
    readonly bountiesWei: string;
    readonly baselineRewardWei: string;
  };
  /** On-chain gas the run spent, by purpose, and its dollar cost per completed query. */
  readonly gas: Readonly<Record<string, number>>;
  readonly costPerQueryUsd: number;
  readonly epoch: { readonly paidWei: string; readonly burnedWei: string; readonly workersPaid: number };
}

// Event kinds.
const ARRIVE = 0;
const DONE = 1;
const RECEIPT = 2;
const ADMIT = 3;
const SEAL_CHECK = 4;
const POSTED = 5;
const SEED = 6;
const REACH = 7;

const stats = (values: Float64Array, count: number): LatencyStats => {
  if (count === 0) return { count: 0, mean: 0, p50: 0, p99: 0, max: 0 };
  const v = values.slice(0, count).sort();
  let sum = 0;
  for (let i = 0; i < count; i++) sum += v[i] as number;
  const q = (p: number) => v[Math.min(count - 1, Math.floor(p * count))] as number;
  return { count, mean: sum / count, p50: q(0.5), p99: q(0.99), max: v[count - 1] as number };
};

/** The configuration, or PARAMS_INVALID listing every problem. */
export function validateOtrSim(c: OtrSimConfig): Verdict<OtrSimConfig> {
  const problems: string[] = [];
  const integer = (v: number, name: string, min: number, max: number) => {
    if (!(Number.isInteger(v) && v >= min && v <= max))
      problems.push(`${name} must be an integer in ${min}..${max}, got ${v}`);
  };
  const atLeast = (v: number, name: string, min: number, strict = false) => {
    if (!(Number.isFinite(v) && (strict ? v > min : v >= min)))
      problems.push(`${name} must be ${strict ? ">" : "≥"} ${min}, got ${v}`);
  };
  const share = (v: number, name: string) => {
    if (!(Number.isFinite(v) && v >= 0 && v <= 1)) problems.push(`${name} must be in [0, 1], got ${v}`);
  };
  integer(c.requests, "requests", 1, 50_000_000);
  integer(c.workers, "workers", 1, 10_000_000);
  integer(c.slotsPerWorker, "slotsPerWorker", 1, 4_096);
  integer(c.gateway.cores, "gateway.cores", 1, 1_024);
  integer(c.disputeLeaves, "disputeLeaves", 2, 2 ** 32);
  atLeast(c.arrivals.ratePerSecond, "arrivals.ratePerSecond", 0, true);
  if (c.arrivals.kind === "bursty") {
    atLeast(c.arrivals.burstRatio, "arrivals.burstRatio", 1);
    share(c.arrivals.burstFraction, "arrivals.burstFraction");
    atLeast(c.arrivals.meanBurstSeconds, "arrivals.meanBurstSeconds", 0, true);
  }
  for (const [name, d] of [
    ["service", c.service],
    ["network", c.network],
    ["prover", c.prover],
  ] as const) {
    atLeast(d.medianMs, `${name}.medianMs`, 0);
    atLeast(d.sigma, `${name}.sigma`, 0);
  }
  atLeast(c.teeOverhead, "teeOverhead", 0);
  atLeast(c.gateway.verifyMs, "gateway.verifyMs", 0);
  atLeast(c.gateway.persistMs, "gateway.persistMs", 0);
  atLeast(c.chain.blockMs, "chain.blockMs", 0, true);
  share(c.fishermen.coverage, "fishermen.coverage");
  atLeast(c.fishermen.reactionMs, "fishermen.reactionMs", 0);
  const a = c.adversary;
  if ("workers" in a) share(a.workers, "adversary.workers");
  if ("rate" in a) share(a.rate, "adversary.rate");
  if (a.kind === "censorship") share(a.share, "adversary.share");
  problems.push(...otrProblems(c.otr));
  return problems.length
    ? fail("PARAMS_INVALID", `invalid OTR simulation: ${problems.join("; ")}`, { problems })
    : ok(c);
}

/**
 * Runs the simulation; `onProgress` hears how many requests have arrived (every 8,192). The
 * configuration must pass {@link validateOtrSim}.
 */
export function simulateOtr(
  config: OtrSimConfig,
  seed: Seed,
  hash: Hash32,
  onProgress?: (arrived: number) => void,
): OtrSimResult {
  const c = config;
  const n = c.requests;
  const W = c.workers;
  const rng = (label: string) => createRng(deriveSeed(seed, "otr", label));
  const arrivalRng = rng("arrivals");
  const serviceRng = rng("service");
  const netRng = rng("network");
  const routeRng = rng("routing");
  const fraudRng = rng("fraud");
  const fisherRng = rng("fishermen");
  const proverRng = rng("prover");
  const chainRng = rng("chain");
  const arrivals = new ArrivalProcess(c.arrivals, arrivalRng);
  const q = new EventQueue();
  const net = () => drawLogNormal(c.network, netRng);
  const tee = c.baseline ? 0 : c.teeOverhead;

  // Per request.
  const arrivedAt = new Float64Array(n);
  const workerOf = new Int32Array(n);
  const readyAt = new Float64Array(n); // output ready at the worker
  const admittedAt = new Float64Array(n).fill(-1);
  const batchOf = new Int32Array(n).fill(-1);
  const fraud = new Uint8Array(n); // 0 honest, 1 fraudulent receipt, 2 rejected (honest TEE caught it)
  const censored = new Uint8Array(n);
  const finalAt = new Float64Array(n).fill(-1);
  const voided = new Uint8Array(n);
  const proofWait = new Float64Array(n); // extra wait when proofs are on the critical path
  // Worker queues (a linked list of waiting requests per worker) and busy slots.
  const busy = new Int32Array(W);
  const queued = new Int32Array(W);
  const head = new Int32Array(W).fill(-1);
  const tail = new Int32Array(W).fill(-1);
  const nextInQueue = new Int32Array(n).fill(-1);
  const coreFreeAt = new Float64Array(c.gateway.cores);

  // Adversary membership.
  const a = c.adversary;
  const cheater = new Uint8Array(W);
  if (a.kind === "downgrade" || a.kind === "lazy" || a.kind === "wrongOutputs")
    for (const w of rng("cheaters").sampleIndices(W, Math.min(W, Math.round(a.workers * W)))) cheater[w] = 1;
  const leakedWorker = 0;

  // The protocol's pieces.
  const otr = c.otr;
  const policy = new BatchPolicy(otr.rollup);
  const replay = new ReplayGuard<number>(4096);
  const chain = new RollupState(otr.rollup);
  const stakes = new StakeBook(otr.poea.unbondingMs);
  const workerAddress = Array.from(
    { length: W },
    (_, w) => `0x${(w + 1).toString(16).padStart(40, "0")}` as Hex,
  );
  for (const addr of workerAddress) stakes.deposit(addr, otr.poea.minWorkerStake);
  const sequences = new Float64Array(W);
  // Open batch and sealed batches (members by request index).
  let open: number[] = [];
  const batchMembers: number[][] = [];
  const batchRoots: Hex[] = [];
  const sealReasons: Record<string, number> = {};
  let sealScheduled = false;
  const gas = {
    batchPosts: 0,
    dataAvailability: 0,
    proofs: 0,
    disputes: 0,
    forcedInclusion: 0,
    invalidInclusionProofs: 0,
  };
  let slashed = 0n;
  let bounties = 0n;
  let reexecuted = 0;
  let honestBonds = 0n;
  let attackerBonds = 0n;
  const sec = {
    fraudulent: 0,
    rejectedAtAdmission: 0,
    caughtBySpotcheck: 0,
    caughtByFisherman: 0,
    disputes: 0,
    disputesWorkerLost: 0,
    disputeMs: 0,
    censored: 0,
    forcedIn: 0,
    invalidInclusionsProven: 0,
    selected: 0,
    proven: 0,
    spotSlashed: 0,
  };
  const detected = new Uint8Array(n);
  let lastDone = 0;
  let lastAdmitted = 0;

  const enqueue = (w: number, r: number) => {
    if (tail[w] === -1) head[w] = r;
    else nextInQueue[tail[w] as number] = r;
    tail[w] = r;
    queued[w] = (queued[w] as number) + 1;
  };
  const start = (w: number, r: number, now: number) => {
    busy[w] = (busy[w] as number) + 1;
    const service = drawLogNormal(c.service, serviceRng) * (1 + tee);
    q.push(now + service, DONE, r);
  };
  const blockAfter = (t: number) => Math.ceil((t + 1) / c.chain.blockMs) * c.chain.blockMs;
  const seal = (now: number, reason: string) => {
    const index = batchMembers.length;
    const members = open;
    open = [];
    policy.reset();
    sealScheduled = false;
    sealReasons[reason] = (sealReasons[reason] ?? 0) + 1;
    batchMembers.push(members);
    // The batch root over the receipts' leaves (a synthetic digest per request).
    const leafBuf = new Uint8Array(8);
    const view = new DataView(leafBuf.buffer);
    const tree = new BatchTree(
      members.map((r) => {
        view.setUint32(0, index);
        view.setUint32(4, r);
        return hash(leafBuf);
      }),
      hash,
    );
    batchRoots.push(tree.root);
    for (const r of members) batchOf[r] = index;
    q.push(blockAfter(now), POSTED, index);
  };

  // Arrivals are generated lazily: one pending at a time keeps the queue small.
  q.push(arrivals.next(), ARRIVE, 0);
  while (q.pop()) {
    const now = q.time;
    const r = q.payload;
    switch (q.kind) {
      case ARRIVE: {
        arrivedAt[r] = now;
        if ((r & 8191) === 8191) onProgress?.(r + 1);
        if (r + 1 < n) q.push(arrivals.next(), ARRIVE, r + 1);
        // Censored requests reach a worker directly after the client's timeout.
        let at = now + net();
        if (!c.baseline && a.kind === "censorship" && fraudRng.float() < a.share) {
          censored[r] = 1;
          sec.censored++;
          at += a.clientTimeoutMs;
        }
        // Power of two choices: the less loaded of two workers drawn at random.
        const w1 = routeRng.int(W);
        const w2 = routeRng.int(W);
        workerOf[r] =
          (busy[w1] as number) + (queued[w1] as number) <= (busy[w2] as number) + (queued[w2] as number)
            ? w1
            : w2;
        q.push(at + net(), REACH, r);
        break;
      }
      case REACH: {
        const w = workerOf[r] as number;
        if ((busy[w] as number) < c.slotsPerWorker) start(w, r, now);
        else enqueue(w, r);
        break;
      }
      case DONE: {
        const w = workerOf[r] as number;
        busy[w] = (busy[w] as number) - 1;
        readyAt[r] = now;
        lastDone = Math.max(lastDone, now);
        const next = head[w] as number;
        if (next !== -1) {
          head[w] = nextInQueue[next] as number;
          if (head[w] === -1) tail[w] = -1;
          queued[w] = (queued[w] as number) - 1;
          start(w, next, now);
        }
        if (c.baseline) {
          // The response goes back the way the request came: through the gateway, unverified.
          admittedAt[r] = now + net() + net();
          lastAdmitted = Math.max(lastAdmitted, admittedAt[r] as number);
          break;
        }
        // Fraud at the worker.
        if (cheater[w] && (a.kind === "downgrade" || fraudRng.float() < (a as { rate: number }).rate))
          fraud[r] = 1;
        if (
          a.kind === "keyLeak" &&
          now >= a.fromMs &&
          now < a.fromMs + a.durationMs &&
          w === leakedWorker &&
          fraudRng.float() < a.rate
        )
          fraud[r] = 1;
        if (a.kind === "downgrade" && fraud[r] && !a.teeCompromised) fraud[r] = 2; // the attestation cannot match
        if (a.kind === "collusion" && fraudRng.float() < a.rate) fraud[r] = 3; // an unregistered worker's receipt
        q.push(now + net(), RECEIPT, r);
        break;
      }
      case RECEIPT: {
        // The gateway's cores verify and persist receipts first come, first served.
        let core = 0;
        for (let i = 1; i < coreFreeAt.length; i++)
          if ((coreFreeAt[i] as number) < (coreFreeAt[core] as number)) core = i;
        const done = Math.max(now, coreFreeAt[core] as number) + c.gateway.verifyMs + c.gateway.persistMs;
        coreFreeAt[core] = done;
        q.push(done, ADMIT, r);
        break;
      }
      case ADMIT: {
        const w = workerOf[r] as number;
        if (fraud[r] === 2) {
          sec.fraudulent++;
          sec.rejectedAtAdmission++;
          break;
        }
        if (fraud[r] === 1 || fraud[r] === 3) sec.fraudulent++;
        // The protocol's replay rule and sealing rule.
        sequences[w] = (sequences[w] as number) + 1;
        const accepted = replay.accept(
          workerAddress[w] as Hex,
          BigInt(sequences[w] as number),
          `0x${r.toString(16)}` as Hex,
          r,
        );
        if (!accepted.ok) break;
        if (censored[r]) {
          // Forced inclusion: the client posts the receipt itself; its own batch of one.
          sec.forcedIn++;
          gas.forcedInclusion += 120_000;
          admittedAt[r] = now + net();
          const index = batchMembers.length;
          batchMembers.push([r]);
          batchRoots.push(`0x${"00".repeat(31)}01` as Hex);
          batchOf[r] = index;
          q.push(blockAfter(now), POSTED, index);
          break;
        }
        const key = workerAddress[w] as string;
        if (policy.overflows(key)) seal(now, "bytes");
        policy.append(key, now);
        open.push(r);
        admittedAt[r] = now + net();
        lastAdmitted = Math.max(lastAdmitted, admittedAt[r] as number);
        if (policy.full) seal(now, "count");
        else if (!sealScheduled) {
          sealScheduled = true;
          q.push(policy.sealDeadline, SEAL_CHECK, batchMembers.length);
        }
        break;
      }
      case SEAL_CHECK: {
        // Only the batch that scheduled this check, if it is still open.
        if (r === batchMembers.length && policy.expired(now)) seal(now, "age");
        else if (r === batchMembers.length && policy.count > 0)
          q.push(policy.openedAt + otr.rollup.maxBatchAgeMs, SEAL_CHECK, r);
        break;
      }
      case POSTED: {
        const members = batchMembers[r] as number[];
        const forced = members.length === 1 && censored[members[0] as number] === 1;
        if (!forced) {
          gas.batchPosts += c.cost.batchPostGas;
          gas.dataAvailability +=
            c.cost.dataAvailability === "calldata"
              ? members.length * c.cost.receiptBytes * c.cost.calldataGasPerByte
              : 0;
        }
        const posted = chain.post(
          {
            root: batchRoots[r] as Hex,
            count: members.length,
            dataPointer: { kind: forced ? "forced" : "calldata", ref: batchRoots[r] as Hex },
            poster: workerAddress[0] as Hex,
          },
          r,
          now,
        );
        if (!posted.ok) throw new Error(posted.error.message);
        const windowEnd = chain.windowEnd(r);
        for (const m of members) finalAt[m] = windowEnd;
        if (!forced) q.push(now + otr.spotcheck.seedDelayBlocks * c.chain.blockMs, SEED, r);
        // Fishermen: re-execute a sample of the batch, dispute the fraud they find.
        for (const m of members) {
          if (fisherRng.float() >= c.fishermen.coverage) continue;
          reexecuted++;
          if (fraud[m] === 1 && !detected[m]) {
            detected[m] = 1;
            sec.caughtByFisherman++;
            disputeReceipt(
              m,
              now + c.fishermen.reactionMs + drawLogNormal(c.service, serviceRng),
              "challenger",
            );
          }
        }
        // A colluding sequencer's invalid receipts are provable from the published data by anyone.
        for (const m of members)
          if (fraud[m] === 3 && !detected[m]) {
            detected[m] = 1;
            sec.invalidInclusionsProven++;
            gas.invalidInclusionProofs += 150_000;
            voided[m] = 1;
            slashed += otr.rollup.sequencerBond / 10n;
          }
        break;
      }
      case SEED: {
        // The seed is the randomness of a later block: unknown when the root was committed.
        const seedBytes = new Uint8Array(8);
        new DataView(seedBytes.buffer).setUint32(0, r);
        new DataView(seedBytes.buffer).setUint32(4, chainRng.nextU32());
        const seedHex =
          `0x${Array.from(hash(seedBytes), (b) => b.toString(16).padStart(2, "0")).join("")}` as Hex;
        const members = batchMembers[r] as number[];
        for (const o of obligationsOf(
          { index: r, root: batchRoots[r] as Hex, count: members.length },
          seedHex,
          now,
          otr.spotcheck,
          hash,
        )) {
          const m = members[o.position] as number;
          sec.selected++;
          const proofAt = now + drawLogNormal(c.prover, proverRng);
          const outcome = settleObligation(
            o,
            fraud[m] === 1 ? null : { at: proofAt, valid: true },
            o.deadline + 1,
            otr.spotcheck,
          );
          if (outcome.kind === "proven") {
            sec.proven++;
            gas.proofs += c.cost.proofOnChain ? c.cost.proofVerifyGas : c.cost.proofPostGas;
            proofWait[m] = Math.max(0, proofAt - (admittedAt[m] as number));
          } else if (outcome.kind === "slash") {
            sec.spotSlashed++;
            slashed += stakes.slash(workerAddress[workerOf[m] as number] as Hex, outcome.amount);
            if (fraud[m] === 1 && !detected[m]) {
              detected[m] = 1;
              sec.caughtBySpotcheck++;
            }
            voided[m] = 1;
          }
        }
        break;
      }
    }
  }

  /** Plays a dispute about request m (opened at `openAt`), and records its outcome. */
  function disputeReceipt(m: number, openAt: number, honest: "worker" | "challenger"): void {
    const b = batchOf[m] as number;
    const position = (batchMembers[b] as number[]).indexOf(m);
    if (!chain.openDispute(b, position, openAt).ok) return;
    sec.disputes++;
    const dRng = createRng(deriveSeed(seed, "otr", "dispute", m));
    const result = runDispute(
      {
        leaves: c.disputeLeaves,
        divergeAt: dRng.int(c.disputeLeaves),
        honest,
        workerAbsent: false,
        reactionMs: c.fishermen.reactionMs,
        seed: m,
      },
      otr.dispute,
      hash,
    );
    chain.settleDispute(b, position, result.workerLost);
    gas.disputes += result.gas.worker + result.gas.challenger;
    sec.disputeMs += result.durationMs;
    if (result.workerLost) {
      sec.disputesWorkerLost++;
      voided[m] = 1;
      const taken = stakes.slash(workerAddress[workerOf[m] as number] as Hex, otr.dispute.workerSlash);
      slashed += taken;
      if (honest === "challenger") bounties += (taken * BigInt(otr.dispute.challengerShareBps)) / 10_000n;
    }
    if (honest === "worker") {
      honestBonds += result.bonds.worker;
      attackerBonds += result.bonds.challenger;
    } else {
      honestBonds += result.bonds.challenger;
      attackerBonds += result.bonds.worker;
    }
    finalAt[m] = Math.max(finalAt[m] as number, openAt + result.durationMs);
  }

  // Griefing: challengers dispute honest receipts (the first of as many batches as they can afford).
  if (a.kind === "griefing")
    for (let g = 0; g < a.disputes && g < batchMembers.length; g++) {
      const m = (batchMembers[g] as number[])[0] as number;
      disputeReceipt(m, (chain.batch(g)?.postedAt ?? 0) + c.fishermen.reactionMs, "worker");
    }

  // Latencies.
  const e2e = new Float64Array(n);
  const overhead = new Float64Array(n);
  const withProofs = new Float64Array(n);
  const toFinal = new Float64Array(n);
  const selectedWait = new Float64Array(n);
  const completions = new Float64Array(n);
  let completed = 0;
  let selectedCount = 0;
  let finals = 0;
  let undetected = 0;
  for (let r = 0; r < n; r++) {
    if ((admittedAt[r] as number) < 0) continue;
    e2e[completed] = (admittedAt[r] as number) - (arrivedAt[r] as number);
    overhead[completed] = (admittedAt[r] as number) - (readyAt[r] as number);
    withProofs[completed] =
      (e2e[completed] as number) + (c.prover.onCriticalPath ? (proofWait[r] as number) : 0);
    if ((proofWait[r] as number) > 0) selectedWait[selectedCount++] = withProofs[completed] as number;
    completions[completed] = admittedAt[r] as number;
    completed++;
    if (!voided[r] && (finalAt[r] as number) >= 0)
      toFinal[finals++] = (finalAt[r] as number) - (arrivedAt[r] as number);
    if (fraud[r] === 1 && !detected[r]) undetected++;
  }
  const span = Math.max(lastDone, lastAdmitted) - (arrivedAt[0] as number);
  const steady = completions.slice(0, completed).sort();
  const lo = Math.floor(0.1 * completed);
  const hi = Math.max(lo, Math.ceil(0.9 * completed) - 1);
  const steadyMs = (steady[hi] ?? 0) - (steady[lo] ?? 0);

  // Epoch: the protocol's attribution over final, non-voided receipts.
  const tokens = new Float64Array(W);
  for (let r = 0; r < n; r++)
    if ((admittedAt[r] as number) >= 0 && !voided[r])
      tokens[workerOf[r] as number] = (tokens[workerOf[r] as number] as number) + 1;
  const workersEpoch: WorkerEpoch[] = workerAddress.map((worker, w) => ({
    worker,
    tokens: BigInt(tokens[w] as number) * 100n,
    quality: cheater[w] ? 5 : 8,
    costPerToken: cheater[w] && a.kind === "downgrade" ? 0.2 : 1,
  }));
  const epoch = settleEpoch(otr.poea, otr.poea.epochRewards, workersEpoch, [], []);
  const usdPerGas = c.cost.gasPriceGwei * 1e-9 * c.cost.ethUsd;
  const totalGas = Object.values(gas).reduce((s, g) => s + g, 0);
  const frauds = BigInt(sec.fraudulent - sec.rejectedAtAdmission);
  // A fisherman re-executes without a TEE: the service time alone.
  const fisherGpuHours = (reexecuted * meanLogNormal(c.service)) / 3_600_000;
  const gain = frauds * c.fraudGainWei;
  return {
    seed,
    baseline: c.baseline,
    events: q.pushed,
    spanMs: span,
    completed,
    throughputPerSecond: steadyMs > 0 ? (hi - lo) / (steadyMs / 1000) : 0,
    latency: {
      endToEnd: stats(e2e, completed),
      provisionalOverhead: stats(overhead, completed),
      withProofs: stats(withProofs, completed),
      selectedWithProofs: stats(selectedWait, selectedCount),
      toFinal: stats(toFinal, finals),
    },
    batches: {
      count: batchMembers.length,
      meanSize: batchMembers.length ? completed / batchMembers.length : 0,
      byReason: sealReasons,
    },
    spotchecks: { selected: sec.selected, proven: sec.proven, slashed: sec.spotSlashed },
    security: {
      fraudulent: sec.fraudulent,
      rejectedAtAdmission: sec.rejectedAtAdmission,
      caughtBySpotcheck: sec.caughtBySpotcheck,
      caughtByFisherman: sec.caughtByFisherman,
      undetected,
      disputes: sec.disputes,
      disputesWorkerLost: sec.disputesWorkerLost,
      meanDisputeMs: sec.disputes ? sec.disputeMs / sec.disputes : 0,
      slashedWei: String(slashed),
      attackerGainWei: String(gain),
      attackerProfitWei: String(gain - slashed),
      honestBondsWei: String(honestBonds),
      attackerBondsWei: String(attackerBonds),
      censored: sec.censored,
      forcedIn: sec.forcedIn,
      invalidInclusionsProven: sec.invalidInclusionsProven,
    },
    fishermen: {
      reexecuted,
      gpuHours: fisherGpuHours,
      costUsd: fisherGpuHours * c.cost.gpuHourUsd,
      bountiesWei: String(bounties),
      baselineRewardWei: String((otr.poea.epochRewards * BigInt(otr.poea.fishermanShareBps)) / 10_000n),
    },
    gas,
    costPerQueryUsd: completed ? (totalGas * usdPerGas) / completed : 0,
    epoch: {
      paidWei: String(epoch.payouts.reduce((s, p) => s + p.amount, 0n)),
      burnedWei: String(epoch.burned),
      workersPaid: epoch.payouts.length,
    },
  };
}
