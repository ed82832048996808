import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { buildRoleBundle } from "./roleBundle.ts";

const ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));

describe("the CLI's bundle for role processes", () => {
  it("is named by its content, names its source map, and runs the CLI as bin/verinfer.mjs does", async () => {
    const bundle = (await buildRoleBundle()) as string;
    expect(bundle).not.toBeNull();
    expect(await buildRoleBundle()).toBe(bundle);
    const text = readFileSync(bundle, "utf8");
    expect(text.trimEnd().endsWith(`//# sourceMappingURL=${bundle.split("/").at(-1)}.map`)).toBe(true);
    expect(existsSync(`${bundle}.map`)).toBe(true);

    const help = (entry: string) =>
      execFileSync(process.execPath, [entry, "node", "fisherman", "--help"], { encoding: "utf8" });
    expect(help(bundle)).toBe(help(join(ROOT, "bin", "verinfer.mjs")));
  }, 60_000);

  it("keeps each module's own import.meta.url, so that paths relative to src/ files still resolve", async () => {
    const text = readFileSync((await buildRoleBundle()) as string, "utf8");
    // The plugin's name is the one place the words may stay; no module reads the bundle's own URL.
    expect(text.replaceAll("own-import-meta-url", "")).not.toContain("import.meta.url");
    for (const file of [
      "src/zk/circuit.ts",
      "src/chain/compile.ts",
      "src/node/services/gateway/dashboard.ts",
    ])
      expect(text).toContain(JSON.stringify(pathToFileURL(join(ROOT, file)).href));
  }, 60_000);
});
