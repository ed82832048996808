import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../../testing/cli.ts";

describe("verinfer otr", () => {
  it("simulate runs a scenario with options changed, as JSON, a table and an HTML report", async () => {
    const dir = mkdtempSync(join(tmpdir(), "verinfer-otr-"));
    const args = ["otr", "simulate", "--scenario", "wrong-outputs", "--requests", "3000", "--rho", "0.05"];
    const json = await cli(...args, "--json", "--html", join(dir, "r.html"), "--out", join(dir, "r.json"));
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ kind: "verinfer.otr-simulation", scenario: "wrong-outputs", seed: 1 });
    expect(report.config.otr.spotcheck.rhoPpm).toBe(50_000);
    expect(report.config.otr.poea.minWorkerStake).toBe("10000000000000000000"); // bigint as a decimal string
    expect(report.result.completed).toBe(3_000);
    expect(report.result.security.fraudulent).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(dir, "r.json"), "utf8")).result).toEqual(report.result);
    expect(readFileSync(join(dir, "r.html"), "utf8")).toMatch(/<svg[\s\S]*paper: 0\.8 s mean/);
    const table = await cli(...args);
    expect(table.stdout).toMatch(/provisional finality overhead p50 \/ p99 \(ms\)/);
  });

  it("sweep runs chosen experiments and cost prices a query over one input", async () => {
    const sweep = await cli("otr", "sweep", "--experiments", "cost,latency", "--requests", "1500", "--json");
    expect(sweep.code).toBe(0);
    const report = JSON.parse(sweep.stdout);
    expect(report.tables.map((t: { name: string }) => t.name)).toEqual(["cost", "latency"]);
    expect(report.runs).toBe(5);
    const cost = await cli("otr", "cost", "--da", "blob", "--vary", "rho=0.001,0.01", "--json");
    const rows = JSON.parse(cost.stdout).rows;
    expect(rows.map((r: { rho: number }) => r.rho)).toEqual([0.001, 0.01]);
    expect(rows[1].proofs).toBeCloseTo(0.111, 4); // ρ 1% × the measured 370k-gas spot-check
    expect((await cli("otr", "cost")).stdout).toMatch(/total \$/);
  });

  it("refuses bad options with a usage error", async () => {
    for (const [args, message] of [
      [["otr", "simulate", "--scenario", "nope"], /--scenario must be one of/],
      [["otr", "simulate", "--rho", "2"], /--rho must be at most 1/],
      [["otr", "simulate", "--rate", "0"], /PARAMS_INVALID.*ratePerSecond must be > 0/],
      [["otr", "sweep", "--experiments", "speed"], /unknown experiment speed/],
      [["otr", "cost", "--vary", "rho=x"], /--vary takes INPUT=v1,v2/],
    ] as const) {
      const r = await cli(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
