import { describe, expect, it } from "vitest";
import { Latest } from "./latest.ts";

describe("Latest", () => {
  it("keeps the latest `cap` items in the order pushed, however many were pushed", () => {
    const l = new Latest<number>(3);
    expect(l.items).toEqual([]);
    l.push(1);
    l.push(2);
    expect(l.items).toEqual([1, 2]);
    for (let i = 3; i <= 1000; i++) l.push(i);
    expect(l.items).toEqual([998, 999, 1000]);
  });

  it("refuses a cap that could keep nothing or grow without bound", () => {
    for (const cap of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => new Latest(cap)).toThrow(RangeError);
  });
});
