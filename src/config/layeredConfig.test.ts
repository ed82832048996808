import { describe, expect, it } from "vitest";
import { z } from "zod";
import { tempFile } from "../testing/sharedData.ts";
import { configFileSection, envLayer, resolveLayers } from "./layeredConfig.ts";

const schema = z.object({
  url: z.string().url(),
  timeout: z.coerce.number().int().positive().default(5),
  model: z.string(),
});

describe("layered configuration", () => {
  it("applies defaults < file < environment < flags", () => {
    const file = tempFile(
      "c.json",
      JSON.stringify({ judge: { url: "http://file", model: "file-model", timeout: 7 } }),
    );
    const layers = [
      configFileSection(file, "judge"),
      envLayer({ J_MODEL: "env-model" }, { model: "J_MODEL", url: "J_URL" }),
      { url: "http://flag", timeout: undefined },
    ];
    expect(resolveLayers(schema, "judge", layers)).toEqual({
      url: "http://flag",
      model: "env-model",
      timeout: 7,
    });
    expect(resolveLayers(schema, "judge", [{ url: "http://x", model: "m" }]).timeout).toBe(5);
  });

  it("reports every problem in one CONFIG_INVALID error", () => {
    expect(() => resolveLayers(schema, "judge", [{ url: "nope", timeout: -1 }])).toThrow(
      expect.objectContaining({
        code: "CONFIG_INVALID",
        details: {
          problems: [
            expect.stringMatching(/^url/),
            expect.stringMatching(/^timeout/),
            expect.stringMatching(/^model/),
          ],
        },
      }),
    );
    expect(() => configFileSection(tempFile("c.json", "[]"), "judge")).toThrow(/must contain a JSON object/);
    expect(() => configFileSection(tempFile("c.json", '{"judge": 3}'), "judge")).toThrow(
      /"judge" must be an object/,
    );
    expect(configFileSection(undefined, "judge")).toEqual({});
  });
});
