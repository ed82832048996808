/**
 * The devnet under steady load for minutes (`npm run bench -- soak`; `VERINFER_SOAK_SECONDS`, default
 * 300): three workers, three evaluators, the fisherman and the settler as `devnet up` runs them, six
 * clients sending back to back. What it measures is what a short run cannot show: each role's memory
 * over time, whether every epoch that ends under load is still committed and revealed by every evaluator
 * and paid by quality, and whether every receipt the spot-check draw selects gets its obligation opened
 * before its batch's window closes (the selection recomputed here from the chain, with the protocol's
 * own rule), while the fisherman re-executes what its share of the cores allows. It ends with the
 * warnings and errors the roles logged. With `VERINFER_SOAK_CHAOS_SECONDS=N` it also kills one role
 * (`kill -9`: the gateway, a worker, an evaluator, the fisherman or the settler; or restarts anvil from
 * its state, an RPC outage for all; or reorganises the chain, taking off it the blocks of the last
 * {@link REORG_SECONDS} seconds and every transaction in them), drawn by a seeded PRNG, every N seconds
 * and starts it again from its store and the chain, and checks at the end that every answered request's
 * receipt is in exactly one posted batch. `VERINFER_SOAK_CHAOS_ROLES` (comma-separated, e.g. `reorg`)
 * restricts what it draws from. `VERINFER_SOAK_RHO_PPM` sets the spot-check rate (default the devnet's,
 * 1%) and `VERINFER_SOAK_ENGINE_NICE` the workers' `engineNice` (default theirs, 10): how long the
 * workers' proofs take on the loaded cores, and how many obligations they miss, is reported.
 */
import { createReadStream, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Hex } from "viem";
import { publicClientFor } from "../src/chain/deploy.ts";
import { rollupAbi, scoreCommitsAbi, spotChecksAbi } from "../src/chain/generated/contracts.ts";
import { batchInfo, epochAt, readPostedBatch, revealEnd, scoreClock } from "../src/chain/postedBatches.ts";
import { type Devnet, type DevnetProcess, startDevnet, stopProcess } from "../src/node/devnet/devnet.ts";
import { quantileSorted } from "../src/protocol/poq/metrics/bootstrap.ts";
import { createRng } from "../src/protocol/rng/prng.ts";
import { isSelected } from "../src/protocol/spotcheck/spotcheck.ts";
import { killAndRestart } from "../src/testing/killAndRestart.ts";
import { withReorganisation } from "../src/testing/reorganisation.ts";

export interface SoakBench {
  readonly seconds: number;
  readonly clients: number;
  readonly answered: number;
  readonly failed: Record<string, number>;
  /** Resident memory per process, MB: after the first minute, halfway through the rest, and at the end. */
  readonly rssMb: { role: string; warm: number; mid: number; end: number }[];
  /** Epochs whose reveal phase ended while the load ran: evaluators that revealed, workers paid by quality. */
  readonly epochs: { epoch: number; revealed: number; evaluators: number; workersWithQuality: number }[];
  readonly spotChecks: {
    batches: number;
    selected: number;
    opened: number;
    proven: number;
    /** Obligations slashed (missed). */
    slashed: number;
    rhoPpm: number;
    /** The workers' engine niceness (null: their default). */
    engineNice: number | null;
    /** Each proof the workers made (not re-sent), ms from regenerating the trace to the proof: quantiles. */
    proveMs: { n: number; p50: number; p90: number; max: number };
  };
  /** The fisherman's verdicts: re-executed (agrees, differs), late (window closed first), others. */
  readonly verdicts: Record<string, number>;
  /** The fisherman's rate at the end (configured and sustained), and its seconds per re-execution. */
  readonly sampling: { configured: number; rate: number; secondsPerReexecution: number | null };
  /**
   * How long after its batch was posted each re-execution ended (chain seconds), as the fisherman's
   * histogram buckets: the bucket bounds below which half, 99% and all of them fell, of a challenge
   * window of `window` seconds.
   */
  readonly reexecutionAge: { p50: number; p99: number; max: number; window: number };
  /**
   * The warnings and errors the roles logged, by log file, level and message: how often, and the first
   * one's details (its `err` or `reason`), so that a run's anomalies are read off the report, not found
   * by searching the logs.
   */
  readonly logged: LoggedProblem[];
  /** The crashes, where `VERINFER_SOAK_CHAOS_SECONDS` asked for them; null otherwise. */
  readonly chaos: SoakChaos | null;
}

