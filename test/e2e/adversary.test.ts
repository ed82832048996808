/**
 * The wrong-output adversary on a devnet (issue: "each adversary is caught and pays as the spec says,
 * asserted on chain"): a worker whose forward pass is faulted serves requests with valid, signed
 * receipts; the fisherman re-executes the posted batch, disputes the receipt whose trace root differs,
 * the cheat cannot defend it, and the game resolves on chain: the receipt is voided, the worker's
 * stake slashed by the spec's workerSlash, the fisherman credited; honest receipts become final.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicClientFor } from "../../src/chain/deploy.ts";
import { disputeGameAbi, registryAbi, rollupAbi } from "../../src/chain/generated/contracts.ts";
import { type Devnet, startDevnet } from "../../src/node/devnet/devnet.ts";
import type { AnswerReceipt } from "../../src/node/devnet/receiptCheck.ts";
import { DEVNET_OTR_PARAMS } from "../../src/protocol/params/otr.ts";

let devnet: Devnet;

beforeAll(async () => {
  devnet = await startDevnet({
    dir: mkdtempSync(join(tmpdir(), "verinfer-adversary-")),
    workers: 2,
    adversary: "wrong-output",
    gatewayPort: 0,
    rpcPort: 0,
  });
}, 180_000);

afterAll(() => devnet?.stop());

describe("devnet adversary: wrong output", () => {
  it("is disputed by the fisherman, voided and slashed on chain; honest receipts become final", async () => {
    const cheater = devnet.workers.find((w) => w.adversary === "wrong-output");
    expect(cheater).toBeDefined();
    const chain = publicClientFor(devnet.rpcUrl, devnet.deployment.chainId);
    const read = (
      address: `0x${string}`,
      abi: readonly unknown[],
      functionName: string,
      args: readonly unknown[],
    ) => chain.readContract({ address, abi, functionName, args } as never) as Promise<unknown>;
    const stakeOf = async (w: string) =>
      ((await read(devnet.deployment.registry, registryAbi, "participant", [w])) as unknown[])[5] as bigint;
    const before = await stakeOf(cheater?.address as string);
    const fisherman = devnet.fisherman.address as `0x${string}`;
    const game = devnet.deployment.disputeGame as `0x${string}`;

    // Requests until the cheat has served two (routing spreads them over both workers).
    const answers: AnswerReceipt[] = [];
    while (answers.filter((a) => (a.receipt as { worker: string }).worker === cheater?.address).length < 2) {
      const response = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          messages: [{ role: "user", content: `request ${answers.length}` }],
          max_tokens: 6,
        }),
      });
      expect(response.status).toBe(200);
      answers.push(((await response.json()) as { verinfer: AnswerReceipt }).verinfer);
      if (answers.length > 20) throw new Error("the cheat was never routed to");
    }
    const settled = new Map<string, AnswerReceipt>();
    for (let i = 0; i < 200 && settled.size < answers.length; i++) {
      for (const a of answers) {
        const r = (await (
          await fetch(`${devnet.gatewayUrl}/v1/receipts/${a.requestId}`)
        ).json()) as AnswerReceipt;
        if (r.status === "final" || r.status === "voided") settled.set(a.requestId, r);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(settled.size).toBe(answers.length);
    for (const a of settled.values()) {
      const cheat = (a.receipt as { worker: string }).worker === cheater?.address;
      expect(a.status).toBe(cheat ? "voided" : "final");
      const onChain = Number(
        await read(devnet.deployment.rollup, rollupAbi, "status", [BigInt(a.batch ?? 0), a.position]),
      );
      expect(onChain).toBe(cheat ? 4 : 3); // Voided : Final
    }
    // Each cheating receipt cost the worker the spec's slash; the fisherman was paid from it and the bonds.
    expect(before - (await stakeOf(cheater?.address as string))).toBe(
      2n * DEVNET_OTR_PARAMS.dispute.workerSlash,
    );
    expect((await read(game, disputeGameAbi, "credits", [fisherman])) as bigint).toBeGreaterThan(0n);
    const disputes = (await (await fetch(`${devnet.fisherman.url}/v1/disputes`)).json()) as {
      games: { status: string }[];
    };
    expect(disputes.games.map((g) => g.status)).toEqual(["won", "won"]);
  }, 300_000);
});
