/**
 * The PoEA receipt (DESIGN.md "Core formats"): what a worker signs for every request, binding the
 * output, the execution trace, the model (id and weights hash), the engine's measurement and the
 * hardware attestation. It is EIP-712 typed data — domain `verinfer` / `1` / chainId / settlement
 * contract — signed with secp256k1 by the worker's enclave key, so Solidity can `ecrecover` it.
 *
 * The struct encoding is written out directly (every field is a static 32-byte word) so the hot path
 * hashes one buffer; tests check it against the generic EIP-712 encoder and viem.
 */
import { bytesToHex, type Hex, hexToBytes, writeHex } from "../encoding/hex.ts";
import { keccak256 } from "../encoding/keccak.ts";
import { fail, ok, type Verdict } from "../errors.ts";

/** EIP-712 struct of a receipt (chainId and settlement are in the domain). */
export const RECEIPT_FIELDS = [
  { name: "version", type: "uint16" },
  { name: "requestId", type: "bytes32" },
  { name: "worker", type: "address" },
  { name: "modelId", type: "bytes32" },
  { name: "weightsHash", type: "bytes32" },
  { name: "engineHash", type: "bytes32" },
  { name: "promptHash", type: "bytes32" },
  { name: "paramsHash", type: "bytes32" },
  { name: "outputHash", type: "bytes32" },
  { name: "traceRoot", type: "bytes32" },
  { name: "inputTokens", type: "uint32" },
  { name: "outputTokens", type: "uint32" },
  { name: "latencyMs", type: "uint32" },
  { name: "timestamp", type: "uint64" },
  { name: "sequence", type: "uint64" },
  { name: "attestationHash", type: "bytes32" },
] as const;

/** The receipt format version this code writes and accepts. */
export const RECEIPT_VERSION = 1;
/** EIP-712 domain name and version. */
export const RECEIPT_DOMAIN = { name: "verinfer", version: "1" } as const;

/** A receipt. Hashes are 0x-prefixed 32-byte hex, `worker` and `settlement` 20-byte addresses. */
export interface Receipt {
  readonly version: number;
  readonly chainId: bigint;
  readonly settlement: Hex;
  readonly requestId: Hex;
  readonly worker: Hex;
  readonly modelId: Hex;
  readonly weightsHash: Hex;
  readonly engineHash: Hex;
  readonly promptHash: Hex;
  readonly paramsHash: Hex;
  readonly outputHash: Hex;
  readonly traceRoot: Hex;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly latencyMs: number;
  /** Milliseconds since the epoch, when the worker signed. */
  readonly timestamp: bigint;
  /** Per-worker counter; each value is accepted once. */
  readonly sequence: bigint;
  /** keccak256 of the attestation report the worker's enclave key was registered with. */
  readonly attestationHash: Hex;
}

/** A receipt with its 65-byte signature `r ‖ s ‖ v` (v = 27 or 28). */
export interface SignedReceipt {
  readonly receipt: Receipt;
  readonly signature: Hex;
}

const BYTES32 = new Set([
  "requestId",
  "modelId",
  "weightsHash",
  "engineHash",
  "promptHash",
  "paramsHash",
  "outputHash",
  "traceRoot",
  "attestationHash",
]);
const UINT_BITS: Readonly<Record<string, number>> = {
  version: 16,
  inputTokens: 32,
  outputTokens: 32,
  latencyMs: 32,
  timestamp: 64,
  sequence: 64,
  chainId: 256,
};
const FIELD_NAMES = new Set<string>([...RECEIPT_FIELDS.map((f) => f.name), "chainId", "settlement"]);

