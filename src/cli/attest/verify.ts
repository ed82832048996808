import { join } from "node:path";
import {
  loadEvidence,
  loadOfflineCollateral,
  loadSuppliedCollateral,
  loadTrustAnchors,
} from "../../attestation/evidenceFiles.ts";
import { nodeEcdsa } from "../../crypto/nodeEcdsa.ts";
import { resolveDataDir } from "../../data/dataDir.ts";
import { readJsonFile, readTextFile } from "../../data/files.ts";
import { checked, VerinferError } from "../../errors.ts";
import { parseEvidenceBundle, verifyEvidenceBundle } from "../../protocol/attestation/evidenceBundle.ts";
import {
  type AttestationPolicy,
  DEFAULT_POLICY,
  type OcspMode,
  validatePolicy,
} from "../../protocol/attestation/policy.ts";
import { pureEcdsa } from "../../protocol/attestation/signatures.ts";
import {
  type AttestationResult,
  type ChainClaims,
  verifyGpuEvidence,
} from "../../protocol/attestation/verifyGpuEvidence.ts";
import { parseHex } from "../../protocol/encoding/hex.ts";
import { isoTime, parseIsoTime } from "../../protocol/encoding/time.ts";
import { renderTable } from "../../report/table.ts";
import type { CommandContext, CommandSpec } from "../framework/command.ts";
import { DATA_DIR_OPTION } from "../sharedOptions.ts";

const list = (text: string | undefined) =>
  text
    ? text
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : null;

/** The policy the options describe: defaults < --policy FILE < individual flags. */
function policyFromOptions(ctx: CommandContext): AttestationPolicy {
  let policy: AttestationPolicy = DEFAULT_POLICY;
  const file = ctx.string("policy");
  if (file) {
    const json = readJsonFile(file, 64 * 1024);
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new VerinferError("CONFIG_INVALID", `${file}: a policy is a JSON object`);
    }
    const known = new Set(Object.keys(DEFAULT_POLICY));
    const unknown = Object.keys(json).filter((k) => !known.has(k));
    if (unknown.length) {
      throw new VerinferError(
        "CONFIG_INVALID",
        `${file}: unknown policy fields ${unknown.join(", ")}; known: ${[...known].join(", ")}`,
      );
    }
    policy = { ...policy, ...(json as Partial<AttestationPolicy>) };
  }
  if (ctx.flag("allow-dev-tee")) policy = { ...policy, allowDevTee: true };
  if (ctx.flag("no-require-rims")) policy = { ...policy, requireRims: false };
  if (ctx.flag("no-require-nonce")) policy = { ...policy, requireNonce: false };
  const ocsp = ctx.string("ocsp-mode");
  if (ocsp) policy = { ...policy, ocsp: ocsp as OcspMode };
  const age = ctx.number("max-collateral-age");
  if (age !== undefined) policy = { ...policy, maxCollateralAgeMs: age * 3_600_000 };
  const drivers = list(ctx.string("allow-driver"));
  if (drivers) policy = { ...policy, allowedDriverVersions: drivers };
  const vbios = list(ctx.string("allow-vbios"));
  if (vbios) policy = { ...policy, allowedVbiosVersions: vbios };
  return checked(validatePolicy(policy));
}

const chainText = (c: ChainClaims) =>
  `${c.status}; OCSP ${c.ocspStatus}${c.expirationDate ? `; expires ${c.expirationDate}` : ""}`;
const yesNo = (v: boolean | null) => (v === null ? "n/a" : v ? "yes" : "NO");

function measurementsText(r: AttestationResult): string {
  const m = r.claims["measurements-match"];
  if (m === null) return "not compared";
  const v = r.values;
  const skipped = v.skippedMeasurements.length ? `, skipped ${v.skippedMeasurements.join(",")}` : "";
  const mismatched = v.mismatchedMeasurements.length
    ? `, mismatched ${v.mismatchedMeasurements.join(",")}`
    : "";
  return `${yesNo(m)} (${v.goldenMeasurements} golden${skipped}${mismatched})`;
}

