/**
 * EIP-712 typed-data hashing (https://eips.ethereum.org/EIPS/eip-712), written against the spec so
 * that the digest equals what Solidity computes with `_hashTypedDataV4` and what `ecrecover` needs.
 */
import { fail, ok, unwrap, type Verdict } from "../errors.ts";
import { encodeAtomicWord, isAtomicType } from "./abiWord.ts";
import { bytesToHex, concatBytes, type Hex, parseHex, utf8Bytes } from "./hex.ts";
import { keccak256 } from "./keccak.ts";

/** One member of a struct type. */
export interface TypedDataField {
  readonly name: string;
  readonly type: string;
}

/** Struct definitions by name (EIP712Domain may be omitted; it is derived from the domain). */
export type TypedDataTypes = Readonly<Record<string, readonly TypedDataField[]>>;

/** The EIP-712 domain; only the fields present take part in the separator. */
export interface Eip712Domain {
  readonly name?: string;
  readonly version?: string;
  readonly chainId?: number | bigint;
  readonly verifyingContract?: Hex;
  readonly salt?: Hex;
}

/** A complete typed-data payload. */
export interface TypedData {
  readonly domain: Eip712Domain;
  readonly types: TypedDataTypes;
  readonly primaryType: string;
  readonly message: Readonly<Record<string, unknown>>;
}

const DOMAIN_FIELDS: readonly TypedDataField[] = [
  { name: "name", type: "string" },
  { name: "version", type: "string" },
  { name: "chainId", type: "uint256" },
  { name: "verifyingContract", type: "address" },
  { name: "salt", type: "bytes32" },
];

const ARRAY_SUFFIX = /^(.*)\[(\d*)\]$/;

/** The EIP712Domain struct for the fields present in `domain`, in canonical order. */
export function domainFields(domain: Eip712Domain): TypedDataField[] {
  return DOMAIN_FIELDS.filter((f) => (domain as Record<string, unknown>)[f.name] !== undefined);
}

function baseStructName(type: string): string {
  let t = type;
  for (let m = ARRAY_SUFFIX.exec(t); m; m = ARRAY_SUFFIX.exec(t)) t = m[1] as string;
  return t;
}

function collectDependencies(type: string, types: TypedDataTypes, found: Set<string>): Verdict<Set<string>> {
  const base = baseStructName(type);
  if (found.has(base) || types[base] === undefined) return ok(found);
  found.add(base);
  for (const field of types[base]) {
    if (typeof field.name !== "string" || typeof field.type !== "string") {
      return fail("EIP712_TYPE_INVALID", `malformed field in struct ${base}`, { struct: base });
    }
    const inner = collectDependencies(field.type, types, found);
    if (!inner.ok) return inner;
  }
  return ok(found);
}

/** `encodeType`: the primary struct followed by its dependencies sorted by name. */
export function encodeType(primaryType: string, types: TypedDataTypes): Verdict<string> {
  if (types[primaryType] === undefined) {
    return fail("EIP712_TYPE_INVALID", `unknown struct type ${primaryType}`, { primaryType });
  }
  const deps = collectDependencies(primaryType, types, new Set());
  if (!deps.ok) return deps;
  const others = [...deps.value].filter((t) => t !== primaryType).sort();
  const encode = (name: string) =>
    `${name}(${(types[name] as readonly TypedDataField[]).map((f) => `${f.type} ${f.name}`).join(",")})`;
  return ok([primaryType, ...others].map(encode).join(""));
}

/** `typeHash = keccak256(encodeType(type))`. */
export function typeHash(primaryType: string, types: TypedDataTypes): Verdict<Uint8Array> {
  const encoded = encodeType(primaryType, types);
  return encoded.ok ? ok(keccak256(utf8Bytes(encoded.value))) : encoded;
}

