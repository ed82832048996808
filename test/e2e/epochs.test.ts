/**
 * Proof of Quality and epoch rewards on a devnet (issue: "evaluators score, epochs pay — and cheaters
 * lose"): five evaluator processes — two of them colluding, reporting 10 for everything — score the
 * receipts the protocol samples them for, commit and reveal on chain; the settler posts the epoch's
 * reward root and claims it. Asserted on chain: every entry is paid exactly; the root and the inputs'
 * hash on chain are what anyone recomputes from the published inputs with the protocol's own code; the
 * cheating worker's voided receipts earn nothing; the colluders are outvoted by the median and earn
 * less than every honest evaluator; an auditor started afterwards from the chain alone agrees with every
 * epoch; and the gateway then routes by the epoch's PoQ quality and cost.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicClientFor } from "../../src/chain/deploy.ts";
import { rewardTree } from "../../src/chain/epochs.ts";
import { epochsAbi, scoreCommitsAbi } from "../../src/chain/generated/contracts.ts";
import { type Devnet, type DevnetProcess, startDevnet, stopProcess } from "../../src/node/devnet/devnet.ts";
import { epochsOfBatches, followEpochs } from "../../src/node/devnet/epochReport.ts";
import { readKeyFile, writeKeyFile } from "../../src/node/keys.ts";
import { signRoleMessage } from "../../src/node/roleAuth.ts";
import { bytesToHex } from "../../src/protocol/encoding/hex.ts";
import { keccakUtf8 } from "../../src/protocol/encoding/keccak.ts";
import { DEVNET_OTR_PARAMS } from "../../src/protocol/params/otr.ts";
import { DEFAULT_POQ_ROUND_PARAMS } from "../../src/protocol/params/poq.ts";
import { rewardEntries } from "../../src/protocol/poea/epoch.ts";
import { networkEpochRounds } from "../../src/protocol/poq/networkEpoch.ts";
import { initialTrust } from "../../src/protocol/poq/round.ts";
import { FORCED_BASE } from "../../src/protocol/rollup/rollupState.ts";
import { jsonText } from "../../src/report/json.ts";
import { formatVrf } from "../../src/report/tokens.ts";
import { hasChromium, launchChromium } from "../../src/testing/chromium.ts";
import { killAndRestart } from "../../src/testing/killAndRestart.ts";
import { testSettler } from "../../src/testing/testSettler.ts";

const run = promisify(execFile);
const BIN = new URL("../../bin/verinfer.mjs", import.meta.url).pathname;

let devnet: Devnet;
const restarted: DevnetProcess[] = [];

/** kill -9 a role's process and start it again on its store and port. */
async function restart(p: DevnetProcess, name: string): Promise<void> {
  restarted.push(await killAndRestart(p, devnet.dir, name));
}

beforeAll(async () => {
  devnet = await startDevnet({
    dir: mkdtempSync(join(tmpdir(), "verinfer-epochs-")),
    workers: 2,
    // wrong-output's cheat that also shows nobody what it served (its /v1/traces answers 404): the
    // fisherman re-executes from the gateway's copy, the evaluators score what they were not shown 0.
    adversary: "withholding",
    gatewayPort: 0,
    rpcPort: 0,
    evaluators: 5,
    evaluatorAdversaries: ["none", "none", "none", "colluding", "colluding"],
  });
}, 180_000);

afterAll(async () => {
  await Promise.all(restarted.map((p) => stopProcess(p.child)));
  await devnet?.stop();
});

