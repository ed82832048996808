/**
 * A devnet serving a GGUF model (issue: "`--model` takes ... a GGUF"; "llama-cpp for GGUF models with
 * the dispute limits documented"): workers on llama.cpp answer through the gateway with attested,
 * signed receipts bound to the GGUF file (its keccak256) and llama.cpp's engine measurement; the
 * receipts are posted, proven included and become final, and evaluators score them from the GGUF's
 * vocabulary (the epochs that pay them are the same as any model's: test/e2e/epochs.test.ts); one
 * evaluator also asks the network itself to judge, and never judges the judge's own requests. The
 * limit: llama.cpp records no execution trace, so
 * the model is registered without steps per position and the dispute game refuses to open a game over
 * its receipts (ModelNotVerifiable) — no fisherman runs, and no cheat can be played.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientsFor, publicClientFor } from "../../src/chain/deploy.ts";
import { disputeGameAbi, registryAbi } from "../../src/chain/generated/contracts.ts";
import { revertReason } from "../../src/chain/revert.ts";
import { toGguf } from "../../src/engine/gguf/ggufWriter.ts";
import { PRESETS } from "../../src/engine/llama2c/generateModel.ts";
import { loadLlama2c, writeGeneratedModel } from "../../src/engine/llama2c/modelFiles.ts";
import { ggufFileHash } from "../../src/engine/llamaCpp/llamaCppEngine.ts";
import { runDemo } from "../../src/node/devnet/demo.ts";
import { type Devnet, startDevnet } from "../../src/node/devnet/devnet.ts";
import { LLAMA_CPP_ENGINE_HASH } from "../../src/node/services/worker/workerService.ts";
import type { Hex } from "../../src/protocol/encoding/hex.ts";
import { validateSignedReceipt } from "../../src/protocol/receipt/receipt.ts";

const dir = mkdtempSync(join(tmpdir(), "verinfer-gguf-"));
let devnet: Devnet;
let gguf: string;

beforeAll(async () => {
  // The tiny shape with a context that holds an LLM judge's request (its rubric is ~1,000 tokens).
  const { model } = writeGeneratedModel(
    join(dir, "tiny.bin"),
    { ...(PRESETS.tiny as NonNullable<typeof PRESETS.tiny>), seqLen: 2048 },
    7,
  );
  const m = loadLlama2c(model);
  gguf = join(dir, "tiny.gguf");
  writeFileSync(gguf, toGguf(m.checkpoint, m.tokenizer, "verinfer-tiny"));
  devnet = await startDevnet({
    dir: join(dir, "devnet"),
    workers: 2,
    model: gguf,
    adversary: "none",
    gatewayPort: 0,
    rpcPort: 0,
    evaluators: 3,
    // As on a machine without the datasets: the evaluators score structure and lexical alignment only.
    dataDir: null,
    // The first evaluator also asks this network itself to judge (issue: "the LLM judge over any
    // OpenAI-compatible endpoint, the network itself included").
    judges: 1,
  });
}, 180_000);

afterAll(() => devnet?.stop());

describe("devnet on a GGUF model (llama.cpp workers)", () => {
  it("serves, posts, finalizes and scores receipts bound to the GGUF file; the dispute game refuses them", async () => {
    expect(devnet.fisherman).toBeNull();
    const d = devnet.deployment;
    // A receipt inside its challenge window: it names llama.cpp and the GGUF file's hash, and has no trace.
    const served = (await (
      await fetch(`${devnet.gatewayUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: "Tell me about GGUF." }], max_tokens: 6 }),
      })
    ).json()) as { choices: { message: { content: string } }[]; verinfer: { requestId: string } };
    expect(served.choices[0]?.message.content.length).toBeGreaterThan(0);
    let answer: {
      receipt: unknown;
      signature: Hex;
      status: string;
      batch: number;
      position: number;
      proof: Hex[];
    };
    do {
      await new Promise((done) => setTimeout(done, 200));
      answer = (await (
        await fetch(`${devnet.gatewayUrl}/v1/receipts/${served.verinfer.requestId}`)
      ).json()) as typeof answer;
    } while (answer.status === "provisional" || answer.status === "sealed");
    expect(answer.status).toBe("posted");
    const signed = validateSignedReceipt({ receipt: answer.receipt, signature: answer.signature });
    if (!signed.ok) throw new Error(signed.error.message);
    const r = signed.value.receipt;
    expect(r.engineHash).toBe(LLAMA_CPP_ENGINE_HASH);
    expect(r.weightsHash).toBe(ggufFileHash(gguf));
    expect(r.traceRoot).toBe(`0x${"00".repeat(32)}`);

    // Registered without steps per position: not disputable, and the dispute game says so.
    const chain = publicClientFor(devnet.rpcUrl, d.chainId);
    const [weightsHash, steps] = (await chain.readContract({
      address: d.registry,
      abi: registryAbi,
      functionName: "models",
      args: [r.modelId],
    })) as readonly [string, number, number, boolean];
    expect(weightsHash).toBe(r.weightsHash);
    expect(steps).toBe(0);
    const challenger = clientsFor(devnet.rpcUrl, d.chainId, devnet.keys[8] as Hex);
    const { chainId: _c, settlement: _s, ...struct } = r;
    const refused = await challenger.public
      .simulateContract({
        account: challenger.wallet.account,
        address: d.disputeGame as Hex,
        abi: disputeGameAbi,
        functionName: "challenge",
        args: [BigInt(answer.batch), answer.position, struct, answer.signature, answer.proof],
        value: 10n ** 18n,
      } as never)
      .then(
        () => "accepted",
        (e: unknown) => revertReason(e) ?? String(e),
      );
    expect(refused).toMatch(/^ModelNotVerifiable/);

    // The demo's requests: every receipt verifies, is proven included and becomes final.
    const demo = await runDemo(devnet.gatewayUrl, d, { requests: 4, log: () => {} });
    expect(demo.cheat).toBeNull();
    expect(demo.allReceiptsValid).toBe(true);
    expect(demo.allIncluded).toBe(true);
    expect(demo.allFinal).toBe(true);
    expect(demo.requests.every((q) => q.text.length > 0)).toBe(true);

    // Evaluators render the served tokens with the GGUF's vocabulary and score them (none unavailable,
    // none withheld: the worker shows each output it served).
    const scores = async () => {
      const all = await Promise.all(
        devnet.evaluators.slice(1).map(
          async (e) =>
            (await (await fetch(`${e.url}/v1/scores`)).json()) as {
              epochs: { scored: number; unavailable: number; withheld: number }[];
            },
        ),
      );
      const rows = all.flatMap((x) => x.epochs);
      return {
        scored: rows.reduce((n, x) => n + x.scored, 0),
        unavailable: rows.reduce((n, x) => n + x.unavailable, 0),
        withheld: rows.reduce((n, x) => n + x.withheld, 0),
      };
    };
    let tally = await scores();
    for (let i = 0; i < 120 && tally.scored < demo.requests.length; i++) {
      await new Promise((done) => setTimeout(done, 500));
      tally = await scores();
    }
    expect(tally.scored).toBeGreaterThanOrEqual(demo.requests.length);
    expect(tally.unavailable).toBe(0);
    expect(tally.withheld).toBe(0);
    expect(readFileSync(join(devnet.dir, "logs", "evaluator-2.log"), "utf8")).toContain(
      '"evaluator":"structure+alignment:chrf"',
    );

    // The judging evaluator asked the network: each client receipt it was sampled for (all: k ≥ 3) cost
    // two judge requests (an answer without a score is asked once more; the generated model cannot
    // follow the rubric, so no reply holds one), each a receipt of its own. Those it never judges (no
    // call: the loop a judge on its own network would make), so the gateway's receipts stop growing.
    const notes = () =>
      readFileSync(join(devnet.dir, "logs", "evaluator-1.log"), "utf8")
        .split("\n")
        .filter((l) => l.includes('"receipt scored"'))
        .map((l) => (JSON.parse(l) as { note: string }).note);
    const clientReceipts = 1 + demo.requests.length;
    const judged = () => notes().filter((n) => n.includes("JUDGE_REPLY_INVALID")).length;
    const declined = () => notes().filter((n) => n.includes("JUDGE_REQUEST_NOT_JUDGED")).length;
    for (let i = 0; i < 120 && (judged() < clientReceipts || declined() < 2 * clientReceipts); i++)
      await new Promise((done) => setTimeout(done, 500));
    expect(readFileSync(join(devnet.dir, "logs", "evaluator-1.log"), "utf8")).toContain(
      '"evaluator":"structure+alignment:chrf+llm-judge"',
    );
    expect(judged()).toBe(clientReceipts);
    expect(declined()).toBe(2 * clientReceipts);
    const receipts = async () => {
      const n = (await (await fetch(`${devnet.gatewayUrl}/v1/network`)).json()) as {
        receipts: Record<string, number>;
      };
      return Object.values(n.receipts).reduce((a, b) => a + b, 0);
    };
    expect(await receipts()).toBe(3 * clientReceipts);
    await new Promise((done) => setTimeout(done, 3000));
    expect(await receipts()).toBe(3 * clientReceipts);
    expect(notes()).toHaveLength(3 * clientReceipts);
  }, 300_000);
});
