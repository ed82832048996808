/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against a running
 * devnet with a cheating worker: the numbers on the page equal the gateway's API; the dispute the
 * fisherman opens during the test appears and resolves on the page as on chain; posted batches and
 * proven spot-check obligations (ρ = 100%) show; the receipt explorer
 * accepts a real receipt — signature, registry facts and inclusion under the on-chain root, all checked
 * in the browser — and names the check a tampered receipt fails; no console errors. Screenshots go to
 * VERINFER_SCREENSHOTS_DIR (default reports/dashboard; docs/dashboard.md shows them).
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicClientFor } from "../../src/chain/deploy.ts";
import { disputeGameAbi } from "../../src/chain/generated/contracts.ts";
import { type Devnet, startDevnet } from "../../src/node/devnet/devnet.ts";
import type { AnswerReceipt } from "../../src/node/devnet/receiptCheck.ts";
import { startDashboardServer } from "../../src/node/services/gateway/dashboard.ts";
import { hasChromium, launchChromium } from "../../src/testing/chromium.ts";

const chromiumHere = hasChromium("the dashboard's browser test");
const SHOTS = process.env.VERINFER_SCREENSHOTS_DIR ?? "reports/dashboard";

let devnet: Devnet;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

beforeAll(async () => {
  if (!chromiumHere) return;
  devnet = await startDevnet({
    dir: mkdtempSync(join(tmpdir(), "verinfer-dashboard-")),
    workers: 2,
    adversary: "wrong-output",
    gatewayPort: 0,
    rpcPort: 0,
    evaluators: 0,
    // Every receipt selected, so that spot-check obligations and their proofs show on the page.
    rhoPpm: 1_000_000,
  });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(e.message));
  mkdirSync(SHOTS, { recursive: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await devnet?.stop();
});

const ask = async (i: number): Promise<AnswerReceipt> => {
  const r = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: `dashboard ${i}` }], max_tokens: 6 }),
  });
  return ((await r.json()) as { verinfer: AnswerReceipt }).verinfer;
};
const receiptOf = async (id: string) =>
  (await (await fetch(`${devnet.gatewayUrl}/v1/receipts/${id}`)).json()) as AnswerReceipt;
const until = async (what: string, f: () => Promise<boolean>, ms = 120_000) => {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
};

