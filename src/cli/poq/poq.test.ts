import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect } from "vitest";
import { cli } from "../../testing/cli.ts";
import { itWithData, tempFile } from "../../testing/sharedData.ts";

const POOL = ["--task", "qa", "--evaluators", "token-f1,tfidf", "--dimension-scorer", "tfidf"];
const SQUAD = ["squad-v1.1/dev-v1.1.reconstructed.json"];

describe("verinfer poq", () => {
  beforeAll(() => {
    process.env.VERINFER_CACHE_DIR = mkdtempSync(join(tmpdir(), "verinfer-poq-"));
  });

  itWithData(
    "simulate builds a real-output pool once, then reuses it, with identical results",
    SQUAD,
    async () => {
      const first = await cli(
        "poq",
        "simulate",
        ...POOL,
        "--rounds",
        "400",
        "--malicious-ratio",
        "0.2",
        "--attack",
        "boost",
        "--json",
      );
      expect(first.code).toBe(0);
      expect(first.stderr).toMatch(/built the qa pool \(52850 outputs x 2 evaluators\)/);
      const report = JSON.parse(first.stdout);
      expect(report).toMatchObject({ kind: "verinfer.poq-simulate", task: "qa", truth: "f1", seed: 1 });
      expect(report.result.inference.map((n: { name: string }) => n.name)).toContain("bert-ensemble");
      expect(report.result.consensus.pearson).toBeGreaterThan(0.9);
      const second = await cli(
        "poq",
        "simulate",
        ...POOL,
        "--rounds",
        "400",
        "--malicious-ratio",
        "0.2",
        "--attack",
        "boost",
        "--json",
      );
      expect(second.stderr).not.toMatch(/built the qa pool/);
      expect(JSON.parse(second.stdout).result).toEqual(report.result);
    },
    120_000,
  );

  itWithData(
    "sweep runs the grid on worker threads with the same rows as one thread",
    SQUAD,
    async () => {
      const argv = [
        "poq",
        "sweep",
        ...POOL,
        "--rounds",
        "300",
        "--ratios",
        "0,0.3",
        "--ks",
        "3,5",
        "--aggregators",
        "mean,hardened-trust",
        "--attacks",
        "boost,copycat",
      ];
      const parallel = JSON.parse((await cli(...argv, "--threads", "2", "--json")).stdout);
      const serial = JSON.parse((await cli(...argv, "--threads", "1", "--json")).stdout);
      expect(parallel.points).toBe(16);
      expect(parallel.rows).toEqual(serial.rows);
      expect(parallel.roundsPerSecondPerCore).toBeGreaterThan(0);
      const html = tempFile("sweep.html", "");
      expect((await cli(...argv, "--html", html)).stdout).toMatch(
        /boost: consensus Pearson \/ MAE vs f1 at k=5/,
      );
      // The page carries the same provenance as the JSON, the tree's dirty state included.
      const page = readFileSync(html, "utf8");
      expect(page).toContain(`git ${parallel.provenance.gitRevision}`);
      expect(page.includes("(dirty: uncommitted changes)")).toBe(parallel.provenance.gitDirty === true);
    },
    120_000,
  );

  itWithData(
    "calibrate compares composites with the best single evaluator on held-out prompts",
    SQUAD,
    async () => {
      const r = JSON.parse((await cli("poq", "calibrate", ...POOL, "--semantic", "tfidf", "--json")).stdout);
      expect(r.calibrationItems + r.heldOutItems).toBe(52850);
      expect(r.bestSingle.evaluator).toBe("token-f1");
      expect(r.semantic).toEqual({ evaluator: "tfidf", chosenBy: "--semantic" });
      expect(r.calibration.weights.semantic).toBeGreaterThan(0);
    },
    120_000,
  );

  itWithData("rejects invalid parameters before building anything", SQUAD, async () => {
    const trim = await cli("poq", "simulate", ...POOL, "--aggregator", "trimmed-mean", "--trim", "0.5");
    expect(trim).toMatchObject({ code: 2, stdout: "" });
    expect(trim.stderr).toMatch(
      /\[PARAMS_INVALID\] invalid simulation parameters: trim fraction τ must be in \[0, 0.5\), got 0.5/,
    );
    expect((await cli("poq", "simulate", ...POOL, "--k", "0")).stderr).toMatch(
      /k \(evaluators per round\) must be an integer in 1\.\.1000, got 0/,
    );
    expect((await cli("poq", "simulate", ...POOL, "--attack", "bribe")).code).toBe(2);
    // Out of range, negative included: the range message, exit 2 like every invalid option.
    expect(await cli("poq", "simulate", ...POOL, "--malicious-ratio", "-0.1")).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/malicious ratio must be in \[0, 1\], got -0\.1/),
    });
    expect((await cli("poq", "sweep", ...POOL, "--attacks", "bribe")).stderr).toMatch(
      /unknown attack bribe; known: honest/,
    );
    expect((await cli("poq", "sweep", ...POOL, "--ks", "3,x")).stderr).toMatch(
      /--ks must be a comma-separated list of numbers/,
    );
    const costs = tempFile("costs.json", JSON.stringify({ "bert-ensemble": { baseMs: -5 } }));
    expect((await cli("poq", "simulate", ...POOL, "--costs", costs)).stderr).toMatch(
      /\[CONFIG_INVALID\] .*costs must be non-negative/,
    );
    expect(
      (await cli("poq", "simulate", ...POOL, "--composite-weights", "semantic=1,vibes=2")).stderr,
    ).toMatch(/\[PARAMS_INVALID\] unknown composite weight "vibes=2"/);
    expect((await cli("poq", "calibrate", ...POOL, "--semantic", "sts")).stderr).toMatch(
      /--semantic sts must be one of the pool's --evaluators/,
    );
  });
});
