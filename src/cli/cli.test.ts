import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnvil } from "../chain/anvil.ts";
import { becomeSequencer } from "../chain/clients.ts";
import { clientsFor, coreParamsOf, deployCore } from "../chain/deploy.ts";
import { writeKeyFile } from "../node/keys.ts";
import { DEVNET_OTR_PARAMS } from "../protocol/params/otr.ts";
import { jsonText } from "../report/json.ts";
import { type ChatServer, startChatServer } from "../testing/chatServer.ts";
import { cli } from "../testing/cli.ts";
import { DATA_DIR, itWithData, tempFile } from "../testing/sharedData.ts";

const squad = (f: string) => join(DATA_DIR ?? "", "squad-v1.1", f);

describe("verinfer CLI: help and usage errors", () => {
  it("prints help for the root, groups and commands", async () => {
    expect((await cli("--help")).stdout).toMatch(/Commands:[\s\S]*eval \.\.\.[\s\S]*evaluators \.\.\./);
    expect((await cli("eval", "--help")).stdout).toMatch(/audit[\s\S]*squad[\s\S]*rouge/);
    const audit = await cli("eval", "audit", "--help");
    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(/--task VALUE[\s\S]*one of: qa, summarization, sts, chat[\s\S]*--json/);
    expect((await cli("--version")).stdout).toBe("verinfer 0.1.0\n");
  });

  it("rejects unknown commands, unknown options, missing and invalid values with exit code 2 and one line", async () => {
    const REGISTER = [
      ...["node", "register", "--deployment", "d.json", "--worker", "http://127.0.0.1:1"],
      ...["--operator-key-file", "o.key", "--attester-key-file", "a.key"],
    ];
    for (const argv of [
      ["nope"],
      ["eval", "nope"],
      ["eval", "squad"],
      ["eval", "squad", "--predictions", "x", "--bogus"],
      ["eval", "audit", "--task", "poetry"],
      ["eval", "audit", "--task", "qa", "--bootstrap", "abc"],
      ["eval", "audit", "--task", "qa", "--bootstrap", "1.5"],
      ["eval", "audit", "--task", "qa", "--limit-prompts", "1"],
      ["eval", "rouge", "--references", "a", "--predictions", "b", "extra"],
      // An attester must pin roots; production accepts NVIDIA hardware only.
      REGISTER,
      [...REGISTER, "--dev-root", "r.pem", "--policy", "production"],
      [...REGISTER, "--nvidia-roots", "roots", "--policy", "lenient"],
    ]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr, argv.join(" ")).toMatch(/^verinfer: error \[CLI_USAGE\] .+\n$/);
      expect(r.stdout).toBe("");
    }
  });

  it("checks a role's flags with its config schema: fee ceiling and re-send period included", async () => {
    const r = await cli("node", "fisherman", "--resend-after-seconds", "0", "--max-fee-gwei", "abc");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^verinfer: error \[CONFIG_INVALID\] invalid fisherman configuration: .*maxFeeGwei: .*; resendAfterSeconds: .*\n$/,
    );
  });

  it("reports file problems as one line with their code and exit 1, stack only with --verbose", async () => {
    const missing = await cli(
      "eval",
      "rouge",
      "--references",
      "/nonexistent",
      "--predictions",
      "/nonexistent",
    );
    expect(missing).toMatchObject({ code: 1, stdout: "" });
    expect(missing.stderr).toBe("verinfer: error [FILE_NOT_FOUND] file not found: /nonexistent\n");
    const notUtf8 = tempFile("p.txt", Uint8Array.from([0xff, 0xfe, 0x0a]));
    const bad = await cli("eval", "rouge", "--references", notUtf8, "--predictions", notUtf8, "--verbose");
    expect(bad.stderr).toMatch(/^verinfer: error \[FILE_NOT_UTF8\] .*\n\s*VerinferError/);
  });
});

