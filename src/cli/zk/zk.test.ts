import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cli } from "../../testing/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "verinfer-zk-cli-"));
const model = join(dir, "tiny.bin");
const traceFile = join(dir, "trace.json");
const proofFile = join(dir, "proof.json");

beforeAll(async () => {
  expect((await cli("model", "init", "--preset", "tiny", "--seed", "4", "--out", model)).code).toBe(0);
  const gen = await cli(
    "generate",
    "--engine",
    "ts-int",
    "--model",
    model,
    "--prompt",
    "hi",
    "--max-tokens",
    "3",
    "--trace",
    traceFile,
  );
  expect(gen.code).toBe(0);
}, 60_000);

describe("verinfer zk", () => {
  it("proves a named slice of a trace and verifies the proof file", async () => {
    // Leaf 3 of position 0 is layer 0's Q.
    const r = await cli(
      "zk",
      "prove",
      "--trace",
      traceFile,
      "--model",
      model,
      "--step",
      "3",
      "--row",
      "6",
      "--out",
      proofFile,
      "--json",
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.slice).toEqual({ pos: 0, layer: 0, op: "q", row0: 6 });
    const v = await cli("zk", "verify", proofFile, "--json");
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({
      valid: true,
      proofVerifies: true,
      commitmentOfValues: true,
    });
  }, 120_000);

  it("proves the slice an obligation's selector picks", async () => {
    const sel = `0x${"ab".repeat(32)}`;
    const r = await cli(
      "zk",
      "prove",
      "--trace",
      traceFile,
      "--model",
      model,
      "--selector",
      sel,
      "--out",
      join(dir, "sel.json"),
      "--json",
    );
    expect(r.code, r.stderr).toBe(0);
    expect(["q", "k", "v", "wo", "w1", "w3"]).toContain(JSON.parse(r.stdout).slice.op);
  }, 120_000);

  it("rejects a proof whose values or proof were changed, and malformed files, with their codes", async () => {
    const p = JSON.parse(readFileSync(proofFile, "utf8"));
    const values = join(dir, "values.json");
    writeFileSync(
      values,
      JSON.stringify({ ...p, values: { ...p.values, y: p.values.y.map((y: number) => y + 1) } }),
    );
    const v1 = await cli("zk", "verify", values, "--json");
    expect(v1.code).toBe(1);
    expect(JSON.parse(v1.stdout)).toMatchObject({
      valid: false,
      commitmentOfValues: false,
      proofVerifies: true,
    });
    const forged = join(dir, "forged.json");
    writeFileSync(forged, JSON.stringify({ ...p, proof: { ...p.proof, pi_c: p.proof.pi_a } }));
    const v2 = await cli("zk", "verify", forged, "--json");
    expect(v2.code).toBe(1);
    expect(JSON.parse(v2.stdout)).toMatchObject({ valid: false, proofVerifies: false });
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ not json");
    const v3 = await cli("zk", "verify", bad);
    expect(v3.code).not.toBe(0);
    expect(v3.stderr).toContain("ZK_PROOF_MALFORMED");
  }, 60_000);

  it("refuses a step that is not a slice operation and a trace of another model", async () => {
    const r = await cli("zk", "prove", "--trace", traceFile, "--model", model, "--step", "0");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("INPUT_INVALID");
    const other = join(dir, "other.bin");
    expect((await cli("model", "init", "--preset", "tiny", "--seed", "5", "--out", other)).code).toBe(0);
    const m = await cli("zk", "prove", "--trace", traceFile, "--model", other, "--step", "3");
    expect(m.stderr).toContain("TRACE_MODEL_MISMATCH");
  }, 60_000);

  it("describes the circuit and its setup", async () => {
    const r = await cli("zk", "info", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      circuit: { n: 288, rows: 3 },
      setupMatchesCircuit: true,
      development: true,
    });
  }, 60_000);
});