function encodeValue(type: string, value: unknown, types: TypedDataTypes, path: string): Verdict<Uint8Array> {
  const array = ARRAY_SUFFIX.exec(type);
  if (array) {
    if (!Array.isArray(value)) return fail("EIP712_VALUE_INVALID", `${path}: expected an array`, { path });
    const fixed = array[2] === "" ? null : Number(array[2]);
    if (fixed !== null && value.length !== fixed) {
      return fail("EIP712_VALUE_INVALID", `${path}: expected ${fixed} elements, got ${value.length}`, {
        path,
      });
    }
    const parts: Uint8Array[] = [];
    for (let i = 0; i < value.length; i++) {
      const part = encodeValue(array[1] as string, value[i], types, `${path}[${i}]`);
      if (!part.ok) return part;
      parts.push(part.value);
    }
    return ok(keccak256(concatBytes(...parts)));
  }
  if (types[type] !== undefined) {
    if (typeof value !== "object" || value === null) {
      return fail("EIP712_VALUE_INVALID", `${path}: expected a ${type} struct`, { path });
    }
    return hashStructAt(type, value as Record<string, unknown>, types, path);
  }
  if (type === "string") {
    if (typeof value !== "string")
      return fail("EIP712_VALUE_INVALID", `${path}: expected a string`, { path });
    return ok(keccak256(utf8Bytes(value)));
  }
  if (type === "bytes") {
    if (typeof value !== "string")
      return fail("EIP712_VALUE_INVALID", `${path}: expected hex bytes`, { path });
    const bytes = parseHex(value);
    if (!bytes.ok) return fail("EIP712_VALUE_INVALID", `${path}: ${bytes.error.message}`, { path });
    return ok(keccak256(bytes.value));
  }
  if (!isAtomicType(type))
    return fail("EIP712_TYPE_INVALID", `${path}: unknown type ${type}`, { path, type });
  const word = encodeAtomicWord(type, value);
  if (!word.ok) return fail(word.error.code, `${path}: ${word.error.message}`, { path, type });
  return word;
}

function hashStructAt(
  primaryType: string,
  data: Readonly<Record<string, unknown>>,
  types: TypedDataTypes,
  path: string,
): Verdict<Uint8Array> {
  const th = typeHash(primaryType, types);
  if (!th.ok) return th;
  const parts: Uint8Array[] = [th.value];
  for (const field of types[primaryType] as readonly TypedDataField[]) {
    if (!(field.name in data)) {
      return fail("EIP712_VALUE_INVALID", `${path}.${field.name}: missing`, {
        path: `${path}.${field.name}`,
      });
    }
    const encoded = encodeValue(field.type, data[field.name], types, `${path}.${field.name}`);
    if (!encoded.ok) return encoded;
    parts.push(encoded.value);
  }
  return ok(keccak256(concatBytes(...parts)));
}

/** `hashStruct(s) = keccak256(typeHash ‖ encodeData(s))`. */
export function hashStruct(
  primaryType: string,
  data: Readonly<Record<string, unknown>>,
  types: TypedDataTypes,
): Verdict<Uint8Array> {
  return hashStructAt(primaryType, data, types, primaryType);
}

/** The domain separator `hashStruct(eip712Domain)`. */
export function domainSeparator(domain: Eip712Domain): Verdict<Uint8Array> {
  const types = { EIP712Domain: domainFields(domain) };
  return hashStruct("EIP712Domain", domain as Record<string, unknown>, types);
}

/** The signing digest `keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(message))`. */
export function hashTypedData(data: TypedData): Verdict<Hex> {
  const separator = domainSeparator(data.domain);
  if (!separator.ok) return separator;
  const { EIP712Domain: _ignored, ...types } = data.types;
  const message = hashStruct(data.primaryType, data.message, types);
  if (!message.ok) return message;
  return ok(bytesToHex(keccak256(concatBytes(new Uint8Array([0x19, 0x01]), separator.value, message.value))));
}

/** Throwing variant of {@link hashTypedData}. */
export function assertHashTypedData(data: TypedData): Hex {
  return unwrap(hashTypedData(data));
}