describe("verinfer eval squad / rouge", () => {
  itWithData(
    "eval squad --json reproduces the official scores",
    ["squad-v1.1/predictions/bert-ensemble.json"],
    async () => {
      const r = await cli(
        "eval",
        "squad",
        "--predictions",
        squad("predictions/bert-ensemble.json"),
        "--json",
      );
      expect(r.code).toBe(0);
      const json = JSON.parse(r.stdout);
      expect(json.exact_match.toFixed(4)).toBe("86.2062");
      expect(json.f1.toFixed(4)).toBe("92.1956");
      const human = await cli(
        "eval",
        "squad",
        "--predictions",
        squad("predictions/logistic-regression-baseline.json"),
      );
      expect(human.stdout).toMatch(
        /exact_match {2}40\.1419\nf1 {11}50\.9815\n10570 questions, 10585 predictions, 13 missing/,
      );
    },
  );

  itWithData(
    "eval squad rejects a malformed predictions file",
    ["squad-v1.1/dev-v1.1.reconstructed.json"],
    async () => {
      const r = await cli("eval", "squad", "--predictions", tempFile("p.json", '{"a": 1}'));
      expect(r).toMatchObject({ code: 1, stdout: "" });
      expect(r.stderr).toMatch(
        /\[DATASET_MALFORMED\] p\.json: prediction for question a must be a string, got number/,
      );
    },
  );

  itWithData(
    "eval rouge --json reproduces the fixture, line-aligned and whole-file",
    ["rouge-fixture/expected.json"],
    async () => {
      const dir = join(DATA_DIR ?? "", "rouge-fixture");
      const lines = JSON.parse(
        (
          await cli(
            "eval",
            "rouge",
            "--references",
            join(dir, "target.txt"),
            "--predictions",
            join(dir, "prediction.txt"),
            "--stem",
            "--json",
          )
        ).stdout,
      );
      expect(lines.pairs).toBe(2);
      expect(lines.per_pair[1].rouge1.fmeasure.toFixed(5)).toBe("0.52941");
      const whole = JSON.parse(
        (
          await cli(
            "eval",
            "rouge",
            "--references",
            join(dir, "target_multi.0.txt"),
            "--predictions",
            join(dir, "prediction_multi.0.txt"),
            "--whole-file",
            "--stem",
            "--json",
          )
        ).stdout,
      );
      expect(whole.per_pair[0].rougeLsum.fmeasure.toFixed(5)).toBe("0.47205");
      const mismatch = await cli(
        "eval",
        "rouge",
        "--references",
        join(dir, "target.txt"),
        "--predictions",
        join(dir, "prediction_multi.0.txt"),
      );
      expect(mismatch.code).toBe(1);
      expect(mismatch.stderr).toMatch(
        /\[INPUT_INVALID\] --references has 2 lines but --predictions has \d+; files must be line-aligned/,
      );
    },
  );
});

describe("verinfer eval winrate", () => {
  itWithData(
    "reproduces the AlpacaEval leaderboard win rates",
    ["alpaca-eval/leaderboard_weighted_alpaca_eval_gpt4_turbo.csv"],
    async () => {
      const rows = JSON.parse((await cli("eval", "winrate", "--json")).stdout) as {
        generator: string;
        winRate: number;
        leaderboardWinRate: number;
      }[];
      expect(rows).toHaveLength(3);
      for (const r of rows) expect(r.winRate, r.generator).toBeCloseTo(r.leaderboardWinRate, 8);
      const bad = await cli("eval", "winrate", "--judged", tempFile("j.jsonl", '{"idx": 0}\n'));
      expect(bad.stderr).toMatch(/\[DATASET_MALFORMED\] j\.jsonl line 1: field generator/);
    },
  );
});

