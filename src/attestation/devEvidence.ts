/**
 * Writing dev-TEE evidence to disk: keys (generated with the system's CSPRNG on first use and reused
 * afterwards, so a dev machine keeps one identity), the chain, a report for a nonce, the NVIDIA-format
 * evidence list, and the collateral directory (RIMs, OCSP responses) that `attest verify --offline`
 * reads.
 */

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { p384 } from "@noble/curves/nist.js";
import { VerinferError } from "../errors.ts";
import { buildDevTee, DEV_TEE_FIRMWARE, type DevTeeKeys, devReport } from "../protocol/attestation/devTee.ts";
import { formatEvidenceBundle } from "../protocol/attestation/evidenceBundle.ts";
import { formatEvidenceJson } from "../protocol/attestation/evidenceJson.ts";
import { bindingNonce } from "../protocol/attestation/keyBinding.ts";
import { bytesToHex, hexToBytes } from "../protocol/encoding/hex.ts";

const KEY_FILES: Readonly<Record<keyof DevTeeKeys, string>> = {
  root: "root.key",
  identity: "identity.key",
  attestation: "attestation.key",
  rimSigner: "rim-signer.key",
};

/** Loads the dev keys from `dir/keys`, creating any that are missing (unless `create` is false). */
export function devKeys(dir: string, create = true): { keys: DevTeeKeys; created: boolean } {
  const keysDir = join(dir, "keys");
  if (create) mkdirSync(keysDir, { recursive: true });
  let created = false;
  const entries = Object.entries(KEY_FILES).map(([name, file]) => {
    const path = join(keysDir, file);
    if (!create && !existsSync(path))
      throw new VerinferError("FILE_NOT_FOUND", `no dev TEE key at ${path}`, { file: path });
    if (existsSync(path)) {
      const text = readFileSync(path, "utf8").trim();
      if (!/^0x[0-9a-f]{96}$/i.test(text))
        throw new VerinferError("CONFIG_INVALID", `${path} is not a 48-byte hex P-384 key`, { file: path });
      return [name, hexToBytes(text)] as const;
    }
    const key = p384.utils.randomSecretKey();
    writeFileSync(path, `${bytesToHex(key)}\n`, { mode: 0o600 });
    created = true;
    return [name, key] as const;
  });
  return { keys: Object.fromEntries(entries) as unknown as DevTeeKeys, created };
}

/**
 * When a shared dev TEE's certificates are issued: recorded in `<keysDir>/issued-at` by the first user
 * (at `now`), so every machine sharing the keys builds byte-identical certificates (P-384 signatures
 * are deterministic) and an attester can pin the one root.
 */
export function sharedIssueTime(keysDir: string, now: number): number {
  const path = join(keysDir, "issued-at");
  if (!existsSync(path)) writeFileSync(path, `${Math.floor(now / 1000) * 1000}\n`, { flag: "wx" });
  const t = Number(readFileSync(path, "utf8").trim());
  if (!Number.isSafeInteger(t) || t <= 0)
    throw new VerinferError("CONFIG_INVALID", `${path} must hold a time in epoch milliseconds`, {
      file: path,
    });
  return t;
}

/**
 * The OCSP responses for the dev TEE's identity CA and RIM signer (in that order) as its root answers
 * them at `at`, valid 7 days: fresh collateral for certificates issued at any earlier time, since a
 * response names its certificate by the issuer's name and key and the serial, not by dates. It is what
 * keeps dev evidence re-attestable past the policy's 7-day collateral age, the report (and so the
 * attestation hash receipts carry) unchanged — as an H100 operator fetches fresh responses from NVIDIA.
 */
export function freshDevOcsp(keysDir: string, at: number): Uint8Array[] {
  return [...buildDevTee(devKeys(keysDir, false).keys, at).ocsp];
}

/** Writes a complete dev evidence folder; returns the files written. */
export function writeDevEvidence(
  dir: string,
  options: {
    nonce?: Uint8Array;
    /** Bind this enclave key to this challenge (writes bundle.json); overrides `nonce`. */
    binding?: { enclavePublicKey: Uint8Array; challenge: Uint8Array };
    mode: number;
    at: number;
    /**
     * Where the dev TEE's keys live (default `dir`). Machines sharing them share one dev root: its
     * certificates are then issued at {@link sharedIssueTime} instead of `at`, so they are identical.
     */
    keysDir?: string;
  },
): { files: string[]; nonce: Uint8Array; createdKeys: boolean } {
  const { keys, created } = devKeys(options.keysDir ?? dir);
  const firmware = { ...DEV_TEE_FIRMWARE, mode: options.mode };
  const issuedAt = options.keysDir ? sharedIssueTime(options.keysDir, options.at) : options.at;
  const tee = buildDevTee(keys, issuedAt, firmware);
  const nonce = options.binding
    ? bindingNonce(options.binding.enclavePublicKey, options.binding.challenge)
    : (options.nonce ?? new Uint8Array(randomBytes(32)));
  const report = devReport(keys, nonce, new Uint8Array(randomBytes(32)), firmware);
  const collateral = join(dir, "collateral");
  mkdirSync(join(collateral, "rims"), { recursive: true });
  mkdirSync(join(collateral, "ocsp"), { recursive: true });
  const out: [string, string | Uint8Array][] = [
    ["dev-root.pem", tee.rootPem],
    ["chain.pem", tee.chainPem],
    ["report.hex", `${bytesToHex(report).slice(2)}\n`],
    ["nonce.hex", `${bytesToHex(nonce).slice(2)}\n`],
    [
      "evidence.json",
      formatEvidenceJson([
        { arch: "DEV_TEE", nonce: bytesToHex(nonce).slice(2), report, chainPem: tee.chainPem },
      ]),
    ],
    [join("collateral", "rims", "driver.swidtag"), tee.driverRim],
    [join("collateral", "rims", "vbios.swidtag"), tee.vbiosRim],
    [join("collateral", "ocsp", "identity.der"), tee.ocsp[0] as Uint8Array],
    [join("collateral", "ocsp", "rim-signer.der"), tee.ocsp[1] as Uint8Array],
  ];
  if (options.binding) {
    const bundle = formatEvidenceBundle({
      version: 1,
      enclavePublicKey: options.binding.enclavePublicKey,
      challenge: options.binding.challenge,
      gpus: [{ arch: "DEV_TEE", nonce: bytesToHex(nonce).slice(2), report, chainPem: tee.chainPem }],
      cpu: null,
    });
    out.push(["bundle.json", bundle]);
  }
  for (const [name, content] of out) writeFileSync(join(dir, name), content);
  return { files: out.map(([name]) => join(dir, name)), nonce, createdKeys: created };
}
