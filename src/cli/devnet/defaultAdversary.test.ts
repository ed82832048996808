import { describe, expect, it } from "vitest";
import { tempFile } from "../../testing/sharedData.ts";
import { defaultAdversary } from "./index.ts";

describe("devnet up's default cheat", () => {
  it("is wrong-output in the demo, none otherwise, and none for a GGUF model however it is named", () => {
    const ggufWithoutSuffix = tempFile("model", new Uint8Array([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0]));
    const checkpoint = tempFile("model.gguf", new Uint8Array(28)); // named .gguf, not one by its magic
    expect(defaultAdversary(undefined, true)).toBe("wrong-output");
    expect(defaultAdversary(undefined, false)).toBe("none");
    expect(defaultAdversary(ggufWithoutSuffix, true)).toBe("none");
    expect(defaultAdversary(checkpoint, true)).toBe("wrong-output");
    // A URL is not fetched yet: its name decides.
    expect(defaultAdversary("https://example.org/m.gguf", true)).toBe("none");
    expect(defaultAdversary("https://example.org/stories15M.bin", true)).toBe("wrong-output");
  });
});
