/**
 * A follower's resume point on a real chain and a real SQLite store: none saved, it reads from the
 * deployment; saved, a restart picks up after it; saves are spaced (a block read each); and a chain
 * that no longer holds the saved block (anvil started afresh) sends it back to the deployment.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type LocalChain, startAnvil } from "../chain/anvil.ts";
import { publicClientFor } from "../chain/deploy.ts";
import { nodeLogger } from "./observability.ts";
import { ResumePoint } from "./resumePoint.ts";
import { WorkerStore } from "./services/worker/workerStore.ts";

const store = WorkerStore.open(join(mkdtempSync(join(tmpdir(), "verinfer-resume-")), "worker.sqlite"));
const chains: LocalChain[] = [];
afterAll(async () => {
  store.close();
  await Promise.all(chains.map((c) => c.stop()));
});

const mine = async (chain: LocalChain, blocks: number) =>
  publicClientFor(chain.rpcUrl, chain.chainId).request({
    method: "anvil_mine",
    params: [`0x${blocks.toString(16)}`],
  } as never);

describe("ResumePoint", () => {
  it("resumes after the saved block while the chain holds it, from the deployment otherwise", async () => {
    const first = await startAnvil();
    chains.push(first);
    const client = publicClientFor(first.rpcUrl, first.chainId);
    const logger = nodeLogger("worker", "silent");
    const point = () => new ResumePoint(store.resumePoints, "spotChecks 0xabc", client, logger);
    await mine(first, 200);

    const fresh = point();
    expect(await fresh.start(3n)).toBe(3n); // nothing saved: the deployment's block
    await fresh.done(101n); // blocks up to 100 are done with: saved at once
    expect(store.resumePoints.resumePoint("spotChecks 0xabc")?.block).toBe(100n);
    await fresh.done(150n); // 49 blocks on: not worth a block read yet
    expect(store.resumePoints.resumePoint("spotChecks 0xabc")?.block).toBe(100n);
    await fresh.done(170n);
    expect(store.resumePoints.resumePoint("spotChecks 0xabc")).toEqual({
      block: 169n,
      hash: (await client.getBlock({ blockNumber: 169n })).hash,
    });

    expect(await point().start(3n)).toBe(170n); // a restart
    expect(await point().start(180n)).toBe(180n); // a deployment after the saved block

    // The same name on a chain started afresh: no block 169 there yet, then another block 169.
    await first.stop();
    const second = await startAnvil({ port: Number(new URL(first.rpcUrl).port) });
    chains.push(second);
    await mine(second, 100);
    expect(await point().start(3n)).toBe(3n);
    const later = Number((await client.getBlock()).timestamp) + 10_000;
    await client.request({ method: "evm_setNextBlockTimestamp", params: [later] } as never);
    await mine(second, 100);
    expect(await point().start(3n)).toBe(3n);
  });
});
