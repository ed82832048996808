/**
 * Spot-checks on the devnet: with ρ = 100% every posted receipt is selected; the fisherman fixes each
 * batch's seed and opens the obligations, and each worker proves the selected slice of its receipt
 * with the committed Groth16 setup and submits it before the deadline: every obligation is Proven on
 * chain, and the client's answers did not wait for any of it (proofs are off the request path). A lazy
 * worker that cannot prove its obligation is reported by the fisherman once the deadline has passed
 * (`slashMissing`) and slashed on chain, the fisherman paid its reporter's share.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicClientFor } from "../../src/chain/deploy.ts";
import { spotChecksAbi } from "../../src/chain/generated/contracts.ts";
import { type Devnet, startDevnet } from "../../src/node/devnet/devnet.ts";
import type { AnswerReceipt } from "../../src/node/devnet/receiptCheck.ts";

let devnet: Devnet;

beforeAll(async () => {
  devnet = await startDevnet({
    dir: mkdtempSync(join(tmpdir(), "verinfer-spotchecks-")),
    workers: 3,
    adversary: "none",
    adversaries: ["none", "none", "lazy"],
    gatewayPort: 0,
    rpcPort: 0,
    evaluators: 0,
    rhoPpm: 1_000_000,
  });
}, 180_000);

afterAll(() => devnet?.stop());

describe("devnet spot-checks at ρ = 100%", () => {
  it("opens an obligation for every posted receipt and each worker proves it on chain", async () => {
    const honest = new Set(devnet.workers.filter((w) => w.adversary === "none").map((w) => w.address));
    const answers: AnswerReceipt[] = [];
    for (let i = 0; answers.length < 3; i++) {
      const response = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: `prove ${i}` }], max_tokens: 4 }),
      });
      expect(response.status).toBe(200);
      const a = ((await response.json()) as { verinfer: AnswerReceipt }).verinfer;
      if (honest.has((a.receipt as { worker: string }).worker)) answers.push(a);
    }
    const chain = publicClientFor(devnet.rpcUrl, devnet.deployment.chainId);
    const spot = devnet.deployment.spotChecks as `0x${string}`;
    const proven = async () =>
      (
        await chain.getContractEvents({
          address: spot,
          abi: spotChecksAbi,
          eventName: "ObligationProven",
          fromBlock: 0n,
        } as never)
      ).length;
    for (let i = 0; i < 180 && (await proven()) < answers.length; i++)
      await new Promise((r) => setTimeout(r, 500));
    expect(await proven()).toBeGreaterThanOrEqual(answers.length);
    // Every obligation is Proven (status 2) at the receipt's own batch and position.
    for (const a of answers) {
      const r = (await (
        await fetch(`${devnet.gatewayUrl}/v1/receipts/${a.requestId}`)
      ).json()) as AnswerReceipt;
      const obligation = (await chain.readContract({
        address: spot,
        abi: spotChecksAbi,
        functionName: "obligation",
        args: [BigInt(r.batch ?? 0), r.position],
      } as never)) as { status: number };
      expect(Number(obligation.status), a.requestId).toBe(2);
    }
    // Each worker records a proof once it has seen its transaction mined, which can be after the event
    // this test saw: its count is read until it catches up.
    const recorded = async () =>
      (
        await Promise.all(
          devnet.workers.map(
            async (w) =>
              (await (await fetch(`${w.url}/health`)).json()) as { spotChecks: { proveMs: number }[] },
          ),
        )
      ).flatMap((h) => h.spotChecks).length;
    for (let i = 0; i < 40 && (await recorded()) < answers.length; i++)
      await new Promise((r) => setTimeout(r, 250));
    expect(await recorded()).toBeGreaterThanOrEqual(answers.length);
  }, 300_000);

  it("a worker that does not prove is reported after the deadline and slashed; the reporter is paid", async () => {
    const lazy = devnet.workers.find((w) => w.adversary === "lazy") as Devnet["workers"][number];
    let served = 0;
    for (let i = 0; served === 0; i++) {
      const response = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: `lazy ${i}` }], max_tokens: 4 }),
      });
      const a = ((await response.json()) as { verinfer: AnswerReceipt }).verinfer;
      if ((a.receipt as { worker: string }).worker === lazy.address) served++;
      expect(i).toBeLessThan(40);
    }
    const chain = publicClientFor(devnet.rpcUrl, devnet.deployment.chainId);
    const slashed = async () =>
      (await chain.getContractEvents({
        address: devnet.deployment.spotChecks as `0x${string}`,
        abi: spotChecksAbi,
        eventName: "ObligationSlashed",
        fromBlock: 0n,
      } as never)) as unknown as { args: { worker: string; amount: bigint; reporter: string } }[];
    // The devnet's proof deadline is 60 s after the batch was posted.
    for (let i = 0; i < 240 && (await slashed()).length === 0; i++)
      await new Promise((r) => setTimeout(r, 500));
    const events = await slashed();
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) {
      expect(e.args.worker.toLowerCase()).toBe(lazy.address.toLowerCase());
      expect(e.args.reporter.toLowerCase()).toBe(devnet.fisherman?.address.toLowerCase());
      expect(e.args.amount).toBeGreaterThan(0n);
    }
    // The fisherman records its report once it has the transaction's receipt, a poll after the event.
    const reported = async () =>
      (
        (await (await fetch(`${devnet.fisherman?.url}/v1/disputes`)).json()) as {
          obligations: { status: string }[];
        }
      ).obligations.some((o) => o.status === "reported");
    for (let i = 0; i < 60 && !(await reported()); i++) await new Promise((r) => setTimeout(r, 500));
    expect(await reported()).toBe(true);
  }, 300_000);
});
