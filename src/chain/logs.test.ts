/**
 * Windowed event reads against a real anvil, directly and behind a real HTTP proxy that refuses
 * `eth_getLogs` over more than 4 blocks the way hosted RPCs do (a JSON-RPC error naming the limit).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalChain, startAnvil } from "./anvil.ts";
import { send } from "./clients.ts";
import { type ChainClients, clientsFor, deployContract } from "./deploy.ts";
import { verinferTokenAbi, verinferTokenBytecode } from "./generated/contracts.ts";
import { contractEvents, deployedFrom } from "./logs.ts";

let chain: LocalChain;
let c: ChainClients;
let token: Hex;
let deployedAtBlock: number;
let head: bigint;
let proxy: Server;
let proxied: ChainClients;
/** eth_getLogs calls the proxy refused. */
let refused = 0;
const MINTS = 12;

beforeAll(async () => {
  chain = await startAnvil();
  c = clientsFor(chain.rpcUrl, chain.chainId, chain.keys[0] as Hex);
  // Blocks before the deployment, with nothing of ours in them.
  for (let i = 0; i < 3; i++) await c.wallet.sendTransaction({ to: c.wallet.account.address, value: 1n });
  deployedAtBlock = Number(await c.public.getBlockNumber());
  token = await deployContract(c, verinferTokenAbi, verinferTokenBytecode, [c.wallet.account.address]);
  // One Transfer per block (anvil mines each transaction in its own block).
  for (let i = 0; i < MINTS; i++)
    await send(c, token, verinferTokenAbi, "mint", [c.wallet.account.address, BigInt(i + 1)]);
  // (viem caches the block number for its polling interval: the head is asked for uncached.)
  head = await c.public.getBlockNumber({ cacheTime: 0 });
  proxy = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const call = JSON.parse(body) as {
      id: number;
      method: string;
      params?: { fromBlock: Hex; toBlock: Hex }[];
    };
    const filter = call.params?.[0];
    if (
      call.method === "eth_getLogs" &&
      filter &&
      BigInt(filter.toBlock) - BigInt(filter.fromBlock) + 1n > 4n
    ) {
      refused++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          jsonrpc: "2.0",
          id: call.id,
          error: { code: -32005, message: "query exceeds the maximum block range of 4" },
        }),
      );
      return;
    }
    const upstream = await fetch(chain.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    res.writeHead(upstream.status, { "content-type": "application/json" });
    res.end(await upstream.text());
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  proxied = clientsFor(
    `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    chain.chainId,
    chain.keys[0] as Hex,
  );
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
  await chain?.stop();
});

type Transfer = { args: { value: bigint }; blockNumber: bigint };
const query = () => ({ address: token, abi: verinferTokenAbi, eventName: "Transfer" });
const values = (logs: Transfer[]) => logs.map((l) => l.args.value);

describe("contractEvents", () => {
  it("reads the same events, in chain order, in windows as in one range, from the deployment's block", async () => {
    const whole = await contractEvents<Transfer>(c, query(), { fromBlock: 0n, toBlock: head });
    expect(values(whole)).toEqual(Array.from({ length: MINTS }, (_, i) => BigInt(i + 1)));
    for (const windowBlocks of [1n, 3n, 5n])
      expect(
        values(
          await contractEvents<Transfer>(c, query(), {
            fromBlock: deployedFrom({ deployedAtBlock }),
            toBlock: head,
            windowBlocks,
          }),
        ),
      ).toEqual(values(whole));
    // Older deployment files have no block: read from 0.
    expect(deployedFrom({})).toBe(0n);
    // Without a last block, the head now: what was just mined is in (viem's cached head would miss it).
    await c.public.getBlockNumber();
    const hash = await c.wallet.writeContract({
      address: token,
      abi: verinferTokenAbi,
      functionName: "mint",
      args: [c.wallet.account.address, 99n],
    });
    while (!(await c.public.getTransactionReceipt({ hash }).catch(() => null)));
    expect(values(await contractEvents<Transfer>(c, query(), { fromBlock: head + 1n }))).toEqual([99n]);
  });

  it("halves a window a provider refuses as too large, until the provider answers", async () => {
    // (16 blocks first, not 5,000: viem retries each refusal for about a second before it gives up.)
    const logs = await contractEvents<Transfer>(proxied, query(), {
      fromBlock: BigInt(deployedAtBlock),
      toBlock: head,
      windowBlocks: 16n,
    });
    expect(values(logs)).toEqual(Array.from({ length: MINTS }, (_, i) => BigInt(i + 1)));
    expect(refused).toBeGreaterThan(0);
    // The client's next read starts at the window the provider accepted: no refusal again.
    const before = refused;
    const again = await contractEvents<Transfer>(proxied, query(), {
      fromBlock: BigInt(deployedAtBlock),
      toBlock: head,
    });
    expect(values(again)).toEqual(values(logs));
    expect(refused).toBe(before);
  });

  it("does not retry an error that is not about the range", async () => {
    const broken = {
      public: {
        getBlockNumber: c.public.getBlockNumber,
        getContractEvents: () => Promise.reject(new Error("connection refused")),
      },
    } as unknown as ChainClients;
    await expect(contractEvents(broken, query(), { fromBlock: 0n })).rejects.toThrow(/connection refused/);
  });
});