describe("verinfer evaluators", () => {
  it("lists evaluators as a table and as JSON", async () => {
    expect((await cli("evaluators", "list")).stdout).toMatch(/token-f1 +lexical +reference/);
    const json = JSON.parse((await cli("evaluators", "list", "--json")).stdout);
    expect(json.map((e: { name: string }) => e.name)).toContain("llm-judge");
  });

  it("scores one output, a JSONL file, and rejects unknown evaluators and missing references", async () => {
    const one = JSON.parse(
      (
        await cli(
          "evaluators",
          "score",
          "--evaluator",
          "token-f1",
          "--output",
          "The Broncos",
          "--reference",
          "Denver Broncos",
          "--json",
        )
      ).stdout,
    );
    expect(one.scores[0].score).toBeCloseTo((10 * 2 * 0.5 * 1) / 1.5, 9);
    const file = tempFile(
      "in.jsonl",
      '{"query": "q", "output": "a b", "reference": ["a b"]}\n{"output": "", "reference": "x"}\n',
    );
    const many = JSON.parse(
      (await cli("evaluators", "score", "--evaluator", "rouge-l", "--input", file, "--json")).stdout,
    );
    expect(many.scores.map((s: { score: number }) => s.score)).toEqual([10, 0]);
    const unknown = await cli("evaluators", "score", "--evaluator", "bleurt", "--output", "x");
    expect(unknown.stderr).toMatch(/\[EVALUATOR_UNKNOWN\] unknown evaluator "bleurt"; known: token-f1/);
    const noRef = await cli("evaluators", "score", "--evaluator", "chrf", "--output", "x");
    expect(noRef.stderr).toMatch(/\[EVALUATOR_REFERENCE_REQUIRED\]/);
    const both = await cli("evaluators", "score", "--evaluator", "chrf", "--output", "x", "--input", file);
    expect(both.code).toBe(2);
    const noModel = await cli(
      "evaluators",
      "score",
      "--evaluator",
      "bi-encoder",
      "--output",
      "x",
      "--reference",
      "y",
    );
    expect(noModel.stderr).toMatch(
      /\[EVALUATOR_MODEL_INVALID\] evaluator bi-encoder needs reference, --bi-encoder DIR/,
    );
    const noJudge = await cli("evaluators", "score", "--evaluator", "llm-judge", "--output", "x");
    expect(noJudge.stderr).toMatch(
      /\[CONFIG_INVALID\] invalid LLM judge configuration: baseUrl: .*; model: /,
    );
  });
});

