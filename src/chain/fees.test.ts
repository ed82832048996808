import { describe, expect, it } from "vitest";
import { capped, replacementFees } from "./fees.ts";

describe("replacementFees", () => {
  const sent = { maxFeePerGas: 800n, maxPriorityFeePerGas: 80n };
  it("outbids by an eighth in price and tip, or what the chain asks if more, within the ceiling", () => {
    expect(replacementFees(sent, { maxFeePerGas: 500n, maxPriorityFeePerGas: 1n }, undefined)).toEqual({
      fees: { maxFeePerGas: 901n, maxPriorityFeePerGas: 91n },
      outbids: true,
    });
    const now = { maxFeePerGas: 5_000n, maxPriorityFeePerGas: 200n };
    expect(replacementFees(sent, now, undefined).fees).toEqual(now);
    expect(replacementFees(sent, now, 1_000n)).toEqual({
      fees: { maxFeePerGas: 1_000n, maxPriorityFeePerGas: 200n },
      outbids: true,
    });
    // A ceiling under an eighth more leaves no replacement a node would take; the fees stay capped.
    expect(replacementFees(sent, now, 900n)).toEqual({
      fees: { maxFeePerGas: 900n, maxPriorityFeePerGas: 200n },
      outbids: false,
    });
    expect(replacementFees({ gasPrice: 100n }, { gasPrice: 90n }, undefined)).toEqual({
      fees: { gasPrice: 113n },
      outbids: true,
    });
  });

  it("caps price and tip at the ceiling, and leaves fees alone without one", () => {
    expect(capped({ maxFeePerGas: 10n, maxPriorityFeePerGas: 12n }, 8n)).toEqual({
      maxFeePerGas: 8n,
      maxPriorityFeePerGas: 8n,
    });
    expect(capped({ gasPrice: 10n }, undefined)).toEqual({ gasPrice: 10n });
  });
});
