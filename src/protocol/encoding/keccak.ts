import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, type Hex, hexToBytes, utf8Bytes } from "./hex.ts";

/** keccak-256 (the Ethereum hash, not NIST SHA3-256) of bytes. */
export function keccak256(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}

/** keccak-256 of bytes, as 0x hex. */
export function keccak256Hex(data: Uint8Array): Hex {
  return bytesToHex(keccak_256(data));
}

/** keccak-256 of the UTF-8 bytes of a string, as 0x hex (Solidity `keccak256(bytes(s))`). */
export function keccakUtf8(text: string): Hex {
  return bytesToHex(keccak_256(utf8Bytes(text)));
}

/** keccak-256 of the bytes a 0x hex string denotes. */
export function keccakOfHex(hex: string): Hex {
  return bytesToHex(keccak_256(hexToBytes(hex)));
}
