/**
 * PoQ under steady traffic: requests keep coming, so every evaluator pass finds a batch posted too
 * recently to have its sampling seed yet. The evaluators must still commit and reveal each ended epoch
 * — they once waited until no batch at all was left to score, which under steady traffic never
 * happens, and every epoch went unscored and paid its workers nothing — and the settler must pay the
 * workers by the PoQ quality the evaluators revealed. Asserted on chain and at the settler while the
 * traffic still runs. Then one evaluator is away for longer than an epoch's commit phase: back, it skips
 * the batches whose scores it can no longer commit (noted late), and scores those it still can.
 * The network deploys k = 1 of its two evaluators per receipt, and starts with a reorganisation that
 * posts batches again in other blocks: the evaluators score what the chain's new draw gives them, the
 * settler counts that draw. Last, the worker stops answering while its receipt is scored: the evaluator
 * scores past it (deferred), and scores it once the worker is back; and down past half its epoch's
 * commit phase, its receipt is scored 0 (an output not shown), the epoch still committed in time.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicClientFor } from "../../src/chain/deploy.ts";
import { scoreCommitsAbi } from "../../src/chain/generated/contracts.ts";
import { batchCounts, chainTime, commitEnd, epochAt, scoreClock } from "../../src/chain/postedBatches.ts";
import { type Devnet, type DevnetProcess, startDevnet, stopProcess } from "../../src/node/devnet/devnet.ts";
import { epochsOfBatches } from "../../src/node/devnet/epochReport.ts";
import { killAndRestart } from "../../src/testing/killAndRestart.ts";
import { withReorganisation } from "../../src/testing/reorganisation.ts";

let devnet: Devnet;

beforeAll(async () => {
  devnet = await startDevnet({
    dir: mkdtempSync(join(tmpdir(), "verinfer-steady-")),
    workers: 1,
    adversary: "none",
    gatewayPort: 0,
    rpcPort: 0,
    evaluators: 2,
    // One of the two drawn per receipt: the evaluators and the settler must use the deployed draw.
    evaluatorsPerReceipt: 1,
    // No spot-checks: this is about PoQ, and a worker slashed for a proof a loaded machine made too late
    // would leave the network without a worker (503).
    rhoPpm: 0,
  });
}, 180_000);

let restarted: DevnetProcess | null = null;
let restartedWorker: DevnetProcess | null = null;

afterAll(async () => {
  for (const p of [restarted, restartedWorker]) if (p) await stopProcess(p.child);
  await devnet?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const chain = () => publicClientFor(devnet.rpcUrl, devnet.deployment.chainId);
const rpc = (method: string, params: unknown[] = []) =>
  chain().request({ method, params } as never) as Promise<unknown>;
/** The first batch an evaluator (or fisherman) at `url` has not followed yet. */
const nextBatch = async (url: string) =>
  ((await (await fetch(`${url}/health`)).json()) as { nextBatch: number }).nextBatch;

/**
 * k = 1, as deployed: the settler drew one evaluator per receipt of `epoch`, and each evaluator revealed
 * scores only of receipts drawn for it (with another k it would score others too). Of `batches`, every
 * receipt drawn for an evaluator was scored by it.
 */
async function expectDeployedDraw(epoch: number, batches: readonly number[]): Promise<void> {
  const settled = await fetch(`${devnet.settler?.url}/v1/epochs/${epoch}`);
  expect(settled.status, `epoch ${epoch} at the settler`).toBe(200);
  const { inputs } = (await settled.json()) as {
    inputs: {
      receipts: { batch: number; position: number; evaluators: string[] }[];
      reveals: Record<string, [string, number][]>;
    };
  };
  const drawnFor = new Map<string, Set<string>>();
  for (const r of inputs.receipts) {
    expect(r.evaluators).toHaveLength(1);
    const e = (r.evaluators[0] as string).toLowerCase();
    drawnFor.set(e, (drawnFor.get(e) ?? new Set()).add(`${r.batch}:${r.position}`));
  }
  for (const e of devnet.evaluators) {
    const drawn = drawnFor.get(e.address.toLowerCase()) ?? new Set();
    const revealed = Object.entries(inputs.reveals).find(
      ([a]) => a.toLowerCase() === e.address.toLowerCase(),
    );
    const scored = new Set((revealed?.[1] ?? []).map(([key]) => key));
    expect(drawn.size, `receipts drawn for ${e.address}`).toBeGreaterThan(0);
    expect(scored.size, `scores ${e.address} revealed`).toBeGreaterThan(0);
    for (const key of scored)
      expect(drawn.has(key), `${e.address} scored ${key}, not drawn for it`).toBe(true);
    for (const key of drawn)
      if (batches.includes(Number(key.split(":")[0])))
        expect(scored.has(key), `${e.address} did not score ${key}, drawn for it`).toBe(true);
  }
}

