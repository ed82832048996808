/**
 * The devnet measured with real processes (anvil, two ts-int workers, the gateway; no fisherman):
 * the gateway's own overhead per request (receipt verification + replay rule + sequencing, and with the
 * durable SQLite append) and the latency it adds end to end against calling a worker directly with the
 * same request; throughput through the gateway (full verification, durable) against the same gateway
 * code with verification off (a plain proxy) and against the same workers called directly (no gateway
 * at all), same clients, on shared cores and again with the workers pinned to cores of their own (the
 * deployment's shape); sequencer ingest with durability in process (receipts/s); the on-chain gas per
 * query of the batches posted; then, on a second devnet, the whole network end to end at ρ = 1%.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex } from "viem";
import { publicClientFor } from "../src/chain/deploy.ts";
import { rollupAbi, spotChecksAbi } from "../src/chain/generated/contracts.ts";
import { loadNativeSecp256k1 } from "../src/crypto/nativeSecp256k1.ts";
import { PRESETS } from "../src/engine/llama2c/generateModel.ts";
import { writeGeneratedModel } from "../src/engine/llama2c/modelFiles.ts";
import { type Devnet, type DevnetProcess, startDevnet, stopProcess } from "../src/node/devnet/devnet.ts";
import { signRoleMessage } from "../src/node/roleAuth.ts";
import { ReceiptStore } from "../src/node/store/receiptStore.ts";
import { DEVNET_OTR_PARAMS } from "../src/protocol/params/otr.ts";
import { drawBootstrapWeights, quantileSorted } from "../src/protocol/poq/metrics/bootstrap.ts";
import { checkReceipt, pureSecp256k1, signReceipt } from "../src/protocol/receipt/verifyReceipt.ts";
import { createRng } from "../src/protocol/rng/prng.ts";
import { Sequencer } from "../src/protocol/rollup/sequencer.ts";
import { startDevChain } from "../src/testing/devChain.ts";
import { devReceipt, devRegistry, ENCLAVE_KEY } from "../src/testing/devWorker.ts";
import { posterRig } from "../src/testing/posterRig.ts";
import { startUnverifiedGateway } from "../src/testing/unverifiedGateway.ts";

const quantile = (xs: readonly number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};
const pct = (xs: readonly number[]) => ({
  p50: quantile(xs, 0.5),
  p99: quantile(xs, 0.99),
  max: Math.max(...xs),
});

export interface DevnetBench {
  readonly requests: number;
  readonly maxTokens: number;
  /** As the gateway times it, in each answer: verification, replay rule and sequencing, ms. */
  readonly gatewayOverheadMs: { p50: number; p99: number; max: number };
  /** The same plus the durable SQLite append (the gateway's /v1/network), ms. */
  readonly durableOverheadMs: { p50: number; p99: number; max: number };
  /** Whole request through the gateway vs the same request straight to a worker, ms. */
  readonly viaGatewayMs: { p50: number; p99: number; max: number };
  readonly directMs: { p50: number; p99: number; max: number };
  /**
   * Requests/s with `clients` concurrent clients for `seconds` each way: through the gateway verifying
   * (the network's), through the same gateway code with verification off (a plain proxy: the baseline
   * for what verification costs) and straight to the workers (no gateway at all).
   */
  readonly throughput: Throughput;
  /**
   * The same comparison in the deployment's shape: the gateways, anvil and the clients on one core, the
   * workers on the other (a gateway has a host of its own, and the workers' cores decide the
   * throughput). Null where the machine has one core or no `taskset`.
   */
  readonly apart: ApartThroughput | null;
  /**
   * The same three-way comparison with a model of stories15M's shape (generated weights) and longer
   * answers: what verification costs when the worker does a real model's work per request.
   */
  readonly realShape: { readonly model: string; readonly maxTokens: number; readonly throughput: Throughput };
  /** In process: checkReceipt + Sequencer.admit + ReceiptStore.admit (WAL, synchronous=FULL) per receipt. */
  readonly ingestPerSecond: number;
  /** In process: each of those steps' CPU per receipt, ms. */
  readonly ingestCpuMs: IngestCpu;
  /** In process: the batch poster's CPU per batch, from sealed to seen posted. */
  readonly posting: readonly PostingCost[];
  /** Gas of every batch posted during the run, per receipt. */
  readonly gasPerQuery: { batches: number; receipts: number; gas: number; perQuery: number };
  /** The whole network (fisherman re-executing every receipt, spot-checks at ρ, evaluators, settler). */
  readonly fullNetwork: FullNetworkBench;
}

