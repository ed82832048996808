/**
 * The devnet end to end, with real processes (anvil, two workers, the gateway), real SQLite and real
 * HTTP on loopback: the official OpenAI SDK against the gateway, JSON and streaming; every receipt
 * verifies client-side and then proves its inclusion against the on-chain batch root; retries with an
 * idempotency key get the same answer; hostile input gets specific errors and records nothing.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicClientFor } from "../../src/chain/deploy.ts";
import type { Devnet } from "../../src/node/devnet/devnet.ts";
import { spawnRole, startDevnet, stopProcess } from "../../src/node/devnet/devnet.ts";
import {
  type AnswerReceipt,
  checkAnswerReceipt,
  includedOnChain,
} from "../../src/node/devnet/receiptCheck.ts";
import { writeKeyFile } from "../../src/node/keys.ts";
import { signRoleMessage } from "../../src/node/roleAuth.ts";
import { startUnverifiedGateway, unverifiedGatewayLog } from "../../src/testing/unverifiedGateway.ts";

let devnet: Devnet;
let client: OpenAI;
type Ext = AnswerReceipt & { gatewayOverheadMs: number };

beforeAll(async () => {
  devnet = await startDevnet({
    dir: mkdtempSync(join(tmpdir(), "verinfer-devnet-")),
    workers: 2,
    adversary: "none",
    gatewayPort: 0,
    rpcPort: 0,
    evaluators: 0,
  });
  client = new OpenAI({ baseURL: `${devnet.gatewayUrl}/v1`, apiKey: "unused", maxRetries: 0 });
}, 180_000);

afterAll(() => devnet?.stop());

const network = () => ({ chainId: devnet.deployment.chainId, rollup: devnet.deployment.rollup });
const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
const receiptsStored = async () =>
  Object.values(
    ((await (await fetch(`${devnet.gatewayUrl}/v1/network`)).json()) as { receipts: Record<string, number> })
      .receipts,
  ).reduce((a, b) => a + b, 0);

/** Polls the gateway until the receipt's batch is on chain; returns the receipt record. */
async function posted(requestId: string): Promise<AnswerReceipt> {
  for (let i = 0; i < 100; i++) {
    const a = (await (await fetch(`${devnet.gatewayUrl}/v1/receipts/${requestId}`)).json()) as AnswerReceipt;
    if (a.status === "posted" || a.status === "final") return a;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`receipt ${requestId} was never posted`);
}

