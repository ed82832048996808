import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createPublicClient, http } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_RPC_REPLY_BYTES, rpcFetch } from "./rpcFetch.ts";

/** A JSON-RPC server on loopback: eth_blockNumber answers, eth_big is over the cap, eth_slow never does. */
let server: Server;
let url: string;
const sockets = new Set<unknown>();

beforeAll(async () => {
  server = createServer((req, res) => {
    sockets.add(req.socket);
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const { id, method } = JSON.parse(body) as { id: number; method: string };
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(payload));
      };
      if (method === "eth_blockNumber") reply(200, { jsonrpc: "2.0", id, result: "0x2a" });
      else if (method === "eth_big")
        reply(200, { jsonrpc: "2.0", id, result: "a".repeat(MAX_RPC_REPLY_BYTES) });
      else if (method === "eth_refused")
        reply(429, { jsonrpc: "2.0", id, error: { code: -32005, message: "limit exceeded" } });
      // eth_slow: no reply
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const client = (timeout = 10_000) =>
  createPublicClient({
    transport: http(url, { fetchFn: rpcFetch, maxResponseBodySize: false, retryCount: 0, timeout }),
  });

describe("rpcFetch under viem's http transport", () => {
  it("answers calls over one kept-alive connection", async () => {
    sockets.clear();
    const c = client();
    for (let i = 0; i < 3; i++) expect(await c.getBlockNumber({ cacheTime: 0 })).toBe(42n);
    expect(sockets.size).toBe(1);
  });

  it("refuses a reply over viem's size cap, keeps a provider's JSON-RPC error and times out a silent server", async () => {
    // The 10 MiB reply takes a while to build on a loaded machine: only the silent server gets a short timeout.
    const c = client();
    await expect(c.request({ method: "eth_big" } as never)).rejects.toThrow(/larger than/);
    await expect(c.request({ method: "eth_refused" } as never)).rejects.toThrow(/limit exceeded/);
    await expect(client(300).request({ method: "eth_slow" } as never)).rejects.toThrow(/took too long/);
  });

  it("refuses a scheme it cannot speak", async () => {
    await expect(rpcFetch("ftp://127.0.0.1/", { method: "POST" })).rejects.toThrow(
      /unsupported RPC URL scheme/,
    );
  });
});
