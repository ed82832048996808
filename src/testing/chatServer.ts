/**
 * A scripted OpenAI-compatible chat-completions server on loopback for tests: each request is
 * answered by the next scripted reply (status, body, delay), and every request is recorded.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One scripted reply. `content` builds a normal completion; `raw` sends a body as is. */
export interface ScriptedReply {
  readonly status?: number;
  readonly content?: string;
  readonly raw?: string;
  readonly delayMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sends `raw` and then drops the connection without ending the reply. */
  readonly hangUp?: boolean;
}

/** A recorded request. */
export interface RecordedRequest {
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: { model?: string; messages?: { role: string; content: string }[]; [k: string]: unknown };
}

/** A running server. */
export interface ChatServer {
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  /** Highest number of requests in flight at once. */
  readonly maxInFlight: () => number;
  close(): Promise<void>;
}

/** Starts a server that answers with `script` in order (the last entry repeats) or with `reply(request)`. */
export async function startChatServer(
  script: readonly ScriptedReply[] | ((request: RecordedRequest) => ScriptedReply),
): Promise<ChatServer> {
  const requests: RecordedRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      let body: RecordedRequest["body"] = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        body = {};
      }
      const request = { path: req.url ?? "", headers: req.headers, body };
      requests.push(request);
      const reply =
        typeof script === "function"
          ? script(request)
          : (script[Math.min(requests.length - 1, script.length - 1)] as ScriptedReply);
      const send = () => {
        inFlight--;
        if (res.destroyed) return;
        const text =
          reply.raw ??
          JSON.stringify({
            id: `chatcmpl-${requests.length}`,
            object: "chat.completion",
            model: body.model ?? "test",
            choices: [
              {
                index: 0,
                message: { role: "assistant", content: reply.content ?? "" },
                finish_reason: "stop",
              },
            ],
            usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
          });
        res.writeHead(reply.status ?? 200, { "content-type": "application/json", ...reply.headers });
        if (reply.hangUp) {
          res.write(text);
          setTimeout(() => res.socket?.destroy(), 20);
        } else res.end(text);
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
