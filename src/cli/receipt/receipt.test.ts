import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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
    expect(two.results).toEqual(one.results);
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
    expect(out.results.map((x: { ok: boolean; code?: string }) => (x.ok ? "ok" : x.code))).toEqual([
      "ok",
      "RECEIPT_SIGNATURE_INVALID",
      // Changing a signed field breaks the signature before the model check is reached.
      "RECEIPT_SIGNATURE_INVALID",
      "RECEIPT_MALFORMED",
      "RECEIPT_REPLAYED",
      "ok",
    ]);
    expect(out.results[3].where).toBe(`${file}:4`);
    const human = await cli("receipt", "verify", file, "--registry", join(dir, "registry.json"));
    expect(human.stdout).toMatch(/2\/6 receipts valid/);
    expect(human.stdout).toMatch(/RECEIPT_REPLAYED\s+1/);
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