describe("devnet: the OpenAI SDK against the gateway", () => {
  it("answers JSON and streaming requests with receipts that verify client-side and prove inclusion on chain", async () => {
    const messages = [{ role: "user" as const, content: "Tell me about rollups." }];
    const r = await client.chat.completions.create({
      model: "verinfer-tiny",
      messages,
      max_tokens: 8,
      seed: 3,
    });
    const ext = (r as unknown as { verinfer: Ext }).verinfer;
    expect(r.choices[0]?.message.role).toBe("assistant");
    expect(r.usage?.completion_tokens).toBeGreaterThan(0);
    expect(ext.status).toBe("provisional");
    expect(checkAnswerReceipt(ext, network()).ok).toBe(true);
    expect(ext.gatewayOverheadMs).toBeGreaterThan(0);

    const s = await client.chat.completions.create({
      model: "verinfer-tiny",
      messages,
      max_tokens: 8,
      seed: 3,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let streamed: Ext | null = null;
    for await (const chunk of s) {
      text += chunk.choices[0]?.delta?.content ?? "";
      const v = (chunk as unknown as { verinfer?: Ext }).verinfer;
      if (v) streamed = v;
    }
    // Same request and seed on the deterministic engine: the same text, its own receipt.
    expect(text).toBe(r.choices[0]?.message.content);
    expect(streamed).not.toBeNull();
    expect(checkAnswerReceipt(streamed as Ext, network()).ok).toBe(true);
    expect((streamed as Ext).requestId).not.toBe(ext.requestId);

    const chain = { public: publicClientFor(devnet.rpcUrl, devnet.deployment.chainId) };
    for (const id of [ext.requestId, (streamed as Ext).requestId]) {
      const a = await posted(id);
      expect(await includedOnChain(chain, devnet.deployment.rollup, a)).toBe(true);
      // A tampered receipt neither verifies nor proves inclusion.
      const tampered = { ...a, receipt: { ...a.receipt, outputTokens: 999 } };
      expect(checkAnswerReceipt(tampered, network()).ok).toBe(false);
      const otherDigest = { ...a, digest: `0x${"11".repeat(32)}` as const };
      expect(await includedOnChain(chain, devnet.deployment.rollup, otherDigest)).toBe(false);
    }
  }, 120_000);

  it("caps a generation at the model's disputable length, so that every receipt it signs can be disputed", async () => {
    // The tiny model's context is 128 positions; its one-step checks fit a block up to 107 (registered
    // as maxDisputePositions): asked for 500 tokens, the worker stops there and the receipt is admitted.
    const identity = (await (await fetch(`${devnet.workers[0]?.url}/v1/identity`)).json()) as {
      maxDisputePositions: number;
    };
    expect(identity.maxDisputePositions).toBe(107);
    const r = await client.chat.completions.create({
      model: "verinfer-tiny",
      messages: [{ role: "user", content: "go on" }],
      max_tokens: 500,
      temperature: 0, // greedy: this random model repeats one piece and never stops on its own
    });
    const receipt = (r as unknown as { verinfer: Ext }).verinfer.receipt as {
      inputTokens: number;
      outputTokens: number;
    };
    expect(receipt.inputTokens + receipt.outputTokens - 1).toBe(107);
    expect(r.choices[0]?.finish_reason).toBe("length");
  }, 60_000);

  it("a retry with the same Idempotency-Key gets the same answer and records one receipt", async () => {
    const body = { messages: [{ role: "user", content: "once" }], max_tokens: 4 };
    const before = await receiptsStored();
    const a = (await (await post(body, { "idempotency-key": "retry-1" })).json()) as { verinfer: Ext };
    const b = (await (await post(body, { "idempotency-key": "retry-1" })).json()) as { verinfer: Ext };
    expect(b.verinfer.requestId).toBe(a.verinfer.requestId);
    expect(b.verinfer.digest).toBe(a.verinfer.digest);
    expect(await receiptsStored()).toBe(before + 1);
  }, 60_000);

  it("refuses hostile input with specific errors and records nothing", async () => {
    const before = await receiptsStored();
    const cases: [unknown, number, string, Record<string, string>?][] = [
      ["{not json", 400, "API_REQUEST_INVALID"],
      [{ messages: [] }, 400, "API_REQUEST_INVALID"],
      [{ messages: [{ role: "user", content: "x" }], n: 2 }, 400, "API_REQUEST_INVALID"],
      [{ messages: [{ role: "user", content: "x" }], temperature: 5 }, 400, "API_REQUEST_INVALID"],
      [{ messages: [{ role: "tool", content: "x" }] }, 400, "API_REQUEST_INVALID"],
      [{ model: "gpt-9", messages: [{ role: "user", content: "x" }] }, 404, "MODEL_NOT_SERVED"],
      [
        { messages: [{ role: "user", content: "x" }] },
        400,
        "API_REQUEST_INVALID",
        { "idempotency-key": "bad key with spaces" },
      ],
      // Longer than the model's 128-token context: the worker refuses it before generating.
      [{ messages: [{ role: "user", content: "y".repeat(300) }] }, 400, "API_REQUEST_INVALID"],
      [
        JSON.stringify({ messages: [{ role: "user", content: "z".repeat(1_100_000) }] }),
        413,
        "INPUT_TOO_LARGE",
      ],
    ];
    for (const [body, status, code, headers] of cases) {
      // The gateway answers an oversized body 413 from its length and closes the connection: a client
      // still writing the body can see the write fail (EPIPE) before it reads the answer. Such a client
      // retries; the answer it reads must still be the 413.
      let response: Response | null = null;
      for (let attempt = 0; response === null; attempt++)
        response = await post(body, headers).catch((e: Error) => {
          if (attempt >= 3 || status !== 413) throw e;
          return null;
        });
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    const missing = await fetch(`${devnet.gatewayUrl}/v1/receipts/0x${"ab".repeat(32)}`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("RECEIPT_NOT_FOUND");
    expect((await fetch(`${devnet.gatewayUrl}/v2/anything`)).status).toBe(404);
    expect(await receiptsStored()).toBe(before);
  }, 60_000);

  it("workers serve only requests signed by their gateway's key", async () => {
    const worker = devnet.workers[0]?.url as string;
    const body = JSON.stringify({
      requestId: `0x${"cd".repeat(32)}`,
      messages: [{ role: "user", content: "hi" }],
      params: { temperature: 0, topP: 1, maxTokens: 2, stop: [] },
      seed: 1,
    });
    const send = (headers: Record<string, string>) =>
      fetch(`${worker}/v1/infer`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });
    const unsigned = await send({});
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { error: { code: string } }).error.code).toBe("NODE_AUTH_INVALID");
    const stranger = await send(
      signRoleMessage(devnet.keys[5] as `0x${string}`, "POST", "/v1/infer", body, Date.now()),
    );
    expect(stranger.status).toBe(401);
    const stale = await send(
      signRoleMessage(devnet.keys[0] as `0x${string}`, "POST", "/v1/infer", body, Date.now() - 600_000),
    );
    expect(stale.status).toBe(401);
    const signed = await send(
      signRoleMessage(devnet.keys[0] as `0x${string}`, "POST", "/v1/infer", body, Date.now()),
    );
    expect(signed.status).toBe(200);
    expect(await signed.text()).toMatch(/"done":true/);
  }, 60_000);

  it("exposes health, readiness and Prometheus metrics on every role", async () => {
    const roles = [
      devnet.gatewayUrl,
      ...devnet.workers.map((w) => w.url),
      ...[devnet.fisherman, ...devnet.evaluators, devnet.settler].flatMap((p) => (p ? [p.url] : [])),
    ];
    for (const url of roles) {
      // A follower is ready once a pass has gone through: within a poll or two of its start.
      let ready = await fetch(`${url}/ready`);
      for (let i = 0; i < 20 && ready.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 250));
        ready = await fetch(`${url}/ready`);
      }
      expect(await ready.json(), url).toEqual({ ready: true });
    }
    const metrics = await (await fetch(`${devnet.gatewayUrl}/metrics`)).text();
    expect(metrics).toMatch(/verinfer_gateway_overhead_seconds_bucket/);
    expect(metrics).toMatch(/verinfer_gateway_requests_total\{outcome="served"\} [1-9]/);
    const health = (await (await fetch(`${devnet.workers[0]?.url}/health`)).json()) as { ok: boolean };
    expect(health.ok).toBe(true);
    expect(await (await fetch(`${devnet.workers[0]?.url}/metrics`)).text()).toMatch(
      /verinfer_worker_requests_total/,
    );
  }, 30_000);

  it("logs no prompt, no answer and no key at the nodes' default level", async () => {
    const prompt = "a question that stays out of every log, qz7xv";
    const r = await client.chat.completions.create({
      model: "verinfer-tiny",
      messages: [{ role: "user", content: prompt }],
      max_tokens: 12,
      seed: 5, // the engine is deterministic: the same answer, long enough to look for, every run
    });
    const answer = r.choices[0]?.message.content ?? "";
    // Once its batch is on chain every node has logged what it logs about this request.
    await posted((r as unknown as { verinfer: Ext }).verinfer.requestId);
    const logDir = join(devnet.dir, "logs");
    const logs = readdirSync(logDir)
      .map((f) => readFileSync(join(logDir, f), "utf8"))
      .join("\n");
    expect(logs).toMatch(/"msg":"batch posted"/); // the nodes did log at info level
    expect(logs).not.toContain(prompt);
    expect(answer.length).toBeGreaterThan(8);
    expect(logs).not.toContain(JSON.stringify(answer).slice(1, -1));
    // Every key the devnet wrote (accounts, enclave keys, the dev TEE's signing keys).
    const keyFiles = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? keyFiles(join(dir, e.name)) : e.name.endsWith(".key") ? [join(dir, e.name)] : [],
      );
    const keys = keyFiles(devnet.dir).map((f) => readFileSync(f, "utf8").trim().replace(/^0x/, ""));
    expect(keys.length).toBeGreaterThan(5);
    for (const key of keys) expect(logs.toLowerCase()).not.toContain(key.toLowerCase());
  }, 60_000);

  it("a gateway with verification off (the bench's baseline) says so, answers without a receipt and records nothing", async () => {
    const baseline = await startUnverifiedGateway(devnet);
    try {
      const health = (await (await fetch(`${baseline.url}/health`)).json()) as { verification: string };
      expect(health.verification).toBe("none");
      const r = await fetch(`${baseline.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: 4 }),
      });
      const answer = (await r.json()) as { choices: { message: { content: string } }[]; verinfer: unknown };
      expect(r.status).toBe(200);
      expect(answer.choices[0]?.message.content.length).toBeGreaterThan(0);
      expect(answer.verinfer).toBeNull();
      const counts = (await (await fetch(`${baseline.url}/v1/network`)).json()) as {
        receipts: Record<string, number>;
      };
      expect(Object.values(counts.receipts).every((n) => n === 0)).toBe(true);
      expect(readFileSync(unverifiedGatewayLog(devnet), "utf8")).toMatch(/verification is off/);
    } finally {
      await stopProcess(baseline.child);
    }
  }, 60_000);

  it("a crew of two fishermen splits the receipts: each re-executes its share, together every one", async () => {
    // Two more fishermen, from anvil's spare dev keys, in a crew of two sharing one secret.
    const dir = join(devnet.dir, "crew");
    mkdirSync(dir);
    const crewKeyFile = join(dir, "crew.key");
    writeKeyFile(crewKeyFile, `0x${"5a".repeat(32)}`);
    const base = JSON.parse(readFileSync(devnet.fisherman?.config as string, "utf8")) as {
      fisherman: Record<string, unknown>;
    };
    const members = await Promise.all(
      [0, 1].map(async (member) => {
        const dataDir = join(dir, `member-${member}`);
        mkdirSync(dataDir);
        const keyFile = join(dataDir, "account.key");
        writeKeyFile(keyFile, devnet.keys[5 + member] as `0x${string}`);
        const config = join(dir, `member-${member}.json`);
        const fisherman = {
          ...base.fisherman,
          dataDir,
          keyFile,
          crewSize: 2,
          crewMember: member,
          crewKeyFile,
        };
        writeFileSync(config, JSON.stringify({ fisherman }));
        return { dataDir, process: await spawnRole("fisherman", config, join(dir, `member-${member}.log`)) };
      }),
    );
    try {
      const answers = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          client.chat.completions.create({
            model: "verinfer-tiny",
            messages: [{ role: "user", content: `crew ${i}` }],
            max_tokens: 4,
          }),
        ),
      );
      // This test's receipts, posted in batches both members go through after the earlier tests' (those
      // may be past their windows by now: "late" to both).
      const ours: string[] = [];
      for (const a of answers) {
        const p = await posted((a as unknown as { verinfer: Ext }).verinfer.requestId);
        ours.push(`${p.batch}/${p.position}`);
      }
      type Row = { batch: number; position: number; verdict: string };
      const verdicts = (dataDir: string): Map<string, string> => {
        const db = new Database(join(dataDir, "fisherman.sqlite"), { readonly: true });
        try {
          const rows = db.prepare("SELECT batch, position, verdict FROM checked").all() as Row[];
          return new Map(rows.map((r) => [`${r.batch}/${r.position}`, r.verdict]));
        } finally {
          db.close();
        }
      };
      const deadline = Date.now() + 60_000;
      let seen = members.map((m) => verdicts(m.dataDir));
      while (seen.some((v) => ours.some((r) => !v.has(r))) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        seen = members.map((m) => verdicts(m.dataDir));
      }
      const [first, second] = seen as [Map<string, string>, Map<string, string>];
      // Each of ours was re-executed (and agreed with: every worker is honest) by exactly one member.
      for (const r of ours) expect([first.get(r), second.get(r)].sort(), r).toEqual(["agrees", "crew"]);
      const own = ours.filter((r) => first.get(r) === "agrees").length;
      expect(own).toBeGreaterThan(0);
      expect(own).toBeLessThan(ours.length);
      // And no receipt at all was re-executed by both, or skipped by both (each samples all its share).
      for (const [r, verdict] of first) {
        const pair = [verdict, second.get(r)].sort().join(" ");
        expect(["agrees crew", "late late", "stale stale"], r).toContain(pair);
      }
      const sampling = (await (await fetch(`${members[0]?.process.url}/v1/disputes`)).json()) as {
        sampling: { crew: { size: number; member: number } };
      };
      expect(sampling.sampling.crew).toEqual({ size: 2, member: 0 });
    } finally {
      await Promise.all(members.map((m) => stopProcess(m.process.child)));
    }
  }, 120_000);
});
