import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createRng } from "../../protocol/rng/prng.ts";
import { cli } from "../../testing/cli.ts";

describe("verinfer receipt", () => {
  it("example writes receipts that verify, in parallel and sequentially, with the same verdicts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "verinfer-receipts-"));
    expect((await cli("receipt", "example", "--out", dir, "--count", "2100")).code).toBe(0);
    const file = join(dir, "receipts.jsonl");
    const registry = join(dir, "registry.json");
    const one = JSON.parse(
      (await cli("receipt", "verify", file, "--registry", registry, "--threads", "1", "--json")).stdout,
    );
    const two = JSON.parse(
      (await cli("receipt", "verify", file, "--registry", registry, "--threads", "2", "--json")).stdout,
    );
    expect(one).toMatchObject({ total: 2100, valid: 2100, backend: expect.stringMatching(/native|pure/) });
    expect({ ...two, seconds: 0 }).toEqual({ ...one, seconds: 0 });
    // Without a registry: signature and signer only.
    const single = await cli("receipt", "verify", join(dir, "receipt.json"));
    expect(single.code).toBe(0);
    expect(single.stdout).toMatch(/1\/1 receipts valid \(signature only/);
  });

  it("names each bad receipt and keeps verifying the others", async () => {
    const dir = mkdtempSync(join(tmpdir(), "verinfer-receipts-"));
    await cli("receipt", "example", "--out", dir, "--count", "5");
    const lines = readFileSync(join(dir, "receipts.jsonl"), "utf8").trim().split("\n");
    const tampered = JSON.parse(lines[1] as string);
    tampered.receipt.outputTokens += 1;
    const otherModel = JSON.parse(lines[2] as string);
    otherModel.receipt.weightsHash = `0x${"ab".repeat(32)}`;
    const bad = [
      lines[0],
      JSON.stringify(tampered),
      JSON.stringify(otherModel),
      "{not json",
      lines[0],
      lines[3],
    ];
    const file = join(dir, "bad.jsonl");
    writeFileSync(file, `${bad.join("\n")}\n`);
    const r = await cli("receipt", "verify", file, "--registry", join(dir, "registry.json"), "--json");
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.failures.map((x: { where: string; code: string }) => [x.where, x.code])).toEqual([
      [`${file}:2`, "RECEIPT_SIGNATURE_INVALID"],
      // Changing a signed field breaks the signature before the model check is reached.
      [`${file}:3`, "RECEIPT_SIGNATURE_INVALID"],
      [`${file}:4`, "RECEIPT_MALFORMED"],
      [`${file}:5`, "RECEIPT_REPLAYED"],
    ]);
    const worker = JSON.parse(lines[0] as string).receipt.worker.toLowerCase();
    expect(out.failures[3].message).toBe(`worker ${worker} already used sequence 1 (first at ${file}:1)`);
    const human = await cli("receipt", "verify", file, "--registry", join(dir, "registry.json"));
    expect(human.stdout).toMatch(/2\/6 receipts valid/);
    expect(human.stdout).toMatch(/RECEIPT_REPLAYED\s+1/);
  });

  it("accepts receipts in any order, in every file format, and streams them with bounded entries", async () => {
    const dir = mkdtempSync(join(tmpdir(), "verinfer-receipts-"));
    await cli("receipt", "example", "--out", dir, "--count", "1000");
    const registry = join(dir, "registry.json");
    const lines = readFileSync(join(dir, "receipts.jsonl"), "utf8").trim().split("\n");
    const verify = async (name: string, content: string, ...extra: string[]) => {
      const file = join(dir, name);
      writeFileSync(file, content);
      const r = await cli("receipt", "verify", file, "--registry", registry, "--json", ...extra);
      return { code: r.code, stderr: r.stderr, out: r.stdout ? JSON.parse(r.stdout) : null };
    };
    // 1,000 receipts in reverse order (sequences 1000 … 1): all valid.
    const reversed = await verify("reversed.jsonl", `${[...lines].reverse().join("\n")}\n`, "--threads", "1");
    expect(reversed.out).toMatchObject({ total: 1000, valid: 1000, failed: 0 });
    // A random shuffle, as a JSON array (pretty-printed), and a duplicate named where it first appeared.
    const shuffled = createRng(1).shuffle([...lines]);
    const array = `[\n${[...shuffled, shuffled[10]].map((l) => JSON.stringify(JSON.parse(l as string), null, 2)).join(",\n")}\n]\n`;
    const arr = await verify("array.json", array);
    expect(arr.out).toMatchObject({ total: 1001, valid: 1000, byCode: { RECEIPT_REPLAYED: 1 } });
    expect(arr.out.failures[0]).toMatchObject({ where: `${join(dir, "array.json")}[1000]` });
    expect(arr.out.failures[0].message).toMatch(/\(first at .*array\.json\[10\]\)$/);
    // A window narrower than the disorder: the late ones are stale, and said to be.
    const narrow = await verify(
      "narrow.jsonl",
      `${[...lines].reverse().join("\n")}\n`,
      "--replay-window",
      "100",
    );
    expect(narrow.out).toMatchObject({ valid: 100, byCode: { RECEIPT_SEQUENCE_STALE: 900 } });
    // One pretty-printed receipt.
    const single = await verify("one.json", JSON.stringify(JSON.parse(lines[0] as string), null, 2));
    expect(single.out).toMatchObject({ total: 1, valid: 1 });
    // Over-long entries, a truncated array, trailing content: each a named verdict, the rest verified.
    const long = await verify("long.jsonl", `${lines[0]}\n${"x".repeat(200_000)}\n${lines[1]}\n`);
    expect(long.out).toMatchObject({
      total: 3,
      valid: 2,
      failures: [
        {
          where: expect.stringMatching(/long\.jsonl:2$/),
          code: "RECEIPT_MALFORMED",
          message: expect.stringMatching(/over the 65536-character limit/),
        },
      ],
    });
    const truncated = await verify("cut.json", `[${lines[0]},${lines[1]}`);
    expect(truncated.out).toMatchObject({
      total: 2,
      valid: 1,
      failures: [{ message: /ends inside the array/ }],
    });
    const trailing = await verify("trail.json", `[${lines[0]}] {"x":1}`);
    expect(trailing.out).toMatchObject({
      total: 2,
      valid: 1,
      failures: [{ message: /after the array's closing/ }],
    });
    // A file over the limit is refused before it is read.
    const big = await verify("big.jsonl", `${lines.join("\n")}\n`, "--max-file-bytes", "1000");
    expect(big.code).toBe(1);
    expect(big.stderr).toMatch(/\[FILE_TOO_LARGE\] .*over the 1000-byte limit/);
  });

  it("rejects a malformed registry and a missing file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "verinfer-receipts-"));
    await cli("receipt", "example", "--out", dir, "--count", "1");
    writeFileSync(join(dir, "registry.json"), JSON.stringify({ chainId: "x" }));
    const r = await cli(
      "receipt",
      "verify",
      join(dir, "receipts.jsonl"),
      "--registry",
      join(dir, "registry.json"),
    );
    expect(r.stderr).toMatch(/\[CONFIG_INVALID\] invalid registry: chainId must be a non-negative integer/);
    expect((await cli("receipt", "verify", join(dir, "nope.jsonl"))).stderr).toMatch(/\[FILE_NOT_FOUND\]/);
  });
});