/** The verifying gateway's CPU per receipt by step, in process, ms (user + system). */
export interface IngestCpu {
  /** checkReceipt: the signature against the registered key, the receipt's fields. */
  readonly check: number;
  /** Sequencer.admit: the replay rule, its place in the open batch. */
  readonly sequence: number;
  /** ReceiptStore.admit: the durable append (WAL, synchronous = FULL). */
  readonly append: number;
}

export interface Throughput {
  clients: number;
  seconds: number;
  roundSeconds: number;
  viaGateway: number;
  unverified: number;
  direct: number;
  /** viaGateway / unverified: full verification vs none, on the same workers. */
  ratio: number;
  /** viaGateway / direct: the whole gateway, HTTP hop included, vs none. */
  ratioToDirect: number;
  /**
   * The same comparison by CPU, steadier than request counts on a shared machine: at saturation
   * throughput goes as 1 / CPU per request, so it is the unverified way's CPU per request over the
   * verifying way's, with the workers' and anvil's share averaged over both (their run-to-run drift is
   * not the gateway's). Null where /proc cannot tell.
   */
  cpuRatio: number | null;
  /**
   * CPU time per request served (ms, user + system, from /proc) of each gateway, the workers together
   * and anvil, each way: where the throughput goes on a shared machine.
   */
  cpuMsPerRequest: Record<ThroughputWay, ProcessCpu> | null;
  /** Each way's rounds as they ran, s: `seconds` and the requests in flight at each round's end. */
  wallSeconds: Record<ThroughputWay, number>;
  /** Each round as it ran, every way: what the averages above are made of (and intervals resample). */
  rounds: Record<ThroughputWay, WayRound>[];
}

/** One way's part of one round. */
export interface WayRound {
  readonly requests: number;
  readonly wallSeconds: number;
  /** CPU each process used in it, ms; null where /proc cannot tell. */
  readonly cpuMs: ProcessCpu | null;
}

/** The comparison with the workers on cores of their own. */
export interface ApartThroughput extends Throughput {
  /**
   * The unverified way's workers' CPU per request over the verifying way's: with their cores saturated
   * in both ways (`workersBusy`), throughput goes as 1 / their CPU per request, and the gateway's CPU is
   * not theirs. Null where /proc cannot tell.
   */
  readonly workersCpuRatio: number | null;
  /** How busy the workers kept their cores, each way (1: saturated). */
  readonly workersBusy: { readonly viaGateway: number; readonly unverified: number } | null;
}

export interface FullNetworkBench {
  readonly rhoPpm: number;
  readonly requests: number;
  /** Client latency = provisional finality (the answer carries the receipt and its promise), ms. */
  readonly requestMs: { p50: number; p99: number; max: number };
  /** From the answer to the receipt's batch on chain, and to its challenge window closed, ms. */
  readonly postedMs: { p50: number; p99: number; max: number };
  readonly finalMs: { p50: number; p99: number; max: number };
  readonly obligationsOpened: number;
  readonly obligationsProven: number;
}

async function timedRequests(
  n: number,
  send: (i: number) => Promise<Response>,
  onDone?: (body: unknown) => void,
): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const response = await send(i);
    const text = await response.text();
    ms.push(performance.now() - t);
    if (!response.ok) throw new Error(`request ${i}: HTTP ${response.status} ${text.slice(0, 200)}`);
    onDone?.(text);
  }
  return ms;
}

export type ThroughputWay = "viaGateway" | "unverified" | "direct";

export interface ProcessCpu {
  /** The verifying gateway. */
  readonly gateway: number;
  /** The unverifying one (verification: "none"). */
  readonly baseline: number;
  readonly workers: number;
  readonly anvil: number;
}

function cpuRatioOf(spent: Record<ThroughputWay, ProcessCpu>): number {
  const { viaGateway: full, unverified: none } = spent;
  const common = (full.workers + full.anvil + none.workers + none.anvil) / 2;
  return (common + none.gateway + none.baseline) / (common + full.gateway + full.baseline);
}