/** Asks the gateway for 4 tokens: the batch its receipt was sequenced in. */
async function ask(content: string, seed: number): Promise<number> {
  const r = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content }], max_tokens: 4, seed }),
  });
  expect(r.status).toBe(200);
  return ((await r.json()) as { verinfer: { batch: number } }).verinfer.batch;
}

/** The two evaluators' URLs and log names; the second as the tests before left it (maybe restarted). */
const evaluatorLogs = () => {
  const first = devnet.evaluators[0] as DevnetProcess;
  const second = devnet.evaluators[1] as DevnetProcess;
  return [
    { url: first.url, address: first.address as Hex, log: "evaluator-1" },
    {
      url: (restarted ?? second).url,
      address: second.address as Hex,
      log: restarted ? "evaluator-2-back" : "evaluator-2",
    },
  ];
};

/** A role's JSON log lines. */
const logged = (name: string) =>
  readFileSync(join(devnet.dir, "logs", `${name}.log`), "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { msg: string; batch?: number; note?: string; epoch?: number });

/** Mines a block every 500 ms (no traffic may be running) until the chain enters a new epoch. */
async function nextEpoch(): Promise<void> {
  const c = { public: chain() };
  const k = await scoreClock(c, devnet.deployment.scoreCommits as Hex);
  const start = epochAt(k, await chainTime(c));
  while (epochAt(k, await chainTime(c)) === start) {
    await rpc("anvil_mine", ["0x1"]);
    await sleep(500);
  }
}

/** The batches a reorganisation took off the chain, posted again in other blocks (so drawn anew). */
let redrawn: number[] = [];

describe("PoQ under steady traffic", () => {
  it("evaluators commit and reveal each ended epoch while requests keep coming; the settler pays by quality", async () => {
    // First, a reorganisation: requests are answered, their batches posted and scored, and then the
    // blocks since are taken off the chain. The gateway posts the batches again, in other blocks, whose
    // later hashes draw other evaluators: each evaluator scores the receipts the new draw gives it.
    const c = chain();
    await withReorganisation(rpc, async () => {
      for (let i = 0; i < 8; i++) redrawn.push(await ask(`redrawn ${i}`, i));
      redrawn = [...new Set(redrawn)];
      const last = Math.max(...redrawn);
      for (let i = 0; i < 240; i++) {
        const next = await Promise.all(devnet.evaluators.map((e) => nextBatch(e.url)));
        if (next.every((n) => n > last)) return;
        await sleep(250);
      }
      throw new Error(`the evaluators did not score batches up to ${last} within a minute`);
    });
    let stop = false;
    const answered: { batch: number; atMs: number }[] = [];
    // About five requests a second: a batch sealed every 500 ms, posted in nearly every block.
    const traffic = (async () => {
      for (let i = 0; !stop; i++) {
        answered.push({ batch: await ask(`steady ${i}`, i), atMs: Date.now() });
        await sleep(150);
      }
    })();
    try {
      while (answered.length === 0) await sleep(100);
      const firstBatch = (answered[0] as { batch: number }).batch;
      for (;;) {
        const n = (await (await fetch(`${devnet.gatewayUrl}/v1/network`)).json()) as {
          batches: { posted: number };
        };
        if (n.batches.posted > firstBatch) break;
        await sleep(250);
      }
      const epoch = (await epochsOfBatches(devnet.deployment, [firstBatch]))[0] as number;
      const settler = devnet.settler?.url as string;
      type Settled = { status: string; attribution: Record<string, { quality: number | null }> };
      let settled: Settled | null = null;
      for (let i = 0; i < 960 && !settled; i++) {
        const r = await fetch(`${settler}/v1/epochs/${epoch}`);
        const body = r.ok ? ((await r.json()) as Settled) : null;
        if (body && ["posted", "claimed"].includes(body.status)) settled = body;
        else await sleep(250);
      }
      if (!settled) throw new Error(`epoch ${epoch} was not settled within 4 minutes`);
      // The traffic never paused: answers kept coming up to now.
      expect(Date.now() - (answered.at(-1) as { atMs: number }).atMs).toBeLessThan(5000);
      for (const e of devnet.evaluators) {
        const stored = (await c.readContract({
          address: devnet.deployment.scoreCommits as Hex,
          abi: scoreCommitsAbi,
          functionName: "commitments",
          args: [BigInt(epoch), e.address as Hex],
        })) as Hex;
        expect(BigInt(stored), `evaluator ${e.address} revealed epoch ${epoch}`).toBe(1n);
      }
      const worker = (devnet.workers[0] as { address: string }).address.toLowerCase();
      const attribution = Object.fromEntries(
        Object.entries(settled.attribution).map(([k, v]) => [k.toLowerCase(), v]),
      );
      expect(attribution[worker]?.quality ?? 0).toBeGreaterThan(0);
      await expectDeployedDraw(epoch, []);
      // The epoch of the batches posted again after the reorganisation (settled by now: epochs settle
      // in order, and it is not later than the traffic's first).
      // (That the reorganisation replaced their draws' blocks, each evaluator says.)
      for (const name of ["evaluator-1", "evaluator-2"])
        expect(readFileSync(join(devnet.dir, "logs", `${name}.log`), "utf8")).toMatch(
          /"msg":"a reorganisation replaced the blocks batches' evaluators were drawn from/,
        );
      const [redrawnEpoch] = await epochsOfBatches(devnet.deployment, [Math.min(...redrawn)]);
      await expectDeployedDraw(redrawnEpoch as number, redrawn);

      // kill -9 an evaluator, and keep it away until the commit phase of the epoch it was in has closed.
      const k = await scoreClock({ public: c }, devnet.deployment.scoreCommits as Hex);
      const away = devnet.evaluators[1] as DevnetProcess;
      let missed = 0;
      restarted = await killAndRestart(away, devnet.dir, "evaluator-2-back", async () => {
        missed = epochAt(k, await chainTime({ public: c }));
        while ((await chainTime({ public: c })) < commitEnd(k, missed) + 1) await sleep(500);
      });
      const backAt = await batchCounts({ public: c }, devnet.deployment.rollup);
      // Back, it catches up with the batches posted while it was away within seconds, not scoring them.
      // 0 while it is not answering yet.
      const health = () => nextBatch(restarted?.url as string).catch(() => 0);
      for (let i = 0; i < 240 && (await health()) < backAt.sequenced; i++) await sleep(250);
      expect(await health()).toBeGreaterThanOrEqual(backAt.sequenced);
      const counted = (outcome: string) =>
        fetch(`${restarted?.url}/metrics`)
          .then((r) => r.text())
          .then((t) =>
            Number(
              new RegExp(
                `^verinfer_evaluator_receipts_scored_total\\{outcome="${outcome}"\\} (\\d+)`,
                "m",
              ).exec(t)?.[1] ?? 0,
            ),
          );
      // Those of the epoch whose commit phase closed while it was away are noted late, none scored …
      expect(await counted("late")).toBeGreaterThan(0);
      type Epoch = { epoch: number; scored: number; unavailable: number; status: string | null };
      let epochs: Epoch[] = [];
      const of = (e: number) => epochs.find((x) => x.epoch === e);
      // The pass that reached those batches prepares the epoch after following them: wait for it (an
      // epoch it scored nothing of before going away has no commitment at all).
      for (let i = 0; i < 120; i++) {
        epochs = ((await (await fetch(`${restarted.url}/v1/scores`)).json()) as { epochs: Epoch[] }).epochs;
        if ((of(missed)?.scored ?? 0) === 0 || of(missed)?.status) break;
        await sleep(250);
      }
      expect(of(missed)?.status ?? "missed").toBe("missed");
      // … and those of the next, posted while it was away but still committable, are scored.
      expect(of(missed + 1)?.scored ?? 0).toBeGreaterThan(0);
      expect(of(missed + 1)?.unavailable ?? 0).toBe(0);
    } finally {
      stop = true;
      await traffic;
    }
  }, 600_000);

  it("an evaluator whose worker cannot be reached defers its receipt and goes on past it; back, the worker's receipt is scored", async () => {
    const evaluators = evaluatorLogs();
    // Early in an epoch, so the receipt's epoch is not yet committed to when the worker is back.
    await nextEpoch();
    const worker = devnet.workers[0] as DevnetProcess;
    const batch = await ask("while its worker is away", 1);
    // Stopped before its batch is posted (500 ms) and drawn from (two blocks later).
    worker.child.kill("SIGSTOP");
    let stopped = true;
    try {
      // Blocks keep coming (no traffic while the only worker is away): the batch's seed block, then passes.
      const deferred = () =>
        evaluators.find((e) => logged(e.log).some((l) => l.msg.startsWith("a worker cannot be reached")));
      for (let i = 0; i < 120 && !deferred(); i++) {
        await rpc("anvil_mine", ["0x1"]);
        await sleep(500);
      }
      const drawn = deferred();
      expect(drawn, "an evaluator deferred the receipt of the worker it could not reach").toBeDefined();
      // Its pass went on past the receipt, the worker still away (it once failed there, every pass).
      for (let i = 0; i < 60 && (await nextBatch(drawn?.url as string)) <= batch; i++) await sleep(500);
      expect(await nextBatch(drawn?.url as string)).toBeGreaterThan(batch);
      worker.child.kill("SIGCONT");
      stopped = false;
      // Back, the worker's receipt is scored, its epoch not yet committed to.
      const scored = () =>
        logged(drawn?.log as string).some(
          (l) => l.msg === "receipt scored" && l.batch === batch && l.note === "scored",
        );
      for (let i = 0; i < 120 && !scored(); i++) {
        await rpc("anvil_mine", ["0x1"]);
        await sleep(500);
      }
      expect(scored()).toBe(true);
    } finally {
      if (stopped) worker.child.kill("SIGCONT");
    }
  }, 300_000);

  it("a worker down until half-way through its epoch's commit phase: its receipt scores 0 (withheld), committed after the grace and in time", async () => {
    const c = { public: chain() };
    const k = await scoreClock(c, devnet.deployment.scoreCommits as Hex);
    const evaluators = evaluatorLogs();
    const seen = new Map(evaluators.map((e) => [e.log, logged(e.log).length]));
    const since = (e: (typeof evaluators)[number]) => logged(e.log).slice(seen.get(e.log));
    await nextEpoch();
    const batch = await ask("away across its epoch's end", 2);
    // Killed (refusing connections: each ask fails at once), and started again once the evaluator drawn
    // for its receipt gave up on it.
    restartedWorker = await killAndRestart(
      devnet.workers[0] as DevnetProcess,
      devnet.dir,
      "worker-1-back",
      async () => {
        while ((await batchCounts(c, devnet.deployment.rollup)).sequenced <= batch) await sleep(250);
        const epoch = (await epochsOfBatches(devnet.deployment, [batch]))[0] as number;
        const withheld = () =>
          evaluators.find((e) =>
            since(e).some(
              (l) => l.msg.startsWith("receipts whose worker could not be reached") && l.epoch === epoch,
            ),
          );
        // A block a second (no traffic while the worker is down), so the chain's time keeps the clock's.
        for (let i = 0; i < 200 && !withheld(); i++) {
          await rpc("anvil_mine", ["0x1"]);
          await sleep(1000);
        }
        const drawn = withheld();
        expect(drawn, "an evaluator scored the unreachable worker's receipt 0").toBeDefined();
        const stored = async () =>
          BigInt(
            (await c.public.readContract({
              address: devnet.deployment.scoreCommits as Hex,
              abi: scoreCommitsAbi,
              functionName: "commitments",
              args: [BigInt(epoch), drawn?.address as Hex],
            })) as Hex,
          );
        for (let i = 0; i < 60 && (await stored()) !== 1n; i++) {
          await rpc("anvil_mine", ["0x1"]);
          await sleep(1000);
        }
        expect(await stored(), "the evaluator revealed its scores of the epoch").toBe(1n);
        // Committed in the phase's second half: it asked for the receipt until half the phase was
        // over (the worker could have come back), then had the other half for its commitment.
        const [committed] = (await c.public.getContractEvents({
          address: devnet.deployment.scoreCommits as Hex,
          abi: scoreCommitsAbi,
          eventName: "ScoresCommitted",
          args: { epoch: BigInt(epoch), evaluator: drawn?.address as Hex },
          fromBlock: 0n,
        })) as unknown as { blockNumber: bigint }[];
        const at = Number(
          (await c.public.getBlock({ blockNumber: committed?.blockNumber as bigint })).timestamp,
        );
        expect(at).toBeGreaterThanOrEqual(commitEnd(k, epoch) - k.commitSeconds / 2);
        expect(at).toBeLessThan(commitEnd(k, epoch));
      },
    );
  }, 300_000);
});