export interface SoakChaos {
  readonly everySeconds: number;
  readonly seed: number;
  /** Each kill: seconds into the load, the role, and how long its restart took until it was ready again. */
  readonly kills: { at: number; role: string; restartSeconds: number }[];
  /** Requests answered with a receipt (their request ids kept by the clients). */
  readonly answeredWithReceipt: number;
  /** Of those, in no posted batch (lost), and request ids found in more than one place on chain. */
  readonly missing: number;
  readonly duplicated: number;
}

export interface LoggedProblem {
  readonly log: string;
  readonly level: "warn" | "error" | "fatal";
  readonly msg: string;
  readonly count: number;
  readonly first: string;
}

const LEVELS: Record<number, LoggedProblem["level"]> = { 40: "warn", 50: "error", 60: "fatal" };

/**
 * One read of a devnet's role logs (pino JSON lines in `<dir>/logs`), line by line (an hours-long run's
 * gateway log is hundreds of MB): the warnings and errors, and the `proveMs` of every proof the workers
 * made (their "obligation proven" lines, sends again left out), ascending.
 */
async function readLogs(dir: string): Promise<{ problems: LoggedProblem[]; proofTimes: number[] }> {
  const out = new Map<string, { -readonly [K in keyof LoggedProblem]: LoggedProblem[K] }>();
  const proofTimes: number[] = [];
  for (const file of readdirSync(join(dir, "logs")).sort()) {
    const lines = createInterface({ input: createReadStream(join(dir, "logs", file)), crlfDelay: Infinity });
    const worker = file.startsWith("worker-");
    for await (const line of lines) {
      if (worker && line.includes('"msg":"spot-check obligation proven"')) {
        const entry = JSON.parse(line) as { proveMs: number; madeBefore: boolean };
        if (!entry.madeBefore) proofTimes.push(entry.proveMs);
        continue;
      }
      // Only lines at warn or above are parsed: the logs hold a line per receipt at info.
      if (!/"level":(4|5|6)0,/.test(line)) continue;
      const entry = JSON.parse(line) as { level: number; msg?: string; err?: unknown; reason?: unknown };
      const level = LEVELS[entry.level] as LoggedProblem["level"];
      const key = `${file}\u0000${level}\u0000${entry.msg}`;
      const seen = out.get(key);
      if (seen) seen.count++;
      else
        out.set(key, {
          log: file.replace(/\.log$/, ""),
          level,
          msg: entry.msg ?? "",
          count: 1,
          first: String(entry.err ?? entry.reason ?? ""),
        });
    }
  }
  return { problems: [...out.values()], proofTimes: proofTimes.sort((a, b) => a - b) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The `q` quantile of ascending `sorted`, rounded to the millisecond; NaN when empty. */
const quantile = (sorted: readonly number[], q: number) =>
  Math.round(quantileSorted(sorted, q) ?? Number.NaN);

/**
 * How deep a chaos reorganisation reaches: the blocks of this many seconds (one a second on the devnet)
 * leave the chain with their transactions, as on an RPC node that lost them; deeper than the devnet's
 * evaluator seed delay, short of its challenge window.
 */
const REORG_SECONDS = 10;

/**
 * Resident set size of process `pid`, MB (Linux /proc); NaN for one that is gone: a sample can fall
 * between the chaos killing a role and its restart (one did, 1,260 s into a 40-minute run, and ended it).
 */
function rssMb(pid: number): number {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return Number.NaN;
  }
  const line = status.split("\n").find((l) => l.startsWith("VmRSS:"));
  return Number(line?.split(/\s+/)[1] ?? Number.NaN) / 1024;
}

/** The devnet's roles by name, each its process now (a chaos run replaces those it restarts). */
function rosterOf(devnet: Devnet): Map<string, DevnetProcess> {
  return new Map<string, DevnetProcess>([
    ["gateway", devnet.gateway],
    ...devnet.workers.map((w, i) => [`worker ${i + 1}`, w] as const),
    ...devnet.evaluators.map((e, i) => [`evaluator ${i + 1}`, e] as const),
    ...(devnet.fisherman ? [["fisherman", devnet.fisherman] as const] : []),
    ...(devnet.settler ? [["settler", devnet.settler] as const] : []),
  ]);
}

function processes(devnet: Devnet, roster: Map<string, DevnetProcess>) {
  return [
    { role: "anvil", pid: devnet.chain.pid },
    ...[...roster].map(([role, p]) => ({ role, pid: p.pid })),
  ];
}

/**
 * A Prometheus histogram's quantiles, as the bound of the first bucket that holds them (an upper bound):
 * from `name`'s cumulative `_bucket` lines in the exposition `text`.
 */
function histogramBounds(text: string, name: string): (q: number) => number {
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, "gm"))].map(
    (m) => ({ le: m[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[1]), n: Number(m[2]) }),
  );
  const total = buckets.at(-1)?.n ?? 0;
  return (q) => buckets.find((b) => total > 0 && b.n >= q * total)?.le ?? Number.NaN;
}