/** CPU time (user + system) process `pid` has used, ms; null where /proc cannot tell (not Linux). */
function cpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command's closing parenthesis start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * Pins the gateways, anvil and this process (the clients) to core 0 and the workers to the other cores,
 * every thread of each; returns the undo and how many cores the workers have (counted before pinning:
 * pinned, this process sees one), or null (nothing pinned) where there is one core or no `taskset`.
 */
function pinApart(
  devnet: Devnet,
  baseline: DevnetProcess,
): { readonly undo: () => void; readonly workerCores: number } | null {
  const cores = availableParallelism();
  const front = [devnet.gateway.pid, baseline.pid, devnet.chain.pid, process.pid];
  const all = [...front, ...devnet.workers.map((w) => w.pid)];
  const pin = (pids: readonly number[], cpus: string) => {
    for (const pid of pids) execFileSync("taskset", ["-a", "-cp", cpus, String(pid)], { stdio: "ignore" });
  };
  const undo = () => pin(all, `0-${cores - 1}`);
  if (cores < 2) return null;
  try {
    pin(front, "0");
    pin(
      devnet.workers.map((w) => w.pid),
      `1-${cores - 1}`,
    );
    return { undo, workerCores: cores - 1 };
  } catch {
    try {
      undo();
    } catch {}
    return null;
  }
}

async function throughputOf(
  clients: number,
  seconds: number,
  send: (i: number) => Promise<Response>,
): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; performance.now() < end; i++) {
        const response = await send(c * 100_000 + i);
        await response.text();
        if (response.ok) done++;
      }
    }),
  );
  return done / seconds;
}

export interface PostingCost {
  readonly receiptsPerBatch: number;
  readonly batches: number;
  /** Sealed together and posted back to back, or one at a time, each seen posted before the next seals. */
  readonly together: boolean;
  /** CPU (user + system) of the poster's passes per batch, ms: send, sign, follow the rollup, mark posted. */
  readonly cpuMsPerBatch: number;
}

/**
 * What posting costs the gateway, in process against anvil (mining each transaction as it comes): the
 * poster's passes from a batch sealed to its `BatchPosted` event applied, CPU only (sealing is not counted).
 * Batches of 20 receipts posted back to back are the tiny model's load; batches of one, each posted before
 * the next seals, are a devnet at one request a second (the stories15M-shaped comparison).
 */
async function postingCost(): Promise<PostingCost[]> {
  const costs: PostingCost[] = [];
  for (const [receiptsPerBatch, batches, together] of [
    [20, 30, true],
    [1, 30, false],
  ] as const) {
    const dev = await startDevChain();
    try {
      const rig = posterRig(dev, receiptsPerBatch);
      let cpuUs = 0;
      const untilPosted = async (n: number) => {
        const before = process.cpuUsage();
        while (rig.posted.length < n) {
          await rig.poster.step();
          await new Promise((wake) => setTimeout(wake, 5));
        }
        const spent = process.cpuUsage(before);
        return spent.user + spent.system;
      };
      // Warm: JIT, connections, the rollup's event cursor.
      for (let i = 0; i < 3; i++) rig.seal();
      await untilPosted(3);
      if (together) {
        for (let i = 0; i < batches; i++) rig.seal();
        cpuUs = await untilPosted(3 + batches);
      } else
        for (let i = 0; i < batches; i++) {
          rig.seal();
          cpuUs += await untilPosted(4 + i);
        }
      costs.push({ receiptsPerBatch, batches, together, cpuMsPerBatch: cpuUs / 1000 / batches });
    } finally {
      await dev.chain.stop();
    }
  }
  return costs;
}

