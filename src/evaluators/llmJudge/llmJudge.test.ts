import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type ChatServer, startChatServer } from "../../testing/chatServer.ts";
import { createLlmJudgeEvaluator, JUDGE_CONFIG, JUDGE_SYSTEM_PROMPT, parseJudgeScore } from "./llmJudge.ts";

const params = { maxTextChars: 100_000 };
const input = { query: "What is the capital of France?", output: "Paris", reference: "Paris" };
let server: ChatServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

function judge(baseUrl: string, overrides: Record<string, unknown> = {}) {
  return createLlmJudgeEvaluator(
    JUDGE_CONFIG.parse({ baseUrl, model: "judge-1", apiKey: "k", retryBaseMs: 5, ...overrides }),
    params,
  );
}

describe("judge reply parsing", () => {
  it("accepts the rubric's form, JSON, [[N]] and N/10, taking the last score", () => {
    expect(parseJudgeScore("Correct and complete.\nScore: 9")).toBe(9);
    expect(parseJudgeScore("Score: 3 at first... on reflection Score: 7.5")).toBe(7.5);
    expect(parseJudgeScore('```json\n{"score": 6, "reason": "ok"}\n```')).toBe(6);
    expect(parseJudgeScore("Rating: [[10]]")).toBe(10);
    expect(parseJudgeScore("I would give this 4/10.")).toBe(4);
    expect(parseJudgeScore("**Score:** 2")).toBe(2);
  });

  it("rejects replies without a score in range", () => {
    expect(parseJudgeScore("Good answer.")).toBeNull();
    expect(parseJudgeScore("Score: 11")).toBeNull();
    expect(parseJudgeScore('{"score": -1}')).toBeNull();
    expect(parseJudgeScore("")).toBeNull();
  });
});

describe("LLM judge against a chat-completions server on loopback", () => {
  it("sends the rubric, the reference and the key, and parses the score", async () => {
    server = await startChatServer([{ content: "Matches the reference.\nScore: 8" }]);
    const result = await judge(server.baseUrl).score(input);
    expect(result.score).toBe(8);
    expect(result.costMs).toBeGreaterThan(0);
    const request = server.requests[0]!;
    expect(request.path).toBe("/v1/chat/completions");
    expect(request.headers.authorization).toBe("Bearer k");
    expect(request.body.model).toBe("judge-1");
    expect(request.body.temperature).toBe(0);
    expect(request.body.messages?.[0]).toEqual({ role: "system", content: JUDGE_SYSTEM_PROMPT });
    expect(request.body.messages?.[1]?.content).toContain("[Reference answer]\nParis");
  });

  it("retries 503 and 429 with backoff, then succeeds", async () => {
    server = await startChatServer([
      { status: 503, raw: "busy" },
      { status: 429, raw: "slow down", headers: { "retry-after": "0" } },
      { content: "Score: 5" },
    ]);
    expect((await judge(server.baseUrl).score(input)).score).toBe(5);
    expect(server.requests).toHaveLength(3);
  });

  it("does not retry a 400 and reports UPSTREAM_HTTP_ERROR with the status", async () => {
    server = await startChatServer([{ status: 400, raw: '{"error":"bad model"}' }]);
    await expect(judge(server.baseUrl).score(input)).rejects.toMatchObject({
      code: "UPSTREAM_HTTP_ERROR",
      details: { status: 400 },
    });
    expect(server.requests).toHaveLength(1);
  });

  it("reports a non-JSON body as UPSTREAM_REPLY_INVALID", async () => {
    server = await startChatServer([{ raw: "<html>proxy error</html>" }]);
    await expect(judge(server.baseUrl).score(input)).rejects.toMatchObject({
      code: "UPSTREAM_REPLY_INVALID",
    });
  });

  it("asks again once when the reply has no score, then reports JUDGE_REPLY_INVALID", async () => {
    server = await startChatServer([{ content: "This is fine." }]);
    await expect(judge(server.baseUrl).score(input)).rejects.toMatchObject({ code: "JUDGE_REPLY_INVALID" });
    expect(server.requests).toHaveLength(2);
  });

  it("times out slow replies and reports UPSTREAM_TIMEOUT after the retries", async () => {
    server = await startChatServer([{ content: "Score: 1", delayMs: 1500 }]);
    await expect(judge(server.baseUrl, { timeoutMs: 150, maxRetries: 1 }).score(input)).rejects.toMatchObject(
      {
        code: "UPSTREAM_TIMEOUT",
        details: { attempts: 2 },
      },
    );
  });

  it("reports a refused connection as UPSTREAM_CONNECTION_FAILED", async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await expect(judge(`http://127.0.0.1:${port}/v1`, { maxRetries: 1 }).score(input)).rejects.toMatchObject({
      code: "UPSTREAM_CONNECTION_FAILED",
    });
  });

  it("scores batches with bounded concurrency and keeps the order", async () => {
    server = await startChatServer((request) => ({
      content: `Score: ${request.body.messages?.[1]?.content.match(/#(\d)/)?.[1]}`,
      delayMs: 20,
    }));
    const inputs = Array.from({ length: 9 }, (_, i) => ({ query: `q #${i}`, output: "a" }));
    const scores = await judge(server.baseUrl, { concurrency: 3 }).scoreBatch(inputs);
    expect(scores.map((s) => s.score)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(server.maxInFlight()).toBeLessThanOrEqual(3);
    expect(server.maxInFlight()).toBeGreaterThan(1);
  });

  it("validates its configuration, reporting all problems", () => {
    const result = JUDGE_CONFIG.safeParse({ baseUrl: "", model: "", timeoutMs: 5 });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path[0])).toEqual(["baseUrl", "model", "timeoutMs"]);
  });

  it("rejects non-http base URLs with CONFIG_INVALID", async () => {
    await expect(judge("ftp://x").score(input)).rejects.toMatchObject({ code: "CONFIG_INVALID" });
  });
});
