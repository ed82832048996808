import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { VerinferError } from "../../../errors.ts";
import type { InferRequest } from "../../inferRequest.ts";
import { callWorker } from "./workerCall.ts";
import type { WorkerLink } from "./workerLinks.ts";

const KEY = `0x${"11".repeat(32)}` as const;
const REQUEST: InferRequest = {
  requestId: `0x${"22".repeat(32)}`,
  messages: [{ role: "user", content: "hi" }],
  params: { temperature: 0, topP: 1, maxTokens: 4, stop: [] },
  seed: 1,
};

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A real HTTP server on loopback answering each request with `answer`; counts its TCP connections. */
async function worker(answer: (res: ServerResponse) => void) {
  const s = createServer((req, res) => {
    req.resume();
    req.on("end", () => answer(res));
  });
  const stats = { connections: 0 };
  s.on("connection", () => stats.connections++);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  server = s;
  const link = { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, healthy: true } as WorkerLink;
  return { link, stats };
}

/** Reads a reply as the gateway does: its text lines, stopping at the receipt line. */
async function consume(link: WorkerLink) {
  const texts: string[] = [];
  for await (const line of callWorker(link, KEY, REQUEST, new AbortController().signal)) {
    if ("done" in line) return { texts, done: line };
    if ("text" in line) texts.push(line.text);
  }
  throw new Error("unreachable: callWorker throws when the reply has no receipt");
}

const failure = async (link: WorkerLink) => {
  try {
    await consume(link);
  } catch (e) {
    return e as VerinferError;
  }
  throw new Error("expected the call to fail");
};

describe("callWorker", () => {
  it("reads the reply's lines as they come and reuses one connection for sequential requests", async () => {
    const { link, stats } = await worker((res) => {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.write('{"text":"a"}\n{"te');
      res.write('xt":"b"}\n');
      res.end('{"done":true,"receipt":{}}\n');
    });
    for (let i = 0; i < 3; i++) {
      const { texts, done } = await consume(link);
      expect(texts).toEqual(["a", "b"]);
      expect(done).toMatchObject({ done: true });
    }
    // A consumer that stops at the receipt line must not cost a new connection per request.
    expect(stats.connections).toBe(1);
  });

  it("maps a reply cut before its receipt, an HTTP error and a refused request to coded errors", async () => {
    let mode: "cut" | "500" | "400" | "no-receipt" = "cut";
    const { link } = await worker((res) => {
      if (mode === "cut") {
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.write('{"text":"a"}\n');
        setTimeout(() => res.socket?.destroy(), 10);
      } else if (mode === "no-receipt") {
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.end('{"text":"a"}\n');
      } else {
        res.writeHead(mode === "500" ? 500 : 400, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "GENERATION_INVALID", message: "prompt too long" } }));
      }
    });
    const cut = await failure(link);
    expect(cut.code).toBe("WORKER_FAILED");
    expect(cut.message).toMatch(/hung up mid-generation/);
    mode = "no-receipt";
    expect((await failure(link)).message).toMatch(/without a receipt/);
    mode = "500";
    expect((await failure(link)).code).toBe("WORKER_FAILED");
    mode = "400";
    const refused = await failure(link);
    expect(refused.code).toBe("API_REQUEST_INVALID");
    expect(refused.message).toMatch(/prompt too long/);
  });

  it("marks a worker that cannot be reached unhealthy", async () => {
    const link = { url: "http://127.0.0.1:9", healthy: true } as WorkerLink;
    const e = await failure(link);
    expect(e).toBeInstanceOf(VerinferError);
    expect(e.message).toMatch(/cannot be reached/);
    expect(link.healthy).toBe(false);
  });
});