/** Receipts/s through the gateway's ingest path in one process (no HTTP, no generation). */
function ingest(count: number): { perSecond: number; cpuMs: IngestCpu } {
  const dir = mkdtempSync(join(tmpdir(), "verinfer-ingest-"));
  const settlement = "0x5fbdb2315678afecb367f032d93f642f64180aa3" as Hex;
  const registry = devRegistry(31337n, settlement, 10n ** 19n, 0n);
  const backend = loadNativeSecp256k1() ?? pureSecp256k1;
  const signed = Array.from({ length: count }, (_, i) =>
    signReceipt(devReceipt(i, 31337n, settlement), ENCLAVE_KEY),
  );
  const check = (s: (typeof signed)[number]) => {
    const v = checkReceipt(s, registry, backend);
    if (!v.ok) throw new Error(v.error.message);
    return v;
  };
  const sequencer = () => new Sequencer(DEVNET_OTR_PARAMS.rollup, 1 << 16, backend.keccak256);
  const store = (name: string) => ReceiptStore.open(join(dir, `${name}.sqlite`));
  const append = (st: ReceiptStore, s: (typeof signed)[number], digest: Hex) =>
    st.admit({ signed: s, digest, client: "bench", admittedAtMs: 0, answer: { ok: true } });
  // As the gateway does it: each receipt checked, sequenced and appended in turn.
  const interleaved = store("interleaved");
  const seq = sequencer();
  const t = performance.now();
  for (const s of signed) {
    const v = check(s);
    const a = seq.admit(s, v, 0);
    if (!a.ok) throw new Error(a.error.message);
    append(interleaved, s, v.value.digest);
  }
  const perSecond = count / ((performance.now() - t) / 1000);
  interleaved.close();
  // Then each step over all receipts on its own, for its CPU per receipt (user + system: the append's
  // fsync is mostly the kernel's).
  const cpuMsPer = (step: (i: number) => unknown) => {
    const before = process.cpuUsage();
    for (let i = 0; i < count; i++) step(i);
    const d = process.cpuUsage(before);
    return (d.user + d.system) / 1000 / count;
  };
  const verified = signed.map(check);
  const receipt = (i: number) => signed[i] as (typeof signed)[number];
  const result = (i: number) => verified[i] as (typeof verified)[number];
  const apart = sequencer();
  const alone = store("alone");
  const cpuMs: IngestCpu = {
    check: cpuMsPer((i) => check(receipt(i))),
    sequence: cpuMsPer((i) => apart.admit(receipt(i), result(i), 0)),
    append: cpuMsPer((i) => append(alone, receipt(i), result(i).value.digest)),
  };
  alone.close();
  rmSync(dir, { recursive: true, force: true });
  return { perSecond, cpuMs };
}

/**
 * End-to-end latency on the whole network at the devnet's ρ = 1%: requests answered while the
 * fisherman re-executes every receipt and opens the spot-check obligations that fall due, the workers
 * prove them, and the evaluators score; each answer followed to its batch on chain and to finality.
 */
async function benchFullNetwork(log: (line: string) => void): Promise<FullNetworkBench> {
  const requests = 200;
  const followed = 30;
  const rhoPpm = DEVNET_OTR_PARAMS.spotcheck.rhoPpm;
  log(`devnet: the whole network (fisherman, spot-checks at ρ = ${rhoPpm / 10_000}%, 3 evaluators, settler)`);
  const devnet = await startDevnet({
    dir: mkdtempSync(join(tmpdir(), "verinfer-bench-full-")),
    workers: 2,
    adversary: "none",
    gatewayPort: 0,
    rpcPort: 0,
  });
  try {
    const ask = (i: number) =>
      fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: `bench ${i}` }], max_tokens: 8, seed: i }),
      });
    const ids: Hex[] = [];
    const answeredAt: number[] = [];
    const requestMs = await timedRequests(requests, ask, (text) => {
      ids.push((JSON.parse(text as string) as { verinfer: { requestId: Hex } }).verinfer.requestId);
      answeredAt.push(performance.now());
    });
    log(`devnet: following ${followed} answers to their batch on chain and to finality`);
    const posted: number[] = [];
    const final: number[] = [];
    const start = ids.length - followed;
    await Promise.all(
      ids.slice(start).map(async (id, j) => {
        const at = answeredAt[start + j] as number;
        let seenPosted = false;
        for (;;) {
          const { status } = (await (await fetch(`${devnet.gatewayUrl}/v1/receipts/${id}`)).json()) as {
            status: string;
          };
          if (!seenPosted && status !== "provisional" && status !== "sealed") {
            seenPosted = true;
            posted.push(performance.now() - at);
          }
          if (status === "final") {
            final.push(performance.now() - at);
            return;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }),
    );
    // Give the last obligations their proofs (a Groth16 proof takes seconds here).
    await new Promise((r) => setTimeout(r, 15_000));
    const chain = publicClientFor(devnet.rpcUrl, devnet.deployment.chainId);
    const count = async (eventName: string) =>
      (
        (await chain.getContractEvents({
          address: devnet.deployment.spotChecks as Hex,
          abi: spotChecksAbi,
          eventName,
          fromBlock: 0n,
        } as never)) as unknown[]
      ).length;
    return {
      rhoPpm,
      requests,
      requestMs: pct(requestMs),
      postedMs: pct(posted),
      finalMs: pct(final),
      obligationsOpened: await count("ObligationOpened"),
      obligationsProven: await count("ObligationProven"),
    };
  } finally {
    await devnet.stop();
  }
}

