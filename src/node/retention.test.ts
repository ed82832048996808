import { describe, expect, it } from "vitest";
import { forgetInSteps, retentionMsOf, sweepEveryMs } from "./retention.ts";

describe("retention sweeps", () => {
  it("step until nothing is left or the role stops, counting what went", async () => {
    const left = [3, 2, 0];
    expect(
      await forgetInSteps(
        () => ({ forgotten: 1, more: (left.shift() ?? 0) > 0 }),
        () => false,
        console,
      ),
    ).toBe(3);
    let steps = 0;
    expect(
      await forgetInSteps(
        () => ({ forgotten: ++steps, more: true }),
        () => steps >= 2,
        console,
      ),
    ).toBe(3);
  });

  it("end on a failing step (a full disk cannot delete either) with a warning, never a rejection", async () => {
    const warnings: unknown[] = [];
    let steps = 0;
    const total = await forgetInSteps(
      () => {
        if (++steps === 3) throw new Error("database or disk is full");
        return { forgotten: 10, more: true };
      },
      () => false,
      { warn: (o: unknown) => warnings.push(o) } as never,
    );
    expect(total).toBe(20);
    expect(warnings).toEqual([{ err: "database or disk is full", forgotten: 20 }]);
  });

  it("convert days, and sweep an eighth of the retention, at least hourly", () => {
    expect(retentionMsOf(0)).toBeUndefined();
    expect(retentionMsOf(2)).toBe(172_800_000);
    expect(sweepEveryMs(800)).toBe(100);
    expect(sweepEveryMs(30 * 86_400_000)).toBe(3_600_000);
  });
});