describe("verinfer eval audit", () => {
  let server: ChatServer;
  beforeAll(async () => {
    server = await startChatServer([{ content: "Reasonable.\nScore: 6" }]);
  });
  afterAll(() => server.close());

  itWithData(
    "audits a task with --json and --html (plots inline, no network)",
    ["stsbenchmark/sts-test.csv"],
    async () => {
      const html = tempFile("audit.html", "");
      const r = await cli(
        "eval",
        "audit",
        "--task",
        "sts",
        "--evaluators",
        "token-f1,tfidf",
        "--bootstrap",
        "50",
        "--html",
        html,
        "--json",
      );
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({
        kind: "verinfer.evaluator-audit",
        task: "sts",
        items: 1379,
        seed: 1,
        bootstrapResamples: 50,
      });
      expect(report.provenance.gitRevision).toMatch(/^[0-9a-f]{40}$/);
      const tfidf = report.evaluators.find((e: { name: string }) => e.name === "tfidf").correlations
        .similarity.pooled;
      expect(tfidf.pearson.value).toBeGreaterThan(0.6);
      expect(tfidf.pearson.low).toBeLessThan(tfidf.pearson.value);
      const page = readFileSync(html, "utf8");
      expect(page).toMatch(/<svg[\s\S]*<circle[\s\S]*<\/html>/);
      expect(page).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    },
    60_000,
  );

  itWithData(
    "audits and calibrates on a user's own judgments file, described from what it read",
    ["summeval/summeval_expert.jsonl"],
    async (summevalPath) => {
      // SummEval rewritten in the documented judgments schema, relevance on a 0–100 scale.
      const lines = readFileSync(summevalPath, "utf8").trim().split("\n");
      const rows = lines.flatMap((line) => {
        const doc = JSON.parse(line);
        return doc.summaries.map(
          (s: { system: string; summary: string; expert_scores: Record<string, number> }) =>
            JSON.stringify({
              id: doc.doc_id,
              system: s.system,
              summary: s.summary,
              references: doc.references,
              source: doc.source,
              human: {
                relevance_pct: 20 * (s.expert_scores.relevance as number),
                fluency: s.expert_scores.fluency,
              },
            }),
        );
      });
      const file = tempFile("judgments.jsonl", `${rows.join("\n")}\n`);
      const audit = await cli(
        "eval",
        "audit",
        "--task",
        "summarization",
        "--judgments",
        file,
        "--evaluators",
        "token-f1,tfidf",
        "--bootstrap",
        "20",
        "--json",
      );
      expect(audit.code).toBe(0);
      const report = JSON.parse(audit.stdout);
      expect(report.description).toBe(
        `${file}: 1600 summaries of 16 systems for 100 documents, 11–11 references each; human fluency (${report.truths[0].description.match(/observed (.*)\)/)[1]}), relevance_pct (20–100)`,
      );
      expect(report.truths.map((t: { name: string }) => t.name)).toEqual([
        "fluency",
        "relevance_pct",
        "token_f1",
      ]);
      expect(report.sources).toEqual([file]);
      // The same data through the built-in SummEval path gives the same correlations (Pearson ignores scale).
      const builtin = JSON.parse(
        (
          await cli(
            "eval",
            "audit",
            "--task",
            "summarization",
            "--evaluators",
            "token-f1,tfidf",
            "--bootstrap",
            "20",
            "--json",
            "--limit-prompts",
            "100",
          )
        ).stdout,
      );
      expect(builtin.description).toMatch(
        /^SummEval \(CNN\/DailyMail\): 1600 summaries of 16 systems for 100 documents/,
      );
      const calibrate = await cli(
        "poq",
        "calibrate",
        "--task",
        "summarization",
        "--judgments",
        file,
        "--truth",
        "relevance_pct",
        "--evaluators",
        "token-f1,tfidf",
        "--dimension-scorer",
        "tfidf",
        "--bootstrap",
        "50",
        "--json",
      );
      expect(calibrate.code).toBe(0);
      const c = JSON.parse(calibrate.stdout);
      expect(c).toMatchObject({ truth: "relevance_pct", calibrationItems: expect.any(Number) });
      expect(c.calibrationItems + c.heldOutItems).toBe(1600);
      // Bad files: the line and field are named; --judgments is for summarization only.
      const bad = tempFile(
        "bad.jsonl",
        `${rows[0]}\n${JSON.stringify({ ...JSON.parse(rows[1] as string), human: { relevance_pct: 5 } })}\n`,
      );
      expect((await cli("eval", "audit", "--task", "summarization", "--judgments", bad)).stderr).toMatch(
        /\[DATASET_MALFORMED\] .*line 2: field human has relevance_pct; line 1 has fluency, relevance_pct/,
      );
      const missing = tempFile(
        "missing.jsonl",
        `${JSON.stringify({ id: "d", system: "s", summary: "x", human: { q: 1 } })}\n`,
      );
      expect((await cli("eval", "audit", "--task", "summarization", "--judgments", missing)).stderr).toMatch(
        /\[DATASET_MALFORMED\] .*line 1.*references/,
      );
      expect(await cli("eval", "audit", "--task", "qa", "--judgments", file)).toMatchObject({
        code: 2,
        stderr: expect.stringMatching(/--judgments is for --task summarization/),
      });
    },
    120_000,
  );

  itWithData(
    "samples prompts with --limit-prompts and keeps every system's output per prompt",
    ["squad-v1.1/dev-v1.1.reconstructed.json"],
    async () => {
      const argv = [
        "eval",
        "audit",
        "--task",
        "qa",
        "--evaluators",
        "token-f1,structure",
        "--limit-prompts",
        "40",
        "--bootstrap",
        "20",
        "--json",
      ];
      const report = JSON.parse((await cli(...argv)).stdout);
      expect(report).toMatchObject({ items: 200, prompts: 40 });
      expect(report.evaluators[0].correlations.f1.pooled.pearson.value).toBeCloseTo(1, 12);
      expect(report.evaluators[0].correlations.f1.system.n).toBe(5);
      const again = JSON.parse((await cli(...argv)).stdout);
      // Everything but the measured timings is reproducible from the seed.
      const stable = (evaluators: Record<string, unknown>[]) =>
        evaluators.map(({ meanCostMs: _c, scoresPerSecond: _s, ...rest }) => rest);
      expect(stable(again.evaluators)).toEqual(stable(report.evaluators));
    },
    60_000,
  );

  itWithData(
    "audits chat outputs with an LLM judge served over HTTP on loopback",
    ["alpaca-eval/judged_gemma-2b-it.jsonl"],
    async () => {
      const r = await cli(
        "eval",
        "audit",
        "--task",
        "chat",
        "--evaluators",
        "llm-judge",
        "--judge-url",
        server.baseUrl,
        "--judge-model",
        "m",
        "--limit-prompts",
        "4",
        "--bootstrap",
        "10",
        "--json",
      );
      expect(r.code).toBe(0);
      const judge = JSON.parse(r.stdout).evaluators[0];
      expect(judge).toMatchObject({ name: "llm-judge", scored: 12, failed: 0, meanScore: 6 });
      expect(server.requests.length).toBeGreaterThanOrEqual(12);
    },
    60_000,
  );

  itWithData(
    "fails, saying why, when an evaluator asked for by name scores nothing",
    ["alpaca-eval/judged_gemma-2b-it.jsonl"],
    async () => {
      const tooSmall = await startChatServer([
        { status: 400, raw: '{"error":{"message":"the request exceeds the context size"}}' },
      ]);
      try {
        const args = [
          "eval",
          "audit",
          "--task",
          "chat",
          "--judge-url",
          tooSmall.baseUrl,
          "--judge-model",
          "m",
        ];
        const r = await cli(
          ...args,
          "--evaluators",
          "llm-judge,token-f1",
          "--limit-prompts",
          "2",
          "--bootstrap",
          "10",
        );
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(
          /error: llm-judge could not score 6 of 6 outputs \(none scored: its correlations are n\/a\); first failure: \[UPSTREAM_HTTP_ERROR\] .*exceeds the context size/,
        );
        expect(r.stdout).toMatch(/llm-judge/);
      } finally {
        await tooSmall.close();
      }
    },
    60_000,
  );
});

