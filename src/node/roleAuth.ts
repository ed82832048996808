/**
 * Messages between roles are authenticated by signature, not by network address: the sender signs
 * keccak256("verinfer-role-message" ‖ method ‖ path ‖ time ‖ keccak256(body)) with its node key, the
 * receiver recovers the signer, accepts only keys it was configured with, and only within `maxSkewMs`
 * of its own clock (a captured message cannot be replayed later; within the window, request ids make
 * a replay harmless).
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { fastKeccak256, fastSignDigest, loadNativeSecp256k1 } from "../crypto/nativeSecp256k1.ts";
import { concatBytes, type Hex, hexToBytes, utf8Bytes } from "../protocol/encoding/hex.ts";
import { fail, ok, type Verdict } from "../protocol/errors.ts";
import { addressOf } from "../protocol/receipt/receipt.ts";
import { pureSecp256k1, splitSignature } from "../protocol/receipt/verifyReceipt.ts";

export const SIGNATURE_HEADER = "x-verinfer-signature";
export const TIME_HEADER = "x-verinfer-time";
/** How far a message's time may be from the receiver's clock. */
export const DEFAULT_MAX_SKEW_MS = 60_000;

function messageDigest(method: string, path: string, timeMs: number, body: string): Uint8Array {
  // Native keccak when it loads: every request to a worker is hashed twice on each side.
  const keccak256 = fastKeccak256();
  return keccak256(
    concatBytes(
      utf8Bytes(`verinfer-role-message\n${method.toUpperCase()}\n${path}\n${timeMs}\n`),
      keccak256(utf8Bytes(body)),
    ),
  );
}

/** The headers that authenticate a message from the holder of `key`. */
export function signRoleMessage(
  key: Hex,
  method: string,
  path: string,
  body: string,
  timeMs: number,
): Record<string, string> {
  return {
    [SIGNATURE_HEADER]: fastSignDigest()(messageDigest(method, path, timeMs, body), hexToBytes(key, 32)),
    [TIME_HEADER]: String(timeMs),
  };
}

/** The address of a key (what receivers are configured with). */
export function addressOfKey(key: Hex): Hex {
  return addressOf(secp256k1.getPublicKey(hexToBytes(key, 32), false));
}

/** Checks a message's signature and time; returns the signer's address. */
export function verifyRoleMessage(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  m: { readonly method: string; readonly path: string; readonly body: string },
  accepted: ReadonlySet<string>,
  nowMs: number,
  maxSkewMs = DEFAULT_MAX_SKEW_MS,
): Verdict<Hex> {
  const signature = headers[SIGNATURE_HEADER];
  const time = headers[TIME_HEADER];
  if (typeof signature !== "string" || typeof time !== "string" || !/^\d{1,16}$/.test(time))
    return fail("NODE_AUTH_INVALID", `the message lacks the ${SIGNATURE_HEADER} and ${TIME_HEADER} headers`);
  const timeMs = Number(time);
  if (Math.abs(nowMs - timeMs) > maxSkewMs)
    return fail(
      "NODE_AUTH_INVALID",
      `the message was signed at ${timeMs}, over ${maxSkewMs} ms from now (${nowMs})`,
    );
  const parts = splitSignature(signature as Hex);
  if (!parts) return fail("NODE_AUTH_INVALID", "the signature is not 65 bytes of 0x hex");
  const backend = loadNativeSecp256k1() ?? pureSecp256k1;
  const key = backend.recover(messageDigest(m.method, m.path, timeMs, m.body), parts.rs, parts.recoveryId);
  const signer = key ? addressOf(key) : null;
  if (!signer || !accepted.has(signer.toLowerCase()))
    return fail(
      "NODE_AUTH_INVALID",
      `the message is signed by ${signer ?? "no key"}, which this node does not accept`,
    );
  return ok(signer);
}