function renderResult(r: AttestationResult, index: number, total: number): string {
  const c = r.claims;
  const rim = (k: "driver-rim" | "vbios-rim") =>
    c[k].fetched
      ? `${c[k].source}: signature ${yesNo(c[k].signatureVerified)}, version ${yesNo(c[k].versionMatch)}, chain ${chainText(c[k].certChain)}`
      : "not supplied";
  const rows: [string, string][] = [
    ["evidence kind", r.evidenceKind],
    ["report-parsed", yesNo(c["report-parsed"])],
    ["nonce-match", yesNo(c["nonce-match"])],
    ["signature-verified", yesNo(c["signature-verified"])],
    ["cert-chain", chainText(c["cert-chain"])],
    ["fwid-match", c["fwid-match"] === null ? "n/a (no FWID in the report)" : yesNo(c["fwid-match"])],
    ["driver-rim", rim("driver-rim")],
    ["vbios-rim", rim("vbios-rim")],
    ["measurements-match", measurementsText(r)],
    ["debug-state", c["debug-state"]],
    ["versions-allowed", yesNo(c["versions-allowed"])],
    ["driver / VBIOS", `${r.values.driverVersion ?? "?"} / ${r.values.vbiosVersion ?? "?"}`],
    ["hwmodel / ueid", `${r.values.hwmodel ?? "?"} / ${r.values.ueid ?? "?"}`],
    ["collateral", r.collateral],
    ["verified at", r.verifiedAt],
  ];
  const lines = [
    renderTable(["claim", "value"], rows, {
      title: `GPU ${index + 1} of ${total}: overall ${r.overall ? "PASS" : "FAIL"}`,
    }),
  ];
  if (r.failures.length) {
    lines.push("", "failures:", ...r.failures.map((f) => `  [${f.code}] ${f.claim}: ${f.message}`));
  }
  if (r.warnings.length) lines.push("", "warnings:", ...r.warnings.map((w) => `  ${w}`));
  return lines.join("\n");
}

/** A 32-byte hex option (with or without 0x), or null when absent. */
function hexOption(ctx: CommandContext, name: string): Uint8Array | null {
  const text = ctx.string(name);
  if (!text) return null;
  const v = parseHex(text.startsWith("0x") ? text : `0x${text}`, 32);
  if (!v.ok) throw new VerinferError("CLI_USAGE", `--${name}: ${v.error.message}`);
  return v.value;
}

