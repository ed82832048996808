import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

// src/protocol must run identically in nodes, simulators, tests and the browser (DESIGN.md):
// no IO, no ambient clock, no ambient randomness.
const ROOT = new URL(".", import.meta.url).pathname;
const FORBIDDEN: readonly [RegExp, string][] = [
  [/from\s+["']node:/, "imports a node: builtin"],
  [
    /from\s+["'](fs|path|os|http|https|net|child_process|worker_threads|crypto|url|process)(\/[^"']*)?["']/,
    "imports a Node builtin",
  ],
  [/\bimport\s*\(/, "uses dynamic import"],
  [/\brequire\s*\(/, "uses require"],
  [/\bMath\.random\b/, "uses Math.random"],
  [/\bDate\.now\b/, "uses Date.now"],
  [/\bnew Date\s*\(/, "reads the clock with new Date()"],
  [/\bperformance\.now\b/, "reads the clock with performance.now"],
  [/\bprocess\./, "touches process"],
  [/\bfetch\s*\(/, "does network IO"],
  [/\bsetTimeout\s*\(|\bsetInterval\s*\(/, "uses timers"],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") && !path.endsWith(".test.ts") ? [path] : [];
  });
}

function stripComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

describe("src/protocol purity", () => {
  const files = sourceFiles(ROOT);

  it("has source files to check", () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it("imports no IO and uses no ambient time or randomness", () => {
    const violations: string[] = [];
    for (const file of files) {
      const code = stripComments(readFileSync(file, "utf8"));
      for (const [pattern, why] of FORBIDDEN) {
        if (pattern.test(code)) violations.push(`${relative(ROOT, file)} ${why}`);
      }
      for (const match of code.matchAll(/from\s+["']([^"']+)["']/g)) {
        const spec = match[1] as string;
        const allowed = spec.startsWith(".") || spec.startsWith("@noble/");
        if (!allowed)
          violations.push(
            `${relative(ROOT, file)} imports ${spec} (only relative and @noble/* imports are pure)`,
          );
        if (spec.startsWith(".") && !spec.startsWith("./") && !spec.startsWith("../")) violations.push(spec);
        if (spec.startsWith("../") && !join(file, "..", spec).startsWith(ROOT)) {
          violations.push(`${relative(ROOT, file)} imports ${spec} from outside src/protocol`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it("detects a violation when one is present (the checker itself works)", () => {
    const code = stripComments('import { readFileSync } from "node:fs";\nconst x = Math.random();');
    expect(FORBIDDEN.some(([p]) => p.test(code))).toBe(true);
    expect(stripComments("// Math.random is banned\nconst y = 1;")).not.toMatch(/Math\.random/);
  });
});
