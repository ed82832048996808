import { secp256k1 } from "@noble/curves/secp256k1.js";
import { writeDevEvidence } from "../../attestation/devEvidence.ts";
import { readTextFile } from "../../data/files.ts";
import { VerinferError } from "../../errors.ts";
import { bytesToHex, parseHex } from "../../protocol/encoding/hex.ts";
import { parseIsoTime } from "../../protocol/encoding/time.ts";
import type { CommandSpec } from "../framework/command.ts";

/** 32 bytes of hex (0x optional), or a usage error naming what it was. */
function hex32(text: string, what: string): Uint8Array {
  const t = text.trim();
  const v = parseHex(t.startsWith("0x") ? t : `0x${t}`, 32);
  if (!v.ok) throw new VerinferError("CLI_USAGE", `${what}: ${v.error.message}`);
  return v.value;
}

/** `verinfer attest dev-evidence`. */
export const devEvidenceCommand: CommandSpec = {
  name: "dev-evidence",
  summary: "write dev-TEE evidence (chain, report, RIMs, OCSP) for machines without H100s",
  description: [
    "Generates (once, then reuses) a local P-384 chain and writes evidence of NVIDIA's shape: an SPDM report for a",
    "nonce, the chain, an NVIDIA-format evidence.json, signed driver and VBIOS RIMs and OCSP responses under",
    "collateral/. Verifiers accept it only with --allow-dev-tee, and say it is dev evidence. With --enclave-key and",
    "--challenge the nonce binds a worker's secp256k1 key: keccak256(public key ‖ challenge).",
  ].join("\n"),
  options: {
    out: {
      type: "string",
      value: "DIR",
      required: true,
      description: "folder to write (keys are kept in DIR/keys)",
    },
    nonce: { type: "string", value: "HEX", description: "32-byte nonce to answer (default: random)" },
    "enclave-key": {
      type: "string",
      value: "FILE",
      description: "worker secp256k1 private key (hex) to bind",
    },
    challenge: {
      type: "string",
      value: "HEX",
      description: "verifier challenge (32 bytes) for the key binding",
    },
    mode: {
      type: "string",
      default: "production",
      choices: ["production", "debug", "devtools"],
      description: "TEE mode the report states",
    },
    at: {
      type: "string",
      value: "ISO-TIME",
      description: "issue time of the certificates and OCSP responses (default: now)",
    },
  },
  examples: [
    "verinfer attest dev-evidence --out dev-tee",
    "verinfer attest dev-evidence --out dev-tee --enclave-key worker.key --challenge 0x1234...",
  ],
  run(ctx) {
    const out = ctx.string("out") as string;
    const atText = ctx.string("at");
    const at = atText ? parseIsoTime(atText) : Date.now();
    if (at === null) throw new VerinferError("CLI_USAGE", `--at ${atText} is not an ISO 8601 UTC time`);
    let nonce: Uint8Array | undefined;
    let binding: { enclavePublicKey: Uint8Array; challenge: Uint8Array } | undefined;
    const keyFile = ctx.string("enclave-key");
    const challenge = ctx.string("challenge");
    if (keyFile || challenge) {
      if (!keyFile || !challenge)
        throw new VerinferError("CLI_USAGE", "--enclave-key and --challenge go together");
      if (ctx.string("nonce"))
        throw new VerinferError("CLI_USAGE", "--nonce cannot be combined with a key binding");
      const privateKey = hex32(readTextFile(keyFile, 1024), `--enclave-key ${keyFile}`);
      binding = {
        enclavePublicKey: secp256k1.getPublicKey(privateKey, false),
        challenge: hex32(challenge, "--challenge"),
      };
    } else if (ctx.string("nonce")) nonce = hex32(ctx.string("nonce") as string, "--nonce");
    const mode = ["production", "debug", "devtools"].indexOf(ctx.string("mode") as string);
    const written = writeDevEvidence(out, {
      ...(nonce ? { nonce } : {}),
      ...(binding ? { binding } : {}),
      mode,
      at,
    });
    const nonceHex = bytesToHex(written.nonce).slice(2);
    ctx.output(
      {
        kind: "verinfer.dev-evidence",
        dir: out,
        nonce: nonceHex,
        createdKeys: written.createdKeys,
        files: written.files,
      },
      () =>
        [
          `wrote dev-TEE evidence to ${out} (${written.createdKeys ? "new" : "existing"} dev keys in ${out}/keys; mode ${ctx.string("mode")})`,
          ...written.files.map((f) => `  ${f}`),
          "",
          "verify it with:",
          binding
            ? `  verinfer attest verify --bundle ${out}/bundle.json --challenge ${bytesToHex(binding.challenge).slice(2)} --offline ${out}/collateral --dev-root ${out}/dev-root.pem --allow-dev-tee`
            : `  verinfer attest verify --report ${out}/report.hex --chain ${out}/chain.pem --offline ${out}/collateral --dev-root ${out}/dev-root.pem --allow-dev-tee --nonce ${nonceHex}`,
        ].join("\n"),
    );
    return 0;
  },
};