describe("the verinfer executable", () => {
  it("runs through bin/verinfer.mjs with exit codes", () => {
    const bin = join(import.meta.dirname, "../../bin/verinfer.mjs");
    expect(execFileSync(process.execPath, [bin, "--version"], { encoding: "utf8" })).toBe("verinfer 0.1.0\n");
    const failed = spawnSync(process.execPath, [bin, "eval", "squad"], { encoding: "utf8" });
    expect(failed.status).toBe(2);
    expect(failed.stderr).toMatch(/missing required option --predictions/);
  });

  it("a gateway or settler that cannot post, or cannot listen, exits at once with CONFIG_INVALID (its started timers do not hold it)", async () => {
    const bin = join(import.meta.dirname, "../../bin/verinfer.mjs");
    const dir = mkdtempSync(join(tmpdir(), "verinfer-taken-"));
    const chain = await startAnvil();
    const taken = createServer();
    try {
      const key = chain.keys[0] as `0x${string}`;
      const owner = clientsFor(chain.rpcUrl, chain.chainId, key);
      const d = await deployCore(owner, coreParamsOf(DEVNET_OTR_PARAMS));
      writeFileSync(
        join(dir, "deployment.json"),
        jsonText({ kind: "verinfer.deployment", rpcUrl: chain.rpcUrl, ...d }),
      );
      writeKeyFile(join(dir, "sequencer.key"), key);
      writeKeyFile(join(dir, "other.key"), chain.keys[3] as `0x${string}`);
      await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
      const port = (taken.address() as { port: number }).port;
      const role = (name: "gateway" | "settler", keyFile: string) => {
        const config = {
          port,
          dataDir: join(dir, name),
          deployment: join(dir, "deployment.json"),
          keyFile: join(dir, keyFile),
          ...(name === "gateway" ? { workers: ["http://127.0.0.1:1"] } : {}),
        };
        writeFileSync(join(dir, `${name}.json`), JSON.stringify({ [name]: config }));
        return new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, [bin, "node", name, "--config", join(dir, `${name}.json`)]);
          let stderr = "";
          child.stderr.on("data", (x) => (stderr += x));
          const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
          child.once("exit", (code) => {
            clearTimeout(timer);
            resolve({ code, stderr });
          });
        });
      };
      // Not the rollup's sequencer (none is bonded yet): it could promise batches it can never post.
      const notSequencer = await role("gateway", "sequencer.key");
      expect(notSequencer.stderr).toMatch(/CONFIG_INVALID.*but the rollup's sequencer is 0x0{40}/);
      expect(notSequencer.code).toBe(2);
      await becomeSequencer(owner, d, DEVNET_OTR_PARAMS.rollup.sequencerBond);
      const otherKey = await role("gateway", "other.key");
      expect(otherKey.stderr).toMatch(
        /CONFIG_INVALID.*other\.key is the key of 0x90F7.*the rollup's sequencer is 0xf39F/,
      );
      // A settler that is not the epochs contract's: every root it posted would be refused.
      const notSettler = await role("settler", "other.key");
      expect(notSettler.stderr).toMatch(
        /CONFIG_INVALID.*other\.key is the key of 0x90F7.*the epochs contract's settler is 0xf39F/,
      );
      expect(notSettler.code).toBe(2);
      // The sequencer itself, on a taken port.
      const r = await role("gateway", "sequencer.key");
      expect(r.stderr).toMatch(/CONFIG_INVALID.*cannot listen on 127\.0\.0\.1/);
      expect(r.code).toBe(2);
    } finally {
      taken.close();
      await chain.stop();
    }
  }, 120_000);
});
