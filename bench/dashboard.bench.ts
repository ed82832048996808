/**
 * The dashboard's weight and time to first render (issue: "page weight and time to first render
 * measured in the bench"): the HTML and the bundled script as served (bytes, and gzipped), and in
 * Debian's Chromium, per fresh page load against a running devnet, the first contentful paint and the
 * time until the overview's numbers are on the page (the script loaded, the gateway and the chain read).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { startDevnet } from "../src/node/devnet/devnet.ts";
import { hasChromium, launchChromium } from "../src/testing/chromium.ts";

export interface DashboardBench {
  readonly htmlBytes: number;
  readonly scriptBytes: number;
  readonly scriptGzipBytes: number;
  readonly loads: number;
  /** Per load, ms from navigation start. */
  readonly firstContentfulPaintMs: readonly number[];
  readonly overviewRenderedMs: readonly number[];
}

export async function benchDashboard(log: (line: string) => void): Promise<DashboardBench | null> {
  if (!hasChromium("the dashboard bench")) return null;
  log("dashboard: a devnet (2 workers, no fisherman), 10 fresh loads in Chromium");
  const devnet = await startDevnet({
    dir: mkdtempSync(join(tmpdir(), "verinfer-bench-dashboard-")),
    workers: 2,
    adversary: "none",
    gatewayPort: 0,
    rpcPort: 0,
    evaluators: 0,
    fisherman: false,
  });
  const browser = await launchChromium();
  try {
    const html = Buffer.from(await (await fetch(`${devnet.gatewayUrl}/dashboard`)).arrayBuffer());
    const script = Buffer.from(await (await fetch(`${devnet.gatewayUrl}/dashboard/app.js`)).arrayBuffer());
    const fcp: number[] = [];
    const rendered: number[] = [];
    for (let i = 0; i < 10; i++) {
      const page = await browser.newPage();
      await page.goto(`${devnet.gatewayUrl}/dashboard`);
      await page.locator('.card[data-key="receipts.final"]').waitFor();
      const t = await page.evaluate(() => ({
        fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? Number.NaN,
        now: performance.now(),
      }));
      fcp.push(t.fcp);
      rendered.push(t.now);
      await page.close();
    }
    return {
      htmlBytes: html.length,
      scriptBytes: script.length,
      scriptGzipBytes: gzipSync(script).length,
      loads: 10,
      firstContentfulPaintMs: fcp,
      overviewRenderedMs: rendered,
    };
  } finally {
    await browser.close();
    await devnet.stop();
  }
}