describe.skipIf(!chromiumHere)("the dashboard in Chromium", () => {
  it("shows the API's numbers and the chain's disputes, and explains real and tampered receipts", async () => {
    const cheat = devnet.workers.find((w) => w.adversary !== "none")?.address.toLowerCase();
    const answers: AnswerReceipt[] = [];
    for (
      let i = 0;
      answers.length < 3 ||
      !answers.some((a) => (a.receipt as { worker: string }).worker.toLowerCase() === cheat);
      i++
    ) {
      answers.push(await ask(i));
      expect(i).toBeLessThan(40);
    }
    await page.goto(`${devnet.gatewayUrl}/dashboard`);
    const card = (key: string) =>
      page
        .locator(`.card[data-key="${key}"] .v`)
        .textContent()
        .then((t) => t ?? "");

    // The page's receipt counts equal the API's (read back to back, retried while receipts move).
    await until("the page to show the API's counts", async () => {
      const api = (await (await fetch(`${devnet.gatewayUrl}/v1/network`)).json()) as {
        receipts: Record<string, number>;
        workers: { address: string }[];
      };
      const shown = await Promise.all(
        ["provisional", "sealed", "posted", "disputed", "final", "voided"].map(async (s) => [
          Number(await card(`receipts.${s}`)),
          api.receipts[s] ?? 0,
        ]),
      );
      const rows = await page.locator("#workers tbody tr").count();
      // Each worker's dev-TEE evidence, verified by the gateway as the attester does, claim by claim.
      const attestations = await page
        .locator("#workers tbody tr")
        .evaluateAll((trs) => trs.map((tr) => tr.lastElementChild?.textContent ?? ""));
      if (!attestations.every((t) => /^dev TEE \(no hardware\) ✓ — .*signature-verified: true/.test(t)))
        return false;
      return shown.every(([a, b]) => a === b) && rows === api.workers.length;
    });

    // The fisherman's dispute over the cheat's receipt appears, and resolves as on chain.
    await until(
      "a dispute resolved on the page",
      async () => (await page.locator('#disputes tr[data-outcome^="challenger won"]').count()) > 0,
    );
    const resolved = (await publicClientFor(devnet.rpcUrl, devnet.deployment.chainId).getContractEvents({
      address: devnet.deployment.disputeGame as `0x${string}`,
      abi: disputeGameAbi,
      eventName: "Resolved",
      fromBlock: 0n,
    })) as unknown as { args: { game: bigint; rootCountered: boolean } }[];
    // Its claims, mirrored in the browser from the game's events: the root claim and the attack on it at least.
    const tree = page.locator(`#games div[data-game="${resolved[0]?.args.game}"]`);
    expect(await tree.locator("tbody tr").count()).toBeGreaterThanOrEqual(2);
    // The tree follows the chain's events on its own poll, so it may show the game resolvable a moment
    // after the disputes table (the gateway's view) shows it resolved.
    await until("the game's tree to show it resolved", async () =>
      /resolved/.test((await tree.locator("h3").textContent()) ?? ""),
    );
    // The cheat's slash shows on its row as the registry recorded it.
    await until("the cheat's slash on the page", async () =>
      /^[1-9]/.test(
        (await page.locator(`#workers tr[data-address="${cheat}"] td:nth-child(6)`).textContent()) ?? "",
      ),
    );
    for (const e of resolved.filter((l) => l.args.rootCountered))
      expect(
        await page.locator(`#disputes tr[data-game="${e.args.game}"]`).getAttribute("data-outcome"),
      ).toMatch(/^challenger won/);
    // Posted batches with their windows, and spot-check obligations proven on chain.
    const firstBatch = String(answers[0]?.batch);
    await until(
      "the first batch on the page",
      async () => (await page.locator(`#batches tr[data-batch="${firstBatch}"]`).count()) > 0,
    );
    await until(
      "a proven obligation on the page",
      async () => (await page.locator("#spotchecks tbody tr", { hasText: "proven" }).count()) > 0,
    );
    // At ρ = 100% every posted receipt owes a proof: the overview's spot-check rate says so.
    await until("the spot-check rate at 100%", async () =>
      /^100\.0% \(\d+\)$/.test(await card("spot-check-rate")),
    );
    await page.screenshot({ path: join(SHOTS, "overview.png"), fullPage: true });

    // The explorer accepts an honest, posted receipt: every check passes in the browser.
    const honest = answers.find(
      (a) => (a.receipt as { worker: string }).worker.toLowerCase() !== cheat,
    ) as AnswerReceipt;
    await until("the honest receipt's batch on chain", async () =>
      ["posted", "final"].includes((await receiptOf(honest.requestId)).status ?? ""),
    );
    const explore = async (input: string) => {
      await page.fill("#explore-input", input);
      await page.click("#explore");
      await page.locator('#explorer tr[data-check="inclusion"]').waitFor();
      return Object.fromEntries(
        await page
          .locator("#explorer tbody tr")
          .evaluateAll((rows) => rows.map((r) => [r.getAttribute("data-check"), r.getAttribute("data-ok")])),
      ) as Record<string, string>;
    };
    expect(await explore(honest.requestId)).toEqual({
      "well formed": "true",
      network: "true",
      signature: "true",
      digest: "true",
      registry: "true",
      inclusion: "true",
    });
    await page.screenshot({ path: join(SHOTS, "explorer.png"), fullPage: true });

    // A tampered receipt (one more output token claimed) fails at its signature, and no longer leads
    // to the root either.
    const full = await receiptOf(honest.requestId);
    const tampered = {
      ...full,
      receipt: { ...full.receipt, outputTokens: (full.receipt as { outputTokens: number }).outputTokens + 1 },
    };
    const verdict = await explore(JSON.stringify(tampered));
    expect(verdict["well formed"]).toBe("true");
    expect(verdict.signature).toBe("false");
    expect(verdict.inclusion).toBe("false");
    await page.screenshot({ path: join(SHOTS, "explorer-tampered.png"), fullPage: true });

    // `verinfer dashboard --gateway URL`: the same page served from elsewhere, the gateway's views passed through.
    const standalone = await startDashboardServer({ gateway: devnet.gatewayUrl, host: "127.0.0.1", port: 0 });
    try {
      await page.goto(standalone.url);
      await until("the standalone page to show the gateway's counts", async () => {
        const api = (await (await fetch(`${devnet.gatewayUrl}/v1/network`)).json()) as {
          receipts: Record<string, number>;
        };
        return (
          Number(await card("receipts.voided")) === (api.receipts.voided ?? 0) &&
          (api.receipts.voided ?? 0) > 0
        );
      });
    } finally {
      await standalone.close();
    }
    expect(consoleErrors).toEqual([]);
  }, 300_000);
});
