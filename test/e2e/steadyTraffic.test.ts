/**
 * PoQ under steady traffic: requests keep coming, so every evaluator pass finds a batch posted too
 * recently to have its sampling seed yet. The evaluators must still commit and reveal each ended epoch
 * — they once waited until no batch at all was left to score, which under steady traffic never
 * happens, and every epoch went unscored and paid its workers nothing — and the settler must pay the
 * workers by the PoQ quality the evaluators revealed. Asserted on chain and at the settler while the
 * traffic still runs. Then one evaluator is away for longer than an epoch's commit phase: back, it skips
 * the batches whose scores it can no longer commit (noted late), and scores those it still can.
 */
import { mkdtempSync } from "node:fs";
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

let devnet: Devnet;

beforeAll(async () => {
  devnet = await startDevnet({
    dir: mkdtempSync(join(tmpdir(), "verinfer-steady-")),
    workers: 1,
    adversary: "none",
    gatewayPort: 0,
    rpcPort: 0,
    evaluators: 2,
  });
}, 180_000);

let restarted: DevnetProcess | null = null;

afterAll(async () => {
  if (restarted) await stopProcess(restarted.child);
  await devnet?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("PoQ under steady traffic", () => {
  it("evaluators commit and reveal each ended epoch while requests keep coming; the settler pays by quality", async () => {
    let stop = false;
    const answered: { batch: number; atMs: number }[] = [];
    // About five requests a second: a batch sealed every 500 ms, posted in nearly every block.
    const traffic = (async () => {
      for (let i = 0; !stop; i++) {
        const r = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            messages: [{ role: "user", content: `steady ${i}` }],
            max_tokens: 4,
            seed: i,
          }),
        });
        expect(r.status).toBe(200);
        const { verinfer } = (await r.json()) as { verinfer: { batch: number } };
        answered.push({ batch: verinfer.batch, atMs: Date.now() });
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
      const c = publicClientFor(devnet.rpcUrl, devnet.deployment.chainId);
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
      const health = async () => {
        try {
          return ((await (await fetch(`${restarted?.url}/health`)).json()) as { nextBatch: number })
            .nextBatch;
        } catch {
          return 0;
        }
      };
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
});
