/**
 * Node keys in files (issue: "keys in files with mode 0600"): one 0x-hex secp256k1 private key per
 * file, created with the system's CSPRNG and mode 0600 when absent, refused when other users may read it.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { VerinferError } from "../errors.ts";
import { bytesToHex, type Hex } from "../protocol/encoding/hex.ts";

/** Reads the key in `path`; throws KEY_FILE_INSECURE when group or others have any access to it. */
export function readKeyFile(path: string): Hex {
  if (!existsSync(path))
    throw new VerinferError("FILE_NOT_FOUND", `key file not found: ${path}`, { file: path });
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new VerinferError(
      "KEY_FILE_INSECURE",
      `${path} has mode ${mode.toString(8).padStart(4, "0")}; a key file must be readable by its owner only (chmod 600 ${path})`,
      { file: path },
    );
  const text = readFileSync(path, "utf8").trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(text))
    throw new VerinferError("KEY_FILE_INVALID", `${path} must hold one 0x-prefixed 32-byte hex private key`, {
      file: path,
    });
  if (!secp256k1.utils.isValidSecretKey(Buffer.from(text.slice(2), "hex")))
    throw new VerinferError("KEY_FILE_INVALID", `${path} holds a value that is not a secp256k1 private key`, {
      file: path,
    });
  return text.toLowerCase() as Hex;
}

/** Writes `key` to a new file with mode 0600 (never overwrites). */
export function writeKeyFile(path: string, key: Hex): void {
  writeFileSync(path, `${key}\n`, { mode: 0o600, flag: "wx" });
}

/** The key in `path`, generated first when the file does not exist. */
export function loadOrCreateKey(path: string): { key: Hex; created: boolean } {
  if (existsSync(path)) return { key: readKeyFile(path), created: false };
  const key = bytesToHex(secp256k1.utils.randomSecretKey());
  writeKeyFile(path, key);
  return { key, created: true };
}
