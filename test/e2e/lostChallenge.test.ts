/**
 * A fisherman's challenge taken off the chain by a reorganisation (issue: "restart anvil or lose the
 * RPC for a while: nodes reconnect and catch up"; docs/deploy.md, "Reorganisations"). The blocks from
 * before the cheat's request to after the fisherman's challenge of its receipt are lost, with the batch's
 * posting and the game. The gateway posts the batch again; the fisherman finds its game gone (its id
 * unknown to the contract, or another's), checks the receipt again and challenges it again: the cheat is
 * still voided and slashed on chain. Without that it would wait on a game that does not exist while the
 * receipt became final. Then the game's resolution is taken off the chain after the fisherman saw it: the
 * fisherman, watching the games it saw resolved, resolves it again. And that resolution too, after the
 * fisherman saw it and was killed and restarted: the restarted fisherman watches the games resolved
 * shortly before its start, and resolves it a third time.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicClientFor } from "../../src/chain/deploy.ts";
import { registryAbi, rollupAbi } from "../../src/chain/generated/contracts.ts";
import { type Devnet, type DevnetProcess, startDevnet, stopProcess } from "../../src/node/devnet/devnet.ts";
import type { AnswerReceipt } from "../../src/node/devnet/receiptCheck.ts";
import { killAndRestart } from "../../src/testing/killAndRestart.ts";
import { withReorganisation } from "../../src/testing/reorganisation.ts";

let devnet: Devnet;
/** The fisherman restarted by the test (not the devnet's child: stopped here). */
let restarted: DevnetProcess | null = null;

beforeAll(async () => {
  devnet = await startDevnet({
    dir: mkdtempSync(join(tmpdir(), "verinfer-lost-challenge-")),
    workers: 2,
    adversary: "wrong-output",
    gatewayPort: 0,
    rpcPort: 0,
    evaluators: 0,
  });
}, 180_000);

afterAll(async () => {
  if (restarted) await stopProcess(restarted.child);
  await devnet?.stop();
});

const chain = () => publicClientFor(devnet.rpcUrl, devnet.deployment.chainId);
const rpc = (method: string, params: unknown[] = []) =>
  chain().request({ method, params } as never) as Promise<unknown>;
const read = (address: `0x${string}`, abi: readonly unknown[], functionName: string, args: unknown[]) =>
  chain().readContract({ address, abi, functionName, args } as never) as Promise<unknown>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ask = async (i: number): Promise<AnswerReceipt> => {
  const r = await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: `challenge ${i}` }], max_tokens: 4 }),
  });
  expect(r.status).toBe(200);
  return ((await r.json()) as { verinfer: AnswerReceipt }).verinfer;
};
const logOf = (name: string) => readFileSync(join(devnet.dir, "logs", `${name}.log`), "utf8");
const fishermanLog = () => logOf("fisherman");
const count = (text: string, msg: string) => text.split(`"msg":"${msg}`).length - 1;

describe("a challenge the chain loses", () => {
  it("is made again, and so is a resolution it loses: the cheat's receipt is still voided, its worker slashed", async () => {
    const cheat = devnet.workers.find((w) => w.adversary === "wrong-output");
    if (!cheat) throw new Error("the devnet has no cheating worker");
    const stakeOf = async () =>
      ((await read(devnet.deployment.registry, registryAbi, "participant", [cheat.address])) as unknown[])[5];
    const stakeBefore = await stakeOf();
    let forged: AnswerReceipt | null = null;
    await withReorganisation(rpc, async () => {
      for (let i = 0; !forged; i++) {
        const a = await ask(i);
        if ((a.receipt as { worker: string }).worker === cheat.address) forged = a;
        expect(i).toBeLessThan(100);
      }
      for (let i = 0; i < 240 && count(fishermanLog(), "dispute opened") === 0; i++) await sleep(250);
      expect(count(fishermanLog(), "dispute opened")).toBe(1);
    });
    const { requestId } = forged as unknown as AnswerReceipt;
    for (let i = 0; i < 360 && count(fishermanLog(), "dispute opened") < 2; i++) await sleep(250);
    expect(fishermanLog()).toMatch(/no longer on chain \(reorganised\): checking its receipt again/);
    expect(count(fishermanLog(), "dispute opened")).toBe(2);
    const statusOnChain = async () => {
      const r = (await (
        await fetch(`${devnet.gatewayUrl}/v1/receipts/${requestId}`)
      ).json()) as AnswerReceipt;
      return Number(
        await read(devnet.deployment.rollup, rollupAbi, "status", [BigInt(r.batch ?? 0), r.position]),
      );
    };
    // The cheat never answers: once its clock has run out the fisherman resolves the game, which voids the
    // receipt. That resolution is taken off the chain too, after the fisherman saw it; watching the games
    // it saw resolved, the fisherman resolves it again.
    await withReorganisation(rpc, async () => {
      for (let i = 0; i < 240 && count(fishermanLog(), "dispute resolved") === 0; i++) await sleep(250);
      expect(count(fishermanLog(), "dispute resolved")).toBe(1);
      expect(await statusOnChain()).toBe(4); // Voided
    });
    // At once (the snapshot before the fisherman resolves it again): that second resolution is taken off
    // the chain too, after the fisherman saw it and was killed and restarted.
    await withReorganisation(rpc, async () => {
      expect(await statusOnChain()).not.toBe(4);
      for (let i = 0; i < 120 && count(fishermanLog(), "dispute resolved") < 2; i++) await sleep(500);
      expect(await statusOnChain()).toBe(4);
      expect(fishermanLog()).toMatch(/resolution is no longer on chain \(reorganised\): playing on/);
      restarted = await killAndRestart(devnet.fisherman as DevnetProcess, devnet.dir, "fisherman-restarted");
      for (let i = 0; i < 120 && !/resolved recently: watched/.test(logOf("fisherman-restarted")); i++)
        await sleep(250);
      expect(logOf("fisherman-restarted")).toMatch(/resolved recently: watched/);
    });
    expect(await statusOnChain()).not.toBe(4);
    for (let i = 0; i < 120 && (await statusOnChain()) !== 4; i++) await sleep(500);
    expect(await statusOnChain()).toBe(4);
    expect(logOf("fisherman-restarted")).toMatch(
      /resolution is no longer on chain \(reorganised\): playing on/,
    );
    const voided = async () =>
      ((await (await fetch(`${devnet.gatewayUrl}/v1/receipts/${requestId}`)).json()) as AnswerReceipt)
        .status === "voided";
    for (let i = 0; i < 60 && !(await voided()); i++) await sleep(500);
    expect(await voided()).toBe(true);
    expect(await stakeOf()).not.toBe(stakeBefore);
    // The fisherman's record holds the game played, once: the lost one is gone. It records the outcome
    // once its resolution is confirmed, which can come after the chain (and the gateway) show it.
    const statuses = async () =>
      (
        (await (await fetch(`${restarted?.url}/v1/disputes`)).json()) as { games: { status: string }[] }
      ).games.map((g) => g.status);
    for (let i = 0; i < 40 && (await statuses()).includes("open"); i++) await sleep(250);
    expect(await statuses()).toEqual(["won"]);
  }, 300_000);
});