const utf8 = (s: string) => new TextEncoder().encode(s);
const RECEIPT_TYPE_HASH = keccak256(
  utf8(`Receipt(${RECEIPT_FIELDS.map((f) => `${f.type} ${f.name}`).join(",")})`),
);
const DOMAIN_TYPE_HASH = keccak256(
  utf8("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
);

function word(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = value;
  for (let i = 31; i >= 0 && v > 0n; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

const separators = new Map<string, Uint8Array>();

/** The EIP-712 domain separator for a chain and settlement contract (cached). */
export function receiptDomainSeparator(
  chainId: bigint,
  settlement: Hex,
  hash: (b: Uint8Array) => Uint8Array = keccak256,
): Uint8Array {
  const id = `${chainId}:${settlement.toLowerCase()}`;
  let sep = separators.get(id);
  if (!sep) {
    const buf = new Uint8Array(5 * 32);
    buf.set(DOMAIN_TYPE_HASH, 0);
    buf.set(keccak256(utf8(RECEIPT_DOMAIN.name)), 32);
    buf.set(keccak256(utf8(RECEIPT_DOMAIN.version)), 64);
    buf.set(word(chainId), 96);
    buf.set(hexToBytes(settlement, 20), 128 + 12);
    sep = hash(buf);
    if (separators.size > 1024) separators.clear();
    separators.set(id, sep);
  }
  return sep;
}

function writeFixedHex(value: Hex, bytes: number, buf: Uint8Array, at: number): void {
  if (value.length !== 2 + 2 * bytes) throw new RangeError(`expected ${bytes} bytes of hex, got ${value}`);
  writeHex(value, buf, at);
}

function writeUint32(value: number, buf: Uint8Array, at: number): void {
  buf[at + 28] = value >>> 24;
  buf[at + 29] = (value >>> 16) & 0xff;
  buf[at + 30] = (value >>> 8) & 0xff;
  buf[at + 31] = value & 0xff;
}

/** `typeHash ‖ encodeData(receipt)`: 17 words. The receipt must be valid ({@link validateReceipt}). */
export function encodeReceiptStruct(r: Receipt): Uint8Array {
  const buf = new Uint8Array(17 * 32);
  buf.set(RECEIPT_TYPE_HASH, 0);
  RECEIPT_FIELDS.forEach((f, i) => {
    const value = r[f.name];
    const at = 32 * (i + 1);
    if (f.type === "bytes32") writeFixedHex(value as Hex, 32, buf, at);
    else if (f.type === "address") writeFixedHex(value as Hex, 20, buf, at + 12);
    else if (typeof value === "number") writeUint32(value, buf, at);
    else buf.set(word(value as bigint), at);
  });
  return buf;
}

/** The EIP-712 signing digest of a receipt. `hash` is keccak-256 (pluggable for a native fast path). */
export function receiptDigest(r: Receipt, hash: (b: Uint8Array) => Uint8Array = keccak256): Uint8Array {
  const structHash = hash(encodeReceiptStruct(r));
  const buf = new Uint8Array(66);
  buf[0] = 0x19;
  buf[1] = 0x01;
  buf.set(receiptDomainSeparator(r.chainId, r.settlement, hash), 2);
  buf.set(structHash, 34);
  return hash(buf);
}

/** The receipt as typed data for generic EIP-712 tools (viem, wallets). */
export function receiptTypedData(r: Receipt) {
  const { chainId, settlement, ...message } = r;
  return {
    domain: { ...RECEIPT_DOMAIN, chainId, verifyingContract: settlement },
    types: { Receipt: RECEIPT_FIELDS.map((f) => ({ ...f })) },
    primaryType: "Receipt" as const,
    message,
  };
}

function isHex(v: unknown, bytes: number): v is Hex {
  return typeof v === "string" && v.length === 2 + 2 * bytes && /^0x[0-9a-fA-F]*$/.test(v);
}

/**
 * Validates a receipt from JSON (numbers or decimal strings for integers, 0x hex for hashes and
 * addresses), reporting every problem. Unknown fields are rejected so nothing unsigned rides along.
 */
export function validateReceipt(value: unknown): Verdict<Receipt> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return fail("RECEIPT_MALFORMED", "a receipt must be a JSON object");
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(v)) if (!FIELD_NAMES.has(key)) problems.push(`unknown field "${key}"`);
  const out: Record<string, unknown> = {};
  for (const name of FIELD_NAMES) {
    const x = v[name];
    if (x === undefined) {
      problems.push(`missing field "${name}"`);
      continue;
    }
    if (BYTES32.has(name)) {
      if (isHex(x, 32)) out[name] = x.toLowerCase();
      else problems.push(`${name} must be 32 bytes of 0x hex`);
    } else if (name === "worker" || name === "settlement") {
      if (isHex(x, 20)) out[name] = x.toLowerCase();
      else problems.push(`${name} must be a 20-byte 0x address`);
    } else {
      const bits = UINT_BITS[name] as number;
      let n: bigint | null = null;
      if (typeof x === "number" && Number.isSafeInteger(x)) n = BigInt(x);
      else if (typeof x === "string" && /^(0|[1-9]\d*)$/.test(x)) n = BigInt(x);
      if (n === null || n < 0n || n >= 1n << BigInt(bits))
        problems.push(`${name} must be an unsigned ${bits}-bit integer`);
      else out[name] = bits <= 32 ? Number(n) : n;
    }
  }
  if (problems.length === 0 && out.version !== RECEIPT_VERSION)
    problems.push(`version must be ${RECEIPT_VERSION}, got ${out.version}`);
  return problems.length
    ? fail("RECEIPT_MALFORMED", `malformed receipt: ${problems.join("; ")}`, { problems })
    : ok(out as unknown as Receipt);
}

/** Validates `{ receipt, signature }` from JSON. */
export function validateSignedReceipt(value: unknown): Verdict<SignedReceipt> {
  if (typeof value !== "object" || value === null)
    return fail("RECEIPT_MALFORMED", "a signed receipt must be a JSON object");
  const { receipt, signature, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length)
    return fail("RECEIPT_MALFORMED", `unknown field "${Object.keys(rest)[0]}" beside receipt and signature`);
  const r = validateReceipt(receipt);
  if (!r.ok) return r;
  if (!isHex(signature, 65))
    return fail("RECEIPT_SIGNATURE_INVALID", "the signature must be 65 bytes of 0x hex (r ‖ s ‖ v)");
  return ok({ receipt: r.value, signature: signature.toLowerCase() as Hex });
}

/** JSON form: integers above 32 bits as decimal strings. */
export function receiptToJson(signed: SignedReceipt): { receipt: Record<string, unknown>; signature: Hex } {
  const r = signed.receipt;
  return {
    receipt: {
      ...r,
      chainId: r.chainId.toString(),
      timestamp: r.timestamp.toString(),
      sequence: r.sequence.toString(),
    },
    signature: signed.signature,
  };
}

/** The Ethereum address of an uncompressed secp256k1 public key (65 bytes, 0x04 ‖ x ‖ y). */
export function addressOf(publicKey: Uint8Array, hash: (b: Uint8Array) => Uint8Array = keccak256): Hex {
  if (publicKey.length !== 65 || publicKey[0] !== 4)
    throw new RangeError("expected an uncompressed secp256k1 public key");
  return bytesToHex(hash(publicKey.subarray(1)).subarray(12));
}
