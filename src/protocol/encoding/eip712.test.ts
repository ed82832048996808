import fc from "fast-check";
import { hashTypedData as viemHashTypedData } from "viem";
import { describe, expect, it } from "vitest";
import { domainSeparator, encodeType, hashStruct, hashTypedData, type TypedData } from "./eip712.ts";
import { bytesToHex } from "./hex.ts";

// The worked example of the EIP-712 specification (assets/eip-712/Example.js) and its published hashes.
const MAIL: TypedData = {
  domain: {
    name: "Ether Mail",
    version: "1",
    chainId: 1,
    verifyingContract: "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC",
  },
  types: {
    Person: [
      { name: "name", type: "string" },
      { name: "wallet", type: "address" },
    ],
    Mail: [
      { name: "from", type: "Person" },
      { name: "to", type: "Person" },
      { name: "contents", type: "string" },
    ],
  },
  primaryType: "Mail",
  message: {
    from: { name: "Cow", wallet: "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826" },
    to: { name: "Bob", wallet: "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB" },
    contents: "Hello, Bob!",
  },
};

describe("EIP-712", () => {
  it("reproduces the specification's Mail example", () => {
    const encoded = encodeType("Mail", MAIL.types);
    expect(encoded).toEqual({
      ok: true,
      value: "Mail(Person from,Person to,string contents)Person(string name,address wallet)",
    });
    const separator = domainSeparator(MAIL.domain);
    expect(separator.ok && bytesToHex(separator.value)).toBe(
      "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f",
    );
    const message = hashStruct("Mail", MAIL.message, MAIL.types);
    expect(message.ok && bytesToHex(message.value)).toBe(
      "0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e",
    );
    expect(hashTypedData(MAIL)).toEqual({
      ok: true,
      value: "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2",
    });
  });

  it("agrees with viem on random receipts-like structs with arrays and bytes", () => {
    const types = {
      Item: [
        { name: "id", type: "uint64" },
        { name: "delta", type: "int128" },
        { name: "tag", type: "bytes4" },
      ],
      Record: [
        { name: "owner", type: "address" },
        { name: "flag", type: "bool" },
        { name: "note", type: "string" },
        { name: "blob", type: "bytes" },
        { name: "items", type: "Item[]" },
        { name: "root", type: "bytes32" },
      ],
    } as const;
    const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => bytesToHex(b));
    const item = fc.record({
      id: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      delta: fc.bigInt({ min: -(1n << 127n), max: (1n << 127n) - 1n }),
      tag: hex(4),
    });
    fc.assert(
      fc.property(
        fc.record({
          owner: hex(20),
          flag: fc.boolean(),
          note: fc.string(),
          blob: fc.uint8Array({ maxLength: 70 }).map((b) => bytesToHex(b)),
          items: fc.array(item, { maxLength: 4 }),
          root: hex(32),
        }),
        fc.bigInt({ min: 1n, max: 1n << 40n }),
        (message, chainId) => {
          const data = {
            domain: { name: "verinfer", version: "1", chainId, verifyingContract: message.owner },
            types,
            primaryType: "Record" as const,
            message,
          };
          expect(hashTypedData(data)).toEqual({ ok: true, value: viemHashTypedData(data) });
        },
      ),
      { numRuns: 60 },
    );
  });

  it("rejects malformed types and values with specific codes", () => {
    const base = { domain: { name: "x" }, primaryType: "S" };
    const bad = (types: TypedData["types"], message: Record<string, unknown>) =>
      hashTypedData({ ...base, types, message });
    expect(bad({}, {})).toMatchObject({ ok: false, error: { code: "EIP712_TYPE_INVALID" } });
    expect(bad({ S: [{ name: "a", type: "uint7" }] }, { a: 1 })).toMatchObject({
      error: { code: "EIP712_TYPE_INVALID" },
    });
    expect(bad({ S: [{ name: "a", type: "uint8" }] }, { a: 256 })).toMatchObject({
      error: { code: "EIP712_VALUE_INVALID" },
    });
    expect(bad({ S: [{ name: "a", type: "uint8" }] }, { a: 1.5 })).toMatchObject({
      error: { code: "EIP712_VALUE_INVALID" },
    });
    expect(bad({ S: [{ name: "a", type: "address" }] }, { a: "0x1234" })).toMatchObject({
      error: { code: "EIP712_VALUE_INVALID", meta: { path: "S.a" } },
    });
    expect(bad({ S: [{ name: "a", type: "string" }] }, {})).toMatchObject({
      error: { code: "EIP712_VALUE_INVALID" },
    });
    expect(bad({ S: [{ name: "a", type: "uint8[2]" }] }, { a: [1] })).toMatchObject({
      error: { code: "EIP712_VALUE_INVALID" },
    });
    expect(bad({ S: [{ name: "a", type: "Nope" }] }, { a: 1 })).toMatchObject({
      error: { code: "EIP712_TYPE_INVALID" },
    });
  });
});