/** `verinfer attest verify`. */
export const verifyCommand: CommandSpec = {
  name: "verify",
  summary: "verify NVIDIA GPU (or dev-TEE) attestation evidence locally: claims, exit 1 unless all pass",
  description: [
    "Verifies an SPDM attestation report and its certificate chain against NVIDIA's pinned roots at a given time,",
    "the FWID binding, the RIMs' XML signatures and chains, golden measurements, OCSP responses and a policy —",
    "offline, without NVIDIA's services. Prints granular claims named like NVIDIA's, with every failure's error",
    "code; exits 1 when the overall verdict is false. The roots are NVIDIA's published files, checked against",
    "fingerprints pinned in verinfer.",
  ].join("\n"),
  options: {
    report: {
      type: "string",
      value: "FILE",
      description: "attestation report (hex text, as NVIDIA's tools write it)",
    },
    chain: { type: "string", value: "FILE", description: "device certificate chain (PEM, leaf first)" },
    evidence: {
      type: "string",
      value: "FILE",
      description: "NVIDIA evidence list JSON (gpu_evidence.json), one entry per GPU",
    },
    bundle: {
      type: "string",
      value: "FILE",
      description: "worker registration bundle (enclave key, challenge, GPU evidence); give --challenge",
    },
    challenge: {
      type: "string",
      value: "HEX",
      description: "the challenge this verifier issued (with --bundle)",
    },
    rim: {
      type: "string",
      value: "FILE",
      multiple: true,
      description: "driver / VBIOS RIM (SWID XML); repeat for both",
    },
    ocsp: {
      type: "string",
      value: "FILE",
      multiple: true,
      description: "OCSP response (DER) for a chain certificate; repeatable",
    },
    offline: {
      type: "string",
      value: "DIR",
      description: "use only cached collateral from DIR (RIMs, OCSP responses)",
    },
    nonce: { type: "string", value: "HEX", description: "the 32-byte challenge the evidence must carry" },
    at: {
      type: "string",
      value: "ISO-TIME",
      description: "verification time (default: now), e.g. 2024-06-01T00:00:00Z",
    },
    roots: {
      type: "string",
      value: "DIR",
      description: "NVIDIA root certificates (default: <data-dir>/nvtrust/roots)",
    },
    "data-dir": DATA_DIR_OPTION,
    "dev-root": {
      type: "string",
      value: "FILE",
      description: "dev-TEE root certificate (recognized only; accepted with --allow-dev-tee)",
    },
    "allow-dev-tee": { type: "boolean", description: "accept dev-TEE evidence (devnet, tests)" },
    policy: {
      type: "string",
      value: "FILE",
      description: "policy JSON (fields of the default policy; flags override it)",
    },
    "ocsp-mode": {
      type: "string",
      choices: ["require", "if-present", "skip"],
      description: "OCSP handling (default: if-present)",
    },
    "max-collateral-age": {
      type: "number",
      value: "HOURS",
      min: 0,
      description: "oldest accepted OCSP response (default: 168)",
    },
    "allow-driver": { type: "string", value: "LIST", description: "accepted driver versions (default: any)" },
    "allow-vbios": { type: "string", value: "LIST", description: "accepted VBIOS versions (default: any)" },
    "no-require-rims": {
      type: "boolean",
      description: "do not require RIMs (measurements then go unchecked)",
    },
    "no-require-nonce": {
      type: "boolean",
      description: "do not require --nonce (replayed evidence then passes)",
    },
    pure: { type: "boolean", description: "use the pure-JS ECDSA verifier instead of node:crypto" },
  },
  examples: [
    "verinfer attest verify --report attestationReport.txt --chain gpuAkCertChain.txt --rim driver.swidtag --rim vbios.swidtag --nonce 4cff...2e --at 2024-06-01T00:00:00Z",
    "verinfer attest verify --evidence gpu_evidence.json --nonce 4760...a9 --offline ./collateral",
    "verinfer attest verify --bundle worker/bundle.json --challenge 9f1c...07 --offline worker/collateral",
    "verinfer attest verify --report dev/report.hex --chain dev/chain.pem --offline dev/collateral --dev-root dev/dev-root.pem --allow-dev-tee --nonce $(cat dev/nonce.hex)",
  ],
  run(ctx) {
    const policy = policyFromOptions(ctx);
    const atText = ctx.string("at");
    const at = atText ? parseIsoTime(atText) : Date.now();
    if (at === null) {
      throw new VerinferError(
        "CLI_USAGE",
        `--at ${atText} is not an ISO 8601 UTC time (e.g. 2024-06-01T00:00:00Z)`,
      );
    }
    const nonce = hexOption(ctx, "nonce");
    const challenge = hexOption(ctx, "challenge");
    const rootsDir = ctx.string("roots") ?? join(resolveDataDir(ctx.string("data-dir")), "nvtrust", "roots");
    const anchors = loadTrustAnchors(rootsDir, ctx.string("dev-root"));
    const offline = ctx.string("offline");
    if (offline && (ctx.strings("rim").length || ctx.strings("ocsp").length)) {
      throw new VerinferError(
        "CLI_USAGE",
        "--offline uses only the cached collateral; do not combine it with --rim or --ocsp",
      );
    }
    const collateralFor = (report: Uint8Array) =>
      offline
        ? loadOfflineCollateral(offline, report)
        : loadSuppliedCollateral(ctx.strings("rim"), ctx.strings("ocsp"));
    const verifier = ctx.flag("pure") ? pureEcdsa : nodeEcdsa;

    const bundleFile = ctx.string("bundle");
    if (bundleFile) {
      if (ctx.string("report") || ctx.string("evidence") || nonce) {
        throw new VerinferError(
          "CLI_USAGE",
          "--bundle carries its evidence and nonce; give --challenge, not --report/--evidence/--nonce",
        );
      }
      const bundle = parseEvidenceBundle(readTextFile(bundleFile, 64 * 1024 * 1024));
      if (!bundle.ok)
        throw new VerinferError(bundle.error.code, `${bundleFile}: ${bundle.error.message}`, {
          file: bundleFile,
        });
      const result = verifyEvidenceBundle(bundle.value, (gpu) => collateralFor(gpu.report), {
        expectedChallenge: challenge,
        at,
        policy,
        anchors,
        verifier,
      });
      ctx.output(
        {
          kind: "verinfer.attestation-bundle",
          verifiedAt: isoTime(at),
          verifier: verifier.name,
          policy,
          ...result,
        },
        () => {
          const lines = result.gpus.map((r, i) => renderResult(r, i, result.gpus.length));
          lines.push(
            `worker ${result.worker}\nattestation hash ${result.attestationHash} (receipts must name it)`,
          );
          if (result.failures.length)
            lines.push(
              ["failures:", ...result.failures.map((f) => `  [${f.code}] ${f.claim}: ${f.message}`)].join(
                "\n",
              ),
            );
          lines.push(`overall: ${result.overall ? "PASS" : "FAIL"}`);
          return lines.join("\n\n");
        },
      );
      return result.overall ? 0 : 1;
    }

    const evidence = loadEvidence({
      report: ctx.string("report"),
      chain: ctx.string("chain"),
      evidence: ctx.string("evidence"),
    });
    const results = evidence.map((gpu) =>
      verifyGpuEvidence(gpu, collateralFor(gpu.report), {
        expectedNonce: nonce,
        at,
        policy,
        anchors,
        verifier,
      }),
    );
    const overall = results.every((r) => r.overall);
    const passed = results.filter((r) => r.overall).length;
    ctx.output(
      {
        kind: "verinfer.attestation",
        overall,
        verifiedAt: isoTime(at),
        verifier: verifier.name,
        policy,
        gpus: results,
      },
      () =>
        `${results.map((r, i) => renderResult(r, i, results.length)).join("\n\n")}\n\noverall: ${overall ? "PASS" : "FAIL"} (${passed}/${results.length} GPUs)`,
    );
    return overall ? 0 : 1;
  },
};