describe("PoQ and epoch rewards on the devnet", () => {
  it("scores, commits, reveals, settles and pays each epoch on chain; cheats and colluders lose", async () => {
    const cheat = devnet.workers.find((w) => w.adversary !== "none")?.address.toLowerCase() as Hex;
    const served: { worker: string; batch: number; position: number; answer: unknown }[] = [];
    while (served.length < 8 || !served.some((s) => s.worker === cheat)) {
      const r = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          messages: [{ role: "user", content: `tell me about the sea, ${served.length}` }],
          max_tokens: 10,
          temperature: 1,
          seed: served.length,
        }),
      });
      expect(r.status).toBe(200);
      const answer = (await r.json()) as {
        verinfer: { requestId: string; receipt: { worker: string }; batch: number; position: number };
      };
      const { verinfer } = answer;
      served.push({
        worker: verinfer.receipt.worker.toLowerCase(),
        batch: verinfer.batch,
        position: verinfer.position,
        answer,
      });
      if (served.length === 1) {
        // The gateway's copy of a request goes to fishermen only: a registered evaluator is refused.
        const evaluatorKey = readKeyFile(join(devnet.dir, "evaluator-1", "account.key"));
        const path = `/v1/requests/${verinfer.requestId}`;
        const asked = await fetch(`${devnet.gatewayUrl}${path}`, {
          headers: signRoleMessage(evaluatorKey, "GET", path, "", Date.now()),
        });
        expect(asked.status).toBe(401);
      }
      expect(served.length).toBeLessThan(60);
    }
    // kill -9 an honest evaluator between its commit and its reveal of the first epoch, and the settler
    // between posting that epoch's root and claiming it: restarted, each resumes from its SQLite store
    // and the chain (the evaluator reveals with the salt it kept; the settler claims what it posted).
    // Watched for from here on: the steps below (three CLI processes) can outlast the first epoch's
    // commit phase on a slow machine (the commit and the reveal were once both over when they ended).
    const c = publicClientFor(devnet.rpcUrl, devnet.deployment.chainId);
    const firstBatch = Math.min(...served.map((s) => s.batch));
    for (;;) {
      const n = (await (await fetch(`${devnet.gatewayUrl}/v1/network`)).json()) as {
        batches: { posted: number };
      };
      if (n.batches.posted > firstBatch) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const first = BigInt((await epochsOfBatches(devnet.deployment, [firstBatch]))[0] as number);
    const ev = devnet.evaluators.find((e) => e.adversary === "none") as DevnetProcess;
    const until = async (what: string, done: () => Promise<boolean>) => {
      for (let i = 0; i < 1200; i++) {
        if (await done()) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`waited 5 minutes for ${what}`);
    };
    const evaluatorRestart = until("the evaluator's commitment", async () => {
      const stored = (await c.readContract({
        address: devnet.deployment.scoreCommits as Hex,
        abi: scoreCommitsAbi,
        functionName: "commitments",
        args: [first, ev.address as Hex],
      })) as Hex;
      if (BigInt(stored) === 1n) throw new Error("the evaluator revealed before it could be killed");
      return BigInt(stored) !== 0n;
    }).then(() => restart(ev, "evaluator-1-restarted"));
    const settlerRestart = until("the epoch's reward root", async () => {
      const posted = (await c.readContract({
        address: devnet.deployment.epochs as Hex,
        abi: epochsAbi,
        functionName: "epoch",
        args: [first],
      })) as { root: Hex };
      return BigInt(posted.root) !== 0n;
    }).then(() => restart(devnet.settler as DevnetProcess, "settler-restarted"));
    // Awaited once the epochs are followed; until then a failure is no unhandled rejection.
    for (const p of [evaluatorRestart, settlerRestart]) p.catch(() => {});
    const honest = devnet.workers.find((w) => w.adversary === "none");
    // Forced inclusion, with the CLI a client runs: (1) a client that does not trust the sequencer
    // forces in the receipt it was just promised (the receipt is then on chain twice); (2) a receipt
    // the sequencer never saw — a worker served it to a gateway that kept it out of its batches.
    const dup = served.find((s) => s.worker !== cheat) as (typeof served)[number];
    const keyFile = join(devnet.dir, "client.key");
    writeKeyFile(keyFile, devnet.keys[5] as Hex);
    let forcedFiles = 0;
    // Asynchronous: a blocked event loop would stop draining the pipes of the processes this test runs.
    const force = async (answer: unknown) => {
      const file = join(devnet.dir, `forced-${forcedFiles++}.json`);
      writeFileSync(file, JSON.stringify(answer));
      const deployment = join(devnet.dir, "deployment.json");
      const { stdout } = await run(process.execPath, [
        BIN,
        "chain",
        "force-include",
        file,
        "--deployment",
        deployment,
        "--key-file",
        keyFile,
        "--json",
      ]);
      return JSON.parse(stdout) as { batch: number; position: number; digest: Hex };
    };
    const forcedDup = await force(dup.answer);
    expect(forcedDup.batch).toBe(FORCED_BASE);
    const body = JSON.stringify({
      requestId: keccakUtf8("a request the sequencer never saw"),
      messages: [{ role: "user", content: "tell me about the hills" }],
      params: { temperature: 1, topP: 1, maxTokens: 10, stop: [] },
      seed: 7,
    });
    const gatewayKey = readKeyFile(join(devnet.dir, "gateway", "sequencer.key"));
    const direct = await fetch(`${honest?.url}/v1/infer`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...signRoleMessage(gatewayKey, "POST", "/v1/infer", body, Date.now()),
      },
      body,
    });
    expect(direct.status).toBe(200);
    const last = JSON.parse((await direct.text()).trim().split("\n").at(-1) as string) as {
      receipt: { receipt: unknown; signature: Hex };
    };
    const forcedUnseen = await force(last.receipt);
    expect(forcedUnseen.batch).toBe(FORCED_BASE + 1);
    // The same receipt twice is refused with the contract's named error, as a coded CLI failure.
    await expect(force(last.receipt)).rejects.toThrow(/RECEIPT_REPLAYED/);
    // The sequencer's numbering is untouched: it goes on posting the batches it promised.
    const after = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "and the sky?" }], max_tokens: 4 }),
    });
    const promisedAfter = ((await after.json()) as { verinfer: { batch: number } }).verinfer.batch;
    expect(promisedAfter).toBeGreaterThanOrEqual(Math.max(...served.map((s) => s.batch)));
    const sequenced = [...new Set([...served.map((s) => s.batch), promisedAfter])];
    const batches = [...sequenced, FORCED_BASE, FORCED_BASE + 1];
    // Wait for the batches to be posted before reading their epochs.
    for (;;) {
      const n = (await (await fetch(`${devnet.gatewayUrl}/v1/network`)).json()) as {
        batches: { posted: number };
      };
      if (n.batches.posted >= Math.max(...sequenced) + 1) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const epochs = await epochsOfBatches(devnet.deployment, batches);
    const reports = await followEpochs(
      devnet.settler?.url as string,
      devnet.deployment,
      epochs,
      Date.now() + 300_000,
      () => {},
    );
    await Promise.all([evaluatorRestart, settlerRestart]);
    const logOf = (name: string) => readFileSync(join(devnet.dir, "logs", `${name}.log`), "utf8");
    expect(logOf("evaluator-1-restarted")).toMatch(/"msg":"scores revealed"/);
    expect(logOf("settler-restarted")).toMatch(/"msg":"[^"]*claimed/);
    const honestEvaluators = devnet.evaluators
      .filter((e) => e.adversary === "none")
      .map((e) => e.address.toLowerCase());
    const colluders = devnet.evaluators
      .filter((e) => e.adversary !== "none")
      .map((e) => e.address.toLowerCase());
    let cheatRounds = 0;
    let honestPaidEpochs = 0;
    const honestAddress = honest?.address.toLowerCase();
    for (const report of reports) {
      expect(report).not.toBeNull();
      if (!report || report.status === "empty") continue;
      // Paid exactly, on chain.
      for (const x of report.entries) expect(x.paidOnChain).toBe(x.amount);
      // Anyone recomputes the root from the published inputs with the protocol's code.
      const full = (await (await fetch(`${devnet.settler?.url}/v1/epochs/${report.epoch}`)).json()) as {
        inputs: {
          receipts: Parameters<typeof networkEpochRounds>[0];
          reveals: Record<string, [string, number][]>;
          fishermen: { fisherman: Hex; stake: string; active: boolean }[];
          evaluators: Hex[];
        };
      };
      const onChain = (await c.readContract({
        address: devnet.deployment.epochs as Hex,
        abi: epochsAbi,
        functionName: "epoch",
        args: [BigInt(report.epoch)],
      })) as { root: Hex; inputsHash: Hex };
      expect(onChain.inputsHash).toBe(keccakUtf8(jsonText(full.inputs)));
      if (report.epoch === epochs[0]) {
        // The first epoch with work starts from fresh trust: recompute it from scratch.
        const i = full.inputs;
        const p = DEFAULT_POQ_ROUND_PARAMS;
        const outcome = networkEpochRounds(
          i.receipts,
          new Map(Object.entries(i.reveals).map(([e, s]) => [e as Hex, new Map(s)])),
          initialTrust(i.evaluators.length, p),
          new Map(i.evaluators.map((e, n) => [e, n])),
          p,
        );
        const r = rewardEntries(
          DEVNET_OTR_PARAMS.poea,
          DEVNET_OTR_PARAMS.poea.epochRewards,
          outcome.workers,
          outcome.evaluators,
          i.fishermen.map((f) => ({ ...f, stake: BigInt(f.stake) })),
        );
        expect(bytesToHex(rewardTree(r.entries).root)).toBe(onChain.root);
      }
      // Every evaluator revealed.
      const reveals = (await c.getContractEvents({
        address: devnet.deployment.scoreCommits as Hex,
        abi: scoreCommitsAbi,
        eventName: "ScoresRevealed",
        args: { epoch: BigInt(report.epoch) },
        fromBlock: 0n,
      })) as unknown as { args: { evaluator: Hex } }[];
      expect(new Set(reveals.map((l) => l.args.evaluator.toLowerCase()))).toEqual(
        new Set([...honestEvaluators, ...colluders]),
      );
      // The cheat's receipts were all voided: no verified work, no reward.
      expect(report.attribution[cheat]?.tokens ?? "0").toBe("0");
      expect(report.entries.some((x) => x.account.toLowerCase() === cheat)).toBe(false);
      for (const r of report.rounds.filter((x) => x.worker.toLowerCase() === cheat)) {
        // Not shown, so scored 0 by every honest evaluator: hiding an output never pays as quality.
        r.evaluators.forEach((e, j) => {
          if (honestEvaluators.includes(e.toLowerCase())) expect(r.scores[j]).toBe(0);
        });
        expect(r.consensus).toBe(0);
        cheatRounds++;
      }
      // The honest worker is paid for its work at the robust consensus, in every epoch it has work in
      // (an epoch can hold only the cheat's receipts: the request after the forced inclusions can open
      // a new epoch on its own and be routed to the cheat).
      const honestTokens = Object.entries(report.attribution).find(
        ([w]) => w.toLowerCase() === honestAddress,
      )?.[1].tokens;
      const honestWorker = report.entries.find((x) => x.account.toLowerCase() === honestAddress);
      if (BigInt(honestTokens ?? "0") > 0n) {
        expect(BigInt(honestWorker?.amount ?? 0)).toBeGreaterThan(0n);
        honestPaidEpochs++;
      } else expect(honestWorker).toBeUndefined();
      // Colluders are outvoted (the median equals the honest score) and earn less than every honest evaluator.
      const amount = (a: string) =>
        BigInt(report.entries.find((x) => x.account.toLowerCase() === a)?.amount ?? 0);
      for (const r of report.rounds) {
        const honestScores = r.evaluators
          .map((e, j) => [e.toLowerCase(), r.scores[j]] as const)
          .filter(([e]) => honestEvaluators.includes(e));
        if (honestScores.length === 3) expect(r.consensus).toBe(honestScores[0]?.[1]);
      }
      for (const h of honestEvaluators)
        for (const x of colluders) expect(amount(h)).toBeGreaterThan(amount(x));
      expect(report.entries.some((x) => x.role === "fisherman")).toBe(true);
    }
    expect(cheatRounds).toBeGreaterThan(0); // the cheat's answers were scored too (0: withheld)
    expect(honestPaidEpochs).toBeGreaterThan(0);
    // No evaluator's commit or reveal was refused: each is sent once its phase is open on chain.
    for (const name of [...devnet.evaluators.map((_, i) => `evaluator-${i + 1}`), "evaluator-1-restarted"])
      expect(logOf(name)).not.toMatch(/"msg":"(commit|reveal) refused"/);
    // The forced receipts count once each: the unseen one in its forced batch, the duplicate once (in
    // the sequencer's batch when both landed in the same epoch, else in the earlier one).
    const counted = new Map<string, number>();
    for (const report of reports) {
      if (!report || report.status === "empty") continue;
      const full = (await (await fetch(`${devnet.settler?.url}/v1/epochs/${report.epoch}`)).json()) as {
        inputs: { receipts: { batch: number; position: number }[] };
      };
      for (const r of full.inputs.receipts) {
        const key = `${r.batch}:${r.position}`;
        counted.set(key, (counted.get(key) ?? 0) + 1);
      }
    }
    expect(counted.get(`${FORCED_BASE + 1}:0`)).toBe(1);
    expect((counted.get(`${dup.batch}:${dup.position}`) ?? 0) + (counted.get(`${FORCED_BASE}:0`) ?? 0)).toBe(
      1,
    );
    // An auditor started now, from nothing but the chain, recomputes every epoch up to the last one and
    // agrees with what the settler posted (cheats voided, colluders outvoted, forced receipts counted).
    const auditor = testSettler(devnet.deployment);
    try {
      const last = Math.max(...epochs);
      const audited = await auditor.stepUntil((s) => s.has(last), 100);
      for (const report of reports)
        if (report) expect(audited.get(report.epoch)).toBe(report.status === "empty" ? "empty" : "agrees");
      expect([...audited.values()].filter((x) => x !== "agrees" && x !== "empty")).toEqual([]);
    } finally {
      await auditor.node.close();
    }
    // The gateway now routes by the epoch's PoQ quality and cost efficiency.
    const latest = reports.filter((r) => r && Object.keys(r.attribution).length > 0).at(-1);
    const honestWorker = devnet.workers.find((w) => w.adversary === "none")?.address.toLowerCase() as string;
    let routed: { address: string | null; quality: number | null }[] = [];
    for (let i = 0; i < 20; i++) {
      routed = ((await (await fetch(`${devnet.gatewayUrl}/v1/network`)).json()) as { workers: typeof routed })
        .workers;
      if (routed.some((w) => w.quality !== null)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(routed.find((w) => w.address?.toLowerCase() === honestWorker)?.quality).toBe(
      latest?.attribution[honestWorker]?.quality,
    );

    // The dashboard shows the same rewards and the evaluators' trust (in Chromium, where installed).
    if (!hasChromium("the dashboard part")) return;
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${devnet.gatewayUrl}/dashboard`);
      const epoch = latest?.epoch as number;
      await page.locator(`#rewards tr[data-epoch="${epoch}"]`).first().waitFor({ timeout: 30_000 });
      const shown = await page
        .locator(`#rewards tr[data-epoch="${epoch}"]`)
        .evaluateAll((rows) =>
          rows.map((r) => [r.getAttribute("data-account"), r.lastElementChild?.textContent]),
        );
      expect(Object.fromEntries(shown)).toEqual(
        Object.fromEntries(latest?.entries.map((x) => [x.account.toLowerCase(), formatVrf(x.amount)]) ?? []),
      );
      expect(await page.locator("#trust tbody tr").count()).toBe(devnet.evaluators.length);
      const shots = process.env.VERINFER_SCREENSHOTS_DIR ?? "reports/dashboard";
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: join(shots, "epochs.png"), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 420_000);
});