/** The three ways to send one chat request on a devnet: the verifying gateway, the baseline, the workers. */
function waysOf(
  devnet: Devnet,
  baseline: DevnetProcess,
  maxTokens: number,
): Record<ThroughputWay, (i: number) => Promise<Response>> {
  const body = (i: number) => ({
    messages: [{ role: "user", content: `bench ${i % 50}` }],
    max_tokens: maxTokens,
    seed: i,
  });
  const chat = (gateway: string) => (i: number) =>
    fetch(`${gateway}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body(i)),
    });
  let direct = 0;
  const straight = (i: number) => {
    const worker = devnet.workers[direct++ % devnet.workers.length]?.url as string;
    const text = JSON.stringify({
      requestId: `0x${(1_000_000 + direct).toString(16).padStart(64, "0")}`,
      messages: body(i).messages,
      params: { temperature: 0, topP: 1, maxTokens, stop: [] },
      seed: i,
    });
    return fetch(`${worker}/v1/infer`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...signRoleMessage(devnet.keys[0] as Hex, "POST", "/v1/infer", text, Date.now()),
      },
      body: text,
    });
  };
  return { viaGateway: chat(devnet.gatewayUrl), unverified: chat(baseline.url), direct: straight };
}

/**
 * Requests/s of the three ways with `clients` concurrent clients, in alternating rounds (the machine's
 * own drift moves one round by a few percent), and each process's CPU per request served.
 */
async function compareWays(
  devnet: Devnet,
  baseline: DevnetProcess,
  ways: Record<ThroughputWay, (i: number) => Promise<Response>>,
  o: { readonly clients: number; readonly rounds: number; readonly roundSeconds: number },
): Promise<Throughput> {
  const { clients, rounds, roundSeconds } = o;
  const rate: Record<ThroughputWay, number> = { viaGateway: 0, unverified: 0, direct: 0 };
  const wallSeconds: Record<ThroughputWay, number> = { viaGateway: 0, unverified: 0, direct: 0 };
  const pids = {
    gateway: [devnet.gateway.pid],
    baseline: [baseline.pid],
    workers: devnet.workers.map((w) => w.pid),
    anvil: [devnet.chain.pid],
  };
  const cpuNow = () => {
    const sum = (ps: number[]) => {
      let total = 0;
      for (const p of ps) {
        const c = cpuMs(p);
        if (c === null) return null;
        total += c;
      }
      return total;
    };
    return {
      gateway: sum(pids.gateway),
      baseline: sum(pids.baseline),
      workers: sum(pids.workers),
      anvil: sum(pids.anvil),
    };
  };
  const zero = () => ({ gateway: 0, baseline: 0, workers: 0, anvil: 0 });
  const spent: Record<ThroughputWay, Record<keyof ProcessCpu, number>> = {
    viaGateway: zero(),
    unverified: zero(),
    direct: zero(),
  };
  let cpuKnown = true;
  const record: Record<ThroughputWay, WayRound>[] = [];
  const order = ["viaGateway", "unverified", "direct"] as const;
  for (let round = 0; round < rounds; round++) {
    const ran = {} as Record<ThroughputWay, WayRound>;
    // Every other round in reverse: a drift of the machine within rounds weighs on no way more than another.
    for (const way of round % 2 === 0 ? order : [...order].reverse()) {
      const before = cpuNow();
      const started = performance.now();
      const r = await throughputOf(clients, roundSeconds, ways[way]);
      const wall = (performance.now() - started) / 1000;
      wallSeconds[way] += wall;
      const after = cpuNow();
      rate[way] += r / rounds;
      const used = zero();
      for (const k of ["gateway", "baseline", "workers", "anvil"] as const) {
        const a = after[k];
        const b = before[k];
        if (a === null || b === null) cpuKnown = false;
        else {
          used[k] = a - b;
          spent[way][k] += (a - b) / Math.max(1, r * roundSeconds) / rounds;
        }
      }
      ran[way] = { requests: r * roundSeconds, wallSeconds: wall, cpuMs: cpuKnown ? used : null };
    }
    record.push(ran);
  }
  return {
    clients,
    seconds: rounds * roundSeconds,
    roundSeconds,
    ...rate,
    ratio: rate.viaGateway / rate.unverified,
    ratioToDirect: rate.viaGateway / rate.direct,
    cpuMsPerRequest: cpuKnown ? spent : null,
    cpuRatio: cpuKnown ? cpuRatioOf(spent) : null,
    wallSeconds,
    rounds: record,
  };
}

/**
 * The three ways with the gateways, anvil and the clients pinned to core 0 and the workers to the others
 * (8 clients, 5 s rounds); null (nothing measured) where the machine cannot be split so.
 */
async function compareApart(
  devnet: Devnet,
  baseline: DevnetProcess,
  ways: Record<ThroughputWay, (i: number) => Promise<Response>>,
  rounds: number,
): Promise<ApartThroughput | null> {
  const pinned = pinApart(devnet, baseline);
  if (!pinned) return null;
  try {
    const t = await compareWays(devnet, baseline, ways, { clients: 8, rounds, roundSeconds: 5 });
    const cpu = t.cpuMsPerRequest;
    // The workers' CPU over the rounds' wall time, on the cores they had.
    const busy = (way: "viaGateway" | "unverified", c: Record<ThroughputWay, ProcessCpu>) =>
      (c[way].workers * t[way] * t.seconds) / 1000 / t.wallSeconds[way] / pinned.workerCores;
    return {
      ...t,
      workersCpuRatio: cpu ? cpu.unverified.workers / cpu.viaGateway.workers : null,
      workersBusy: cpu ? { viaGateway: busy("viaGateway", cpu), unverified: busy("unverified", cpu) } : null,
    };
  } finally {
    pinned.undo();
  }
}

/** A devnet without fisherman or evaluators, and the unverifying baseline gateway over its workers. */
async function measuredDevnet(
  name: string,
  model?: string,
): Promise<{ devnet: Devnet; baseline: DevnetProcess; stop: () => Promise<void> }> {
  const devnet = await startDevnet({
    dir: mkdtempSync(join(tmpdir(), `verinfer-bench-${name}-`)),
    workers: 2,
    adversary: "none",
    gatewayPort: 0,
    rpcPort: 0,
    evaluators: 0,
    // The fisherman re-executes every receipt on the same two cores, and only the gateway's requests
    // make receipts: it would load one side of the comparison. Its cost is the fisherman's, not the gateway's.
    fisherman: false,
    ...(model ? { model } : {}),
  });
  try {
    // The baseline: the same gateway code in its own process, verification off, in front of the same workers.
    const baseline = await startUnverifiedGateway(devnet);
    return {
      devnet,
      baseline,
      stop: async () => {
        await stopProcess(baseline.child);
        await devnet.stop();
      },
    };
  } catch (e) {
    await devnet.stop();
    throw e;
  }
}

/** The three ways again with a stories15M-shaped model (generated weights) and 32-token answers. */
async function benchRealShape(log: (line: string) => void): Promise<DevnetBench["realShape"]> {
  const maxTokens = 32;
  const dir = mkdtempSync(join(tmpdir(), "verinfer-bench-15m-"));
  const model = join(dir, "m15.bin");
  writeGeneratedModel(model, PRESETS["15m"] as NonNullable<(typeof PRESETS)["15m"]>, 1);
  log("devnet: a devnet of the stories15M shape (generated weights), 2 workers");
  const { devnet, baseline, stop } = await measuredDevnet("15m", model);
  try {
    const ways = waysOf(devnet, baseline, maxTokens);
    for (const way of Object.values(ways)) await timedRequests(2, way);
    const rounds = 3;
    const roundSeconds = 10;
    log(`devnet: 15m shape, ${maxTokens} tokens, ${rounds} alternating rounds of ${roundSeconds} s each way`);
    const throughput = await compareWays(devnet, baseline, ways, { clients: 4, rounds, roundSeconds });
    return { model: "generated, stories15M's shape (seed 1)", maxTokens, throughput };
  } finally {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A ratio and its percentile-bootstrap interval over rounds (each resampled whole: all its ways together). */
export interface RatioInterval {
  readonly value: number;
  readonly low: number;
  readonly high: number;
}

/** The deployment's shape measured long enough to put an interval on the ratio. */
export interface ApartIntervalBench {
  readonly throughput: ApartThroughput;
  readonly seed: number;
  readonly resamples: number;
  readonly level: number;
  /** Full verification vs none by the workers' CPU per request: none's over full's (what bounds throughput). */
  readonly workersCpu: RatioInterval;
  /** Full verification vs none by requests per wall second. */
  readonly requests: RatioInterval;
  /**
   * A control: the workers' CPU per request answering the clients straight over answering the plain
   * proxy. Neither way verifies and the workers do the same work in both, so this is what the machine's
   * noise alone gives; an interval for verification no narrower than this one cannot tell it from noise.
   */
  readonly control: RatioInterval;
}

/**
 * The deployment's shape alone, `rounds` rounds of the three ways, and seeded bootstrap intervals on
 * the ratios: whether verification costs the workers' throughput 0.5% or more is a question about a
 * difference smaller than one round's noise, which only many rounds answer. Null where the machine
 * cannot be split.
 */
export async function benchDevnetApart(
  log: (line: string) => void,
  rounds: number,
  seed = 1,
): Promise<ApartIntervalBench | null> {
  const maxTokens = 8;
  log("devnet-apart: starting anvil, 2 workers, the gateway and a second gateway with verification off");
  const { devnet, baseline, stop } = await measuredDevnet("apart");
  try {
    const ways = waysOf(devnet, baseline, maxTokens);
    for (const way of Object.values(ways)) await timedRequests(10, way);
    log(`devnet-apart: ${rounds} rounds of 5 s each of the three ways, workers on cores of their own`);
    const t = await compareApart(devnet, baseline, ways, rounds);
    if (!t) return null;
    const resamples = 4000;
    const level = 0.95;
    const perRound = t.rounds;
    /** Σ top / Σ bottom over the rounds, each counted as often as its weight says. */
    const sumRatio = (w: Uint32Array, top: (r: (typeof perRound)[number]) => number, bottom: typeof top) => {
      let a = 0;
      let b = 0;
      perRound.forEach((r, k) => {
        a += (w[k] as number) * top(r);
        b += (w[k] as number) * bottom(r);
      });
      return a / b;
    };
    const workersCpuPerRequest = (w: Uint32Array, way: ThroughputWay) =>
      sumRatio(
        w,
        (r) => r[way].cpuMs?.workers ?? Number.NaN,
        (r) => r[way].requests,
      );
    const requestRate = (w: Uint32Array, way: ThroughputWay) =>
      sumRatio(
        w,
        (r) => r[way].requests,
        (r) => r[way].wallSeconds,
      );
    const statistics = {
      workersCpu: (w: Uint32Array) =>
        workersCpuPerRequest(w, "unverified") / workersCpuPerRequest(w, "viaGateway"),
      requests: (w: Uint32Array) => requestRate(w, "viaGateway") / requestRate(w, "unverified"),
      control: (w: Uint32Array) => workersCpuPerRequest(w, "unverified") / workersCpuPerRequest(w, "direct"),
    };
    const rng = createRng(seed);
    const all = new Uint32Array(perRound.length).fill(1);
    const samples = { workersCpu: [] as number[], requests: [] as number[], control: [] as number[] };
    const weights = new Uint32Array(perRound.length);
    for (let i = 0; i < resamples; i++) {
      drawBootstrapWeights(rng, weights);
      for (const k of ["workersCpu", "requests", "control"] as const) samples[k].push(statistics[k](weights));
    }
    const interval = (k: keyof typeof statistics): RatioInterval => {
      const sorted = Float64Array.from(samples[k]).sort();
      return {
        value: statistics[k](all),
        low: quantileSorted(sorted, (1 - level) / 2) as number,
        high: quantileSorted(sorted, 1 - (1 - level) / 2) as number,
      };
    };
    return {
      throughput: t,
      seed,
      resamples,
      level,
      workersCpu: interval("workersCpu"),
      requests: interval("requests"),
      control: interval("control"),
    };
  } finally {
    await stop();
  }
}

export async function benchDevnet(log: (line: string) => void): Promise<DevnetBench> {
  const requests = 150;
  const maxTokens = 8;
  log("devnet: starting anvil, 2 workers and the gateway, and a second gateway with verification off");
  const { devnet, baseline, stop } = await measuredDevnet("devnet");
  let measured: Omit<DevnetBench, "fullNetwork" | "realShape" | "posting">;
  try {
    const { viaGateway, unverified, direct: straight } = waysOf(devnet, baseline, maxTokens);
    // Warm every path (engine threads, JIT, SQLite, connections).
    await timedRequests(10, viaGateway);
    await timedRequests(10, unverified);
    await timedRequests(10, straight);
    log(
      `devnet: ${requests} sequential requests through the gateway and ${requests} straight to the workers`,
    );
    const overhead: number[] = [];
    const via: number[] = [];
    const dir: number[] = [];
    // Interleaved in rounds so that both paths see the same machine state.
    for (let round = 0; round < 5; round++) {
      via.push(
        ...(await timedRequests(requests / 5, viaGateway, (text) =>
          overhead.push(
            (JSON.parse(text as string) as { verinfer: { gatewayOverheadMs: number } }).verinfer
              .gatewayOverheadMs,
          ),
        )),
      );
      dir.push(...(await timedRequests(requests / 5, straight)));
    }
    const network = (await (await fetch(`${devnet.gatewayUrl}/v1/network`)).json()) as {
      overheadMs: { recent: number[] };
    };
    const durable = network.overheadMs.recent.slice(-requests);
    const rounds = 6;
    log(`devnet: throughput, 8 clients, ${rounds} alternating rounds of 5 s each of the three ways`);
    const throughput = await compareWays(
      devnet,
      baseline,
      { viaGateway, unverified, direct: straight },
      { clients: 8, rounds, roundSeconds: 5 },
    );
    log("devnet: the same, the gateways, anvil and the clients on core 0, the workers on the others");
    const apart = await compareApart(devnet, baseline, { viaGateway, unverified, direct: straight }, rounds);
    if (!apart)
      log("devnet: one core or no taskset: the comparison with the workers on cores of their own is skipped");
    log("devnet: sequencer ingest in process (5,000 receipts)");
    const { perSecond: ingestPerSecond, cpuMs: ingestCpuMs } = ingest(5000);
    // Let the last batch be posted, then read the gas of every posting.
    await new Promise((r) => setTimeout(r, 3000));
    const chain = publicClientFor(devnet.rpcUrl, devnet.deployment.chainId);
    const logs = (await chain.getContractEvents({
      address: devnet.deployment.rollup,
      abi: rollupAbi,
      eventName: "BatchPosted",
      fromBlock: 0n,
    } as never)) as unknown as {
      transactionHash: Hex;
      args: { count: number };
    }[];
    let gas = 0;
    let receipts = 0;
    for (const l of logs) {
      gas += Number((await chain.getTransactionReceipt({ hash: l.transactionHash })).gasUsed);
      receipts += Number(l.args.count);
    }
    measured = {
      requests,
      maxTokens,
      gatewayOverheadMs: pct(overhead),
      durableOverheadMs: pct(durable),
      viaGatewayMs: pct(via),
      directMs: pct(dir),
      throughput,
      apart,
      ingestPerSecond,
      ingestCpuMs,
      gasPerQuery: { batches: logs.length, receipts, gas, perQuery: gas / Math.max(receipts, 1) },
    };
  } finally {
    await stop();
  }
  // Each on a machine of its own: the devnet before it is stopped.
  log("devnet: batch posting in process (anvil, 30 batches of 20 receipts, then 30 of one)");
  const posting = await postingCost();
  const realShape = await benchRealShape(log);
  return { ...measured, posting, realShape, fullNetwork: await benchFullNetwork(log) };
}