export async function benchSoak(log: (line: string) => void): Promise<SoakBench> {
  const seconds = Number(process.env.VERINFER_SOAK_SECONDS ?? 300);
  const chaosEvery = Number(process.env.VERINFER_SOAK_CHAOS_SECONDS ?? 0);
  if (!(chaosEvery >= 0)) throw new Error("VERINFER_SOAK_CHAOS_SECONDS must be a number of seconds ≥ 0");
  const chaosSeed = 1;
  const chaosRoles = process.env.VERINFER_SOAK_CHAOS_ROLES?.split(",").map((r) => r.trim());
  const clients = 6;
  const rhoPpm = process.env.VERINFER_SOAK_RHO_PPM ? Number(process.env.VERINFER_SOAK_RHO_PPM) : undefined;
  const engineNice = process.env.VERINFER_SOAK_ENGINE_NICE
    ? Number(process.env.VERINFER_SOAK_ENGINE_NICE)
    : undefined;
  const devnet = await startDevnet({
    dir: mkdtempSync(join(tmpdir(), "verinfer-soak-")),
    workers: 3,
    adversary: "none",
    gatewayPort: 0,
    rpcPort: 0,
    evaluators: 3,
    ...(rhoPpm === undefined ? {} : { rhoPpm }),
    ...(engineNice === undefined ? {} : { engineNice }),
    // A chaos run also restarts the chain (an RPC outage: every role loses it for the restart).
    restartableChain: chaosEvery > 0,
  });
  const roster = rosterOf(devnet);
  try {
    const c = { public: publicClientFor(devnet.rpcUrl, devnet.deployment.chainId) };
    const clock = await scoreClock(c, devnet.deployment.scoreCommits as Hex);
    const startedAt = Number((await c.public.getBlock()).timestamp);
    let chaosFailure: { e: unknown } | null = null;
    let answered = 0;
    /** The request ids of the answers that carried a receipt: each must reach exactly one batch. */
    const acknowledged = new Set<string>();
    const failed: Record<string, number> = {};
    const fail = (why: string) => {
      failed[why] = (failed[why] ?? 0) + 1;
    };
    const end = performance.now() + seconds * 1000;
    log(`soak: ${clients} clients for ${seconds} s`);
    const load = Promise.all(
      Array.from({ length: clients }, async (_, client) => {
        for (let i = 0; performance.now() < end && !chaosFailure; i++) {
          try {
            const r = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({
                messages: [{ role: "user", content: `soak ${client} ${i}` }],
                max_tokens: 8,
                seed: i,
              }),
            });
            const body = (await r.json()) as { error?: { code: string }; verinfer?: { requestId?: string } };
            if (r.ok) {
              answered++;
              if (body.verinfer?.requestId) acknowledged.add(body.verinfer.requestId.toLowerCase());
            } else {
              fail(body.error?.code ?? String(r.status));
              // Refused (rate-limited, no staked worker): a client waits as it is told, or a moment. A
              // 40-minute run whose clients asked again at once was refused 336,535 times, loading the
              // cores the roles it measured shared.
              await sleep(Math.min(5_000, 1_000 * Number(r.headers.get("retry-after") ?? 0.2)));
            }
          } catch (e) {
            fail((e as Error).name);
            // The gateway is down (a chaos run's crash): no busy loop of refused connections meanwhile.
            await sleep(200);
          }
        }
      }),
    );
    const loadStart = performance.now();
    const kills: SoakChaos["kills"] = [];
    // No crash in the first minute (memory's baseline) nor in the last two (every role settles before
    // the checks); one every `chaosEvery` seconds between.
    const chaos = (async () => {
      if (chaosEvery <= 0) return;
      const rng = createRng(chaosSeed);
      const names = [...roster.keys(), "anvil", "reorg"].filter((n) => !chaosRoles || chaosRoles.includes(n));
      if (names.length === 0) throw new Error(`VERINFER_SOAK_CHAOS_ROLES names none of the devnet's roles`);
      for (let k = 1; ; k++) {
        const at = 60 + k * chaosEvery;
        if (loadStart + (at + 120) * 1000 > end) return;
        await sleep(Math.max(0, loadStart + at * 1000 - performance.now()));
        const role = rng.pick(names);
        const started = performance.now();
        // The chain stops gracefully and resumes from its state (a chain does not lose its blocks; its
        // pending transactions it does lose), mining a block a second as before; every other role is killed.
        if (role === "anvil") await devnet.chain.restart({ blockTime: 1 });
        else if (role === "reorg") {
          const rpc = (method: string, params: unknown[] = []) =>
            c.public.request({ method, params } as never) as Promise<unknown>;
          await withReorganisation(rpc, () => sleep(REORG_SECONDS * 1000));
        } else
          roster.set(
            role,
            await killAndRestart(
              roster.get(role) as DevnetProcess,
              devnet.dir,
              `${role.replace(" ", "-")}-restart-${k}`,
            ),
          );
        kills.push({ at, role, restartSeconds: (performance.now() - started) / 1000 });
        log(
          `soak: ${role === "anvil" ? "restarted anvil from its state" : role === "reorg" ? `took the last ${REORG_SECONDS} s of blocks off the chain` : `killed the ${role} (-9)`} at ${at} s; done after ${kills.at(-1)?.restartSeconds.toFixed(1)} s`,
        );
      }
    })().catch((e: unknown) => {
      // A role that does not come back ends the run (the load stops), reported below.
      chaosFailure = { e };
    });
    await sleep(Math.min(60, seconds / 2) * 1000);
    const sample = () => new Map(processes(devnet, roster).map((p) => [p.role, rssMb(p.pid)]));
    const warm = sample();
    const warmAt = performance.now();
    let mid: Map<string, number> | null = null;
    while (performance.now() < end && !chaosFailure) {
      await sleep(Math.min(60_000, Math.max(0, end - performance.now())));
      if (!mid && performance.now() >= (warmAt + end) / 2) mid = sample();
      log(
        `soak: ${Math.round(seconds - (end - performance.now()) / 1000)} of ${seconds} s, ${answered} answered`,
      );
    }
    await load;
    await chaos;
    if (chaosFailure) throw (chaosFailure as { e: unknown }).e;
    const stoppedAt = Number((await c.public.getBlock()).timestamp);
    const last = sample();
    const rss = processes(devnet, roster).map(({ role }) => ({
      role,
      warm: warm.get(role) ?? Number.NaN,
      mid: mid?.get(role) ?? Number.NaN,
      end: last.get(role) ?? Number.NaN,
    }));

    // Every epoch that started with the load and whose reveal phase ended before it stopped.
    const epochs: SoakBench["epochs"] = [];
    const settler = devnet.settler?.url;
    for (let e = epochAt(clock, startedAt) + 1; revealEnd(clock, e) <= stoppedAt; e++) {
      let revealed = 0;
      for (const ev of devnet.evaluators) {
        const stored = (await c.public.readContract({
          address: devnet.deployment.scoreCommits as Hex,
          abi: scoreCommitsAbi,
          functionName: "commitments",
          args: [BigInt(e), ev.address as Hex],
        })) as Hex;
        if (BigInt(stored) === 1n) revealed++;
      }
      let workersWithQuality = 0;
      for (let i = 0; settler && i < 240; i++) {
        const r = await fetch(`${settler}/v1/epochs/${e}`);
        const body = r.ok
          ? ((await r.json()) as {
              status: string;
              rounds?: unknown[] | null;
              attribution?: Record<string, { quality: number }>;
            })
          : null;
        if (body && ["posted", "claimed", "empty"].includes(body.status)) {
          // An epoch without a round pays its workers by work alone (UNSCORED_EPOCH_QUALITY), not by quality.
          if (body.rounds?.length)
            workersWithQuality = Object.values(body.attribution ?? {}).filter((a) => a.quality > 0).length;
          break;
        }
        await sleep(500);
      }
      epochs.push({ epoch: e, revealed, evaluators: devnet.evaluators.length, workersWithQuality });
    }

    // Spot-checks: wait for the last batch's window to close, then recompute every batch's draw.
    const rollup = devnet.deployment.rollup;
    const window = Number(
      await c.public.readContract({ address: rollup, abi: rollupAbi, functionName: "challengeWindow" }),
    );
    await sleep((window + 5) * 1000);
    const spot = devnet.deployment.spotChecks as Hex;
    const readSpot = (functionName: string, args: readonly unknown[] = []) =>
      c.public.readContract({ address: spot, abi: spotChecksAbi, functionName, args } as never);
    const rho = Number(await readSpot("rhoPpm"));
    const delay = BigInt(Number(await readSpot("seedDelayBlocks")));
    const batches = Number(
      await c.public.readContract({ address: rollup, abi: rollupAbi, functionName: "batchCount" }),
    );
    let selected = 0;
    /** How often each request id is in a posted batch. */
    const onChain = new Map<string, number>();
    for (let b = 0; b < batches; b++) {
      const info = await batchInfo(c, rollup, b);
      // The chain's draw: with its fixed seed where one was fixed. Right after an anvil restart a seed was
      // fixed that is not the RPC's hash of the seed block (batch 817 of a mixed run): the fisherman then
      // asks the chain which receipts it selects, and this count draws with the seed the chain holds.
      const fixed = (await readSpot("seeds", [BigInt(b)])) as Hex;
      const seed =
        BigInt(fixed) !== 0n
          ? fixed
          : ((await c.public.getBlock({ blockNumber: info.postedBlock + delay })).hash as Hex);
      const batch = await readPostedBatch(c, rollup, b);
      for (let p = 0; p < info.count; p++)
        if (!batch?.stale[p] && isSelected(info.root, p, seed, rho)) selected++;
      for (const r of batch?.receipts ?? []) {
        const id = r.receipt.requestId.toLowerCase();
        onChain.set(id, (onChain.get(id) ?? 0) + 1);
      }
    }
    const events = async (eventName: string) =>
      (
        await c.public.getContractEvents({
          address: spot,
          abi: spotChecksAbi,
          eventName,
          fromBlock: 0n,
        } as never)
      ).length;
    const disputes = (await (await fetch(`${devnet.fisherman?.url}/v1/disputes`)).json()) as {
      checked: { verdict: string; n: number }[];
      sampling: SoakBench["sampling"];
    };
    const logs = await readLogs(devnet.dir);
    const proofs = logs.proofTimes;
    const ages = histogramBounds(
      await (await fetch(`${devnet.fisherman?.url}/metrics`)).text(),
      "verinfer_fisherman_reexecution_age_seconds",
    );
    return {
      seconds,
      clients,
      answered,
      failed,
      rssMb: rss,
      epochs,
      spotChecks: {
        batches,
        selected,
        opened: await events("ObligationOpened"),
        proven: await events("ObligationProven"),
        slashed: await events("ObligationSlashed"),
        rhoPpm: rho,
        engineNice: engineNice ?? null,
        proveMs: {
          n: proofs.length,
          p50: quantile(proofs, 0.5),
          p90: quantile(proofs, 0.9),
          max: quantile(proofs, 1),
        },
      },
      verdicts: Object.fromEntries(disputes.checked.map((v) => [v.verdict, v.n])),
      sampling: disputes.sampling,
      reexecutionAge: { p50: ages(0.5), p99: ages(0.99), max: ages(1), window },
      logged: logs.problems,
      chaos:
        chaosEvery > 0
          ? {
              everySeconds: chaosEvery,
              seed: chaosSeed,
              kills,
              answeredWithReceipt: acknowledged.size,
              missing: [...acknowledged].filter((id) => !onChain.has(id)).length,
              duplicated: [...onChain.values()].filter((n) => n > 1).length,
            }
          : null,
    };
  } finally {
    // The restarted roles are not the devnet's own children: they are stopped here.
    const original = new Set(rosterOf(devnet).values());
    await Promise.all([...roster.values()].filter((p) => !original.has(p)).map((p) => stopProcess(p.child)));
    await devnet.stop();
  }
}
