/**
 * The fast receipt path: libsecp256k1 (the `secp256k1` package's N-API binding, prebuilt for
 * linux-x64) and native keccak-256 (the `keccak` package). node:crypto cannot serve here: OpenSSL 3.0
 * has no keccak-256 and hashes before it verifies, and its secp256k1 is the generic slow curve code.
 * If a binding cannot load, {@link loadNativeSecp256k1} returns null and callers use the pure backend.
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { bytesToHex, type Hex } from "../protocol/encoding/hex.ts";
import { keccak256 } from "../protocol/encoding/keccak.ts";
import { type Secp256k1Backend, signDigest } from "../protocol/receipt/verifyReceipt.ts";

/** The package's API over its native addon (`secp256k1/bindings.js` throws when the addon is absent). */
interface SecpBinding {
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
  ecdsaSign(msg32: Uint8Array, seckey: Uint8Array): { signature: Uint8Array; recid: number };
}
/** The `keccak` package's native sponge (used directly: its stream wrapper costs more than the hash). */
interface KeccakState {
  initialize(rate: number, capacity: number): void;
  absorb(data: Buffer): void;
  absorbLastFewBits(bits: number): void;
  squeeze(length: number): Buffer;
}

let cached: Secp256k1Backend | null | undefined;
let nativeSign: ((digest: Uint8Array, privateKey: Uint8Array) => Hex) | null = null;

/** The native backend, or null when the native bindings are unavailable on this machine. */
export function loadNativeSecp256k1(): Secp256k1Backend | null {
  if (cached !== undefined) return cached;
  try {
    const require = createRequire(import.meta.url);
    const secp = require("secp256k1/bindings.js") as SecpBinding;
    const keccakPackage = require.resolve("keccak/package.json");
    const addon = createRequire(keccakPackage)("node-gyp-build")(
      dirname(keccakPackage),
    ) as new () => KeccakState;
    const state = new addon();
    // Keccak-256: rate 1088 bits, capacity 512, original Keccak padding (0x01), 32-byte output.
    const keccak = (data: Uint8Array) => {
      state.initialize(1088, 512);
      state.absorb(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      state.absorbLastFewBits(0x01);
      const out = state.squeeze(32);
      return new Uint8Array(out.buffer, out.byteOffset, 32);
    };
    // libsecp256k1 signs as @noble does (RFC 6979 nonces, low s): the same 65 bytes, several times faster.
    nativeSign = (digest, privateKey) => {
      const { signature, recid } = secp.ecdsaSign(digest, privateKey);
      const out = new Uint8Array(65);
      out.set(signature, 0);
      out[64] = 27 + recid;
      return bytesToHex(out);
    };
    cached = {
      name: "native (libsecp256k1 + keccak)",
      keccak256: keccak,
      recover(digest, signature, recoveryId) {
        try {
          return secp.ecdsaRecover(signature, recoveryId, digest, false);
        } catch {
          return null;
        }
      },
    };
  } catch {
    cached = null;
  }
  return cached;
}

/**
 * `signDigest` (r ‖ s ‖ v, deterministic, low s) through libsecp256k1 when it loads, else pure JS: what
 * nodes sign per request with (a gateway's role signature, a worker's receipt).
 */
export function fastSignDigest(): (digest: Uint8Array, privateKey: Uint8Array) => Hex {
  loadNativeSecp256k1();
  return nativeSign ?? signDigest;
}

/** keccak-256: the native binding when it loads (same hashes, several times faster), else pure JS. */
export function fastKeccak256(): (data: Uint8Array) => Uint8Array {
  return loadNativeSecp256k1()?.keccak256 ?? keccak256;
}
