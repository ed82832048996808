import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect } from "vitest";
import { cli } from "../../testing/cli.ts";
import { DATA_DIR, itWithData } from "../../testing/sharedData.ts";

const N = "nvtrust/";
const p = (rel: string) => join(DATA_DIR ?? "", N, rel);
const V1 = [
  "--report",
  p("nvtrust-v1.0-samples/attestationReport.txt"),
  "--chain",
  p("nvtrust-v1.0-samples/gpuAkCertChain.txt"),
  "--rim",
  p("nvtrust-samples/Driver_RIM_test_no_gpu.swidtag"),
  "--rim",
  p("nvtrust-samples/1010_0200_882_96005E0001_test_no_gpu.swidtag"),
  "--nonce",
  "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e",
];
const ROOTS = [`${N}roots/verifier_device_root.pem`, `${N}roots/verifier_RIM_root.pem`];

describe("verinfer attest", () => {
  itWithData(
    "verify passes the 2023 H100 sample at a time its RIMs were valid, and fails it today",
    ROOTS,
    async () => {
      const pass = await cli("attest", "verify", ...V1, "--at", "2024-06-01T00:00:00Z");
      expect(pass.code).toBe(0);
      expect(pass.stdout).toMatch(/overall: PASS \(1\/1 GPUs\)/);
      expect(pass.stdout).toMatch(/measurements-match\s+yes \(33 golden/);
      const today = await cli("attest", "verify", ...V1, "--at", "2026-11-22T00:00:00Z", "--json");
      expect(today.code).toBe(1);
      const report = JSON.parse(today.stdout);
      expect(report.gpus[0].failures.map((f: { code: string }) => f.code)).toEqual([
        "ATTESTATION_CERT_EXPIRED",
        "ATTESTATION_CERT_EXPIRED",
      ]);
      expect(report).toMatchObject({ kind: "verinfer.attestation", overall: false, verifier: "node-crypto" });
      // The pure-JS verifier gives the same claims.
      const pure = JSON.parse(
        (await cli("attest", "verify", ...V1, "--at", "2026-11-22T00:00:00Z", "--json", "--pure")).stdout,
      );
      expect(pure.gpus).toEqual(report.gpus);
    },
  );

  itWithData(
    "verify checks all eight GPUs of an NVIDIA evidence list",
    [...ROOTS, `${N}ppcie-8gpu/gpu_evidence.json`],
    async () => {
      const file = p("ppcie-8gpu/gpu_evidence.json");
      const nonce = JSON.parse(readFileSync(file, "utf8"))[0].nonce;
      const r = await cli(
        "attest",
        "verify",
        "--evidence",
        file,
        "--nonce",
        nonce,
        "--no-require-rims",
        "--json",
      );
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).gpus).toHaveLength(8);
      const wrong = await cli(
        "attest",
        "verify",
        "--evidence",
        file,
        "--nonce",
        "00".repeat(32),
        "--no-require-rims",
      );
      expect(wrong.code).toBe(1);
      expect(wrong.stdout).toMatch(/ATTESTATION_NONCE_MISMATCH/);
    },
  );

  itWithData("dev-evidence writes evidence that verifies only with --allow-dev-tee", ROOTS, async () => {
    const dir = mkdtempSync(join(tmpdir(), "verinfer-dev-tee-"));
    const made = await cli("attest", "dev-evidence", "--out", dir, "--json");
    expect(made.code).toBe(0);
    const { nonce } = JSON.parse(made.stdout);
    const args = [
      "attest",
      "verify",
      "--report",
      join(dir, "report.hex"),
      "--chain",
      join(dir, "chain.pem"),
      "--offline",
      join(dir, "collateral"),
      "--dev-root",
      join(dir, "dev-root.pem"),
      "--nonce",
      nonce,
    ];
    const ok = await cli(...args, "--allow-dev-tee", "--ocsp-mode", "require", "--json");
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).gpus[0]).toMatchObject({
      evidenceKind: "dev-tee",
      collateral: "offline-cache",
      claims: { "cert-chain": { ocspStatus: "good" } },
    });
    const refused = await cli(...args);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/ATTESTATION_DEV_TEE_REJECTED/);
    // The same keys are reused: a second run's chain carries the same public keys (the certificates
    // themselves are reissued at the run's time, so they differ whenever the runs fall in different seconds).
    const keysOf = (pem: string) =>
      (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((c) =>
        new X509Certificate(c).publicKey.export({ type: "spki", format: "der" }).toString("hex"),
      );
    const chain = keysOf(readFileSync(join(dir, "chain.pem"), "utf8"));
    await cli("attest", "dev-evidence", "--out", dir, "--mode", "debug");
    expect(chain.length).toBeGreaterThan(1);
    expect(keysOf(readFileSync(join(dir, "chain.pem"), "utf8"))).toEqual(chain);
    const debug = await cli(
      "attest",
      "verify",
      "--report",
      join(dir, "report.hex"),
      "--chain",
      join(dir, "chain.pem"),
      "--offline",
      join(dir, "collateral"),
      "--dev-root",
      join(dir, "dev-root.pem"),
      "--allow-dev-tee",
      "--no-require-nonce",
    );
    expect(debug.stdout).toMatch(/ATTESTATION_DEBUG_MODE/);
  });

  itWithData(
    "a worker's registration bundle binds its enclave key to the verifier's challenge",
    ROOTS,
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "verinfer-bundle-"));
      writeFileSync(join(dir, "worker.key"), `0x${"11".repeat(32)}\n`);
      const challenge = "22".repeat(32);
      expect(
        (
          await cli(
            "attest",
            "dev-evidence",
            "--out",
            dir,
            "--enclave-key",
            join(dir, "worker.key"),
            "--challenge",
            challenge,
          )
        ).code,
      ).toBe(0);
      const args = [
        "attest",
        "verify",
        "--bundle",
        join(dir, "bundle.json"),
        "--offline",
        join(dir, "collateral"),
        "--dev-root",
        join(dir, "dev-root.pem"),
        "--allow-dev-tee",
      ];
      const ok = await cli(...args, "--challenge", challenge, "--json");
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({
        kind: "verinfer.attestation-bundle",
        overall: true,
        worker: expect.stringMatching(/^0x[0-9a-f]{40}$/),
      });
      const replay = await cli(...args, "--challenge", "33".repeat(32));
      expect(replay.code).toBe(1);
      expect(replay.stdout).toMatch(/ATTESTATION_KEY_BINDING_MISMATCH/);
      expect((await cli(...args, "--challenge", challenge, "--nonce", challenge)).stderr).toMatch(
        /\[CLI_USAGE\] --bundle carries its evidence/,
      );
    },
  );

  itWithData("bad input gets a clear error before any verification", ROOTS, async () => {
    expect((await cli("attest", "verify", ...V1, "--at", "yesterday")).stderr).toMatch(
      /\[CLI_USAGE\] --at yesterday is not an ISO 8601/,
    );
    expect((await cli("attest", "verify", ...V1, "--nonce", "12")).stderr).toMatch(
      /\[CLI_USAGE\] --nonce: expected 32 bytes/,
    );
    expect((await cli("attest", "verify", "--report", "/nonexistent", "--chain", "x")).stderr).toMatch(
      /\[FILE_NOT_FOUND\]/,
    );
    expect((await cli("attest", "verify", "--chain", "x")).stderr).toMatch(
      /give --report FILE and --chain FILE/,
    );
    const dir = mkdtempSync(join(tmpdir(), "verinfer-attest-"));
    const garbage = join(dir, "report.txt");
    writeFileSync(garbage, "11e0 not hex");
    expect(
      (
        await cli(
          "attest",
          "verify",
          "--report",
          garbage,
          "--chain",
          p("nvtrust-v1.0-samples/gpuAkCertChain.txt"),
        )
      ).stderr,
    ).toMatch(/\[HEX_INVALID\]/);
    const policy = join(dir, "policy.json");
    writeFileSync(policy, JSON.stringify({ allowDevTee: false, trustEveryone: true }));
    expect((await cli("attest", "verify", ...V1, "--policy", policy)).stderr).toMatch(
      /\[CONFIG_INVALID\] .*unknown policy fields trustEveryone/,
    );
    // A roots folder whose certificate is not NVIDIA's pinned root is refused.
    const fakeRoots = mkdtempSync(join(tmpdir(), "verinfer-roots-"));
    writeFileSync(
      join(fakeRoots, "verifier_device_root.pem"),
      readFileSync(p("nvtrust-samples/hopperCertChain.txt"), "utf8"),
    );
    writeFileSync(
      join(fakeRoots, "verifier_RIM_root.pem"),
      readFileSync(p("roots/verifier_RIM_root.pem"), "utf8"),
    );
    expect((await cli("attest", "verify", ...V1, "--roots", fakeRoots)).stderr).toMatch(
      /\[ATTESTATION_CHAIN_UNTRUSTED_ROOT\] .*not the pinned/,
    );
  });
});
