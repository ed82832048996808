import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes } from "../../protocol/encoding/hex.ts";
import { merkleRoot } from "../../protocol/verifiable/trace.ts";
import { cli } from "../../testing/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "verinfer-trace-"));
const model = join(dir, "tiny.bin");
const other = join(dir, "other.bin");
const traceFile = join(dir, "trace.json");
type Trace = {
  root: string;
  steps: { op: string; pos: number; layer: number; leaf: string }[];
  [k: string]: unknown;
};
let trace: Trace;

beforeAll(async () => {
  expect((await cli("model", "init", "--preset", "tiny", "--seed", "4", "--out", model)).code).toBe(0);
  expect((await cli("model", "init", "--preset", "tiny", "--seed", "5", "--out", other)).code).toBe(0);
  const gen = await cli(
    "generate",
    "--engine",
    "ts-int",
    "--model",
    model,
    "--prompt",
    "hi",
    "--max-tokens",
    "6",
    "--trace",
    traceFile,
  );
  expect(gen.code).toBe(0);
  trace = JSON.parse(readFileSync(traceFile, "utf8"));
});

const write = (name: string, t: unknown) => {
  const f = join(dir, name);
  writeFileSync(f, typeof t === "string" ? t : JSON.stringify(t));
  return f;
};

describe("verinfer trace verify", () => {
  it("accepts the honest trace", async () => {
    const r = await cli("trace", "verify", traceFile, "--model", model, "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      valid: true,
      firstDivergence: null,
      replayedRoot: trace.root,
    });
  });

  it("accepts a sampled generation's trace and catches a token that was not sampled", async () => {
    const sampledFile = join(dir, "sampled.json");
    const gen = await cli(
      "generate",
      "--engine",
      "ts-int",
      "--model",
      model,
      "--prompt",
      "hi",
      "--max-tokens",
      "5",
      "--temperature",
      "0.9",
      "--seed",
      "3",
      "--trace",
      sampledFile,
    );
    expect(gen.code).toBe(0);
    const sampled = JSON.parse(readFileSync(sampledFile, "utf8"));
    expect(sampled).toMatchObject({ promptTokens: 4, sampling: { temperature: 0.9, topP: 1, seed: 3 } });
    expect((await cli("trace", "verify", sampledFile, "--model", model)).code).toBe(0);
    // A worker that claims another seed than the one its tokens came from: its SAMPLE leaves diverge.
    const other = await cli(
      "trace",
      "verify",
      write("seed.json", { ...sampled, sampling: { ...sampled.sampling, seed: 4 } }),
      "--model",
      model,
      "--json",
    );
    expect(other.code).toBe(1);
    expect(JSON.parse(other.stdout).firstDivergence.step).toMatch(/^pos \d+ layer 2 sample$/);
  });

  it("names the first divergent step of a tampered trace, even with a recomputed root", async () => {
    const index = trace.steps.findIndex((s) => s.op === "w1" && s.pos === 2 && s.layer === 1);
    // A worker whose w1 output at position 2 was wrong, committing to it under a consistent root.
    const steps = trace.steps.map((s, i) =>
      i === index ? { ...s, leaf: bytesToHex(new Uint8Array(32).fill(7)) } : s,
    );
    const root = bytesToHex(merkleRoot(steps.map((s) => hexToBytes(s.leaf))));
    const r = await cli(
      "trace",
      "verify",
      write("cheat.json", { ...trace, steps, root }),
      "--model",
      model,
      "--json",
    );
    expect(r.code).toBe(1);
    const audit = JSON.parse(r.stdout);
    expect(audit.valid).toBe(false);
    expect(audit.rootOfClaimedLeaves).toBe(root);
    expect(audit.firstDivergence).toMatchObject({
      index,
      step: "pos 2 layer 1 w1",
      inputs: ["pos 2 layer 1 ffn_quant"],
      chunk: { rows: 153, chunks: 2 },
    });
    expect(audit.firstDivergence.chunk.constraints).toBeLessThan(2 ** 14);
    const table = await cli(
      "trace",
      "verify",
      write("cheat.json", { ...trace, steps, root }),
      "--model",
      model,
    );
    expect(table.stdout).toMatch(/first divergent step\s+#\d+ pos 2 layer 1 w1/);
    expect(table.stdout).toMatch(/verdict\s+INVALID/);
  });

  it("calls a root that is not the leaves' root, or a relabelled step, malformed: no step is accused", async () => {
    const badRoot = await cli(
      "trace",
      "verify",
      write("badroot.json", { ...trace, root: `0x${"00".repeat(32)}` }),
      "--model",
      model,
    );
    expect(badRoot.code).toBe(1);
    expect(badRoot.stderr).toMatch(
      /\[TRACE_MALFORMED\] .*field root: the root 0x0+ is not the root of the listed leaves/,
    );
    // Only a label changed: the leaves and roots are the honest ones (this once convicted step #100).
    const steps = trace.steps.map((s, i) => (i === 100 ? { ...s, pos: s.pos + 1 } : s));
    const relabelled = await cli(
      "trace",
      "verify",
      write("relabel.json", { ...trace, steps }),
      "--model",
      model,
    );
    expect(relabelled.code).toBe(1);
    expect(relabelled.stderr).toMatch(
      /\[TRACE_MALFORMED\] .*field steps\.100\.pos: step 100 is labelled pos \d+/,
    );
    expect(relabelled.stdout).not.toMatch(/divergent/);
  });

  it("rejects another model and malformed traces with a code", async () => {
    expect((await cli("trace", "verify", traceFile, "--model", other)).stderr).toMatch(
      /\[TRACE_MODEL_MISMATCH\] .*recorded on model 0x[0-9a-f]{64}, this model is 0x/,
    );
    const cases: [unknown, RegExp][] = [
      ["{not json", /\[TRACE_MALFORMED\] .* is not JSON/],
      [{ ...trace, hash: "sha256" }, /\[TRACE_MALFORMED\] .*field hash/],
      [
        { ...trace, steps: [{ ...trace.steps[0], op: "conv2d" }] },
        /\[TRACE_MALFORMED\] .*field steps\.0\.op/,
      ],
      [
        { ...trace, steps: trace.steps.slice(1) },
        /\[TRACE_MALFORMED\] .*field leaves: says \d+ leaves but lists \d+ steps/,
      ],
      [
        { ...trace, tokens: [1, 99999] },
        /\[TRACE_MALFORMED\] .*field tokens\.1: token 99999 at position 1 is outside the vocabulary/,
      ],
      [{ ...trace, root: "0x12" }, /\[TRACE_MALFORMED\] .*field root: must be a 0x-prefixed 32-byte hex/],
    ];
    for (const [content, message] of cases) {
      const r = await cli("trace", "verify", write("bad.json", content), "--model", model);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    expect((await cli("trace", "verify", join(dir, "absent.json"), "--model", model)).stderr).toMatch(
      /\[FILE_NOT_FOUND\]/,
    );
  });
});
