/**
 * The import rules of DESIGN.md, enforced: the layers protocol ← sim ← (engines, evaluators, data and
 * other shell libraries) ← node/chain/zk services ← cli, each importing only its own layer and those
 * below; and src/protocol and src/sim pure — no IO, no ambient clock, no ambient randomness — so they
 * run identically in nodes, simulators, tests and the browser. Tests are exempt.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = new URL(".", import.meta.url).pathname;

/** Layer of each top-level folder (or file) under src/; a file may import its own layer and those below. */
const LAYERS: Readonly<Record<string, number>> = {
  protocol: 0,
  sim: 1,
  "errors.ts": 2,
  config: 2,
  crypto: 2,
  data: 2,
  parallel: 2,
  report: 2,
  attestation: 2,
  receipts: 2,
  engine: 2,
  evaluators: 2,
  experiments: 2,
  node: 3,
  chain: 3,
  zk: 3,
  cli: 4,
  // Test helpers: they drive the CLI; nothing but tests imports them.
  testing: 4,
};
const PURE = new Set(["protocol", "sim"]);

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

/** The top-level folder (or file) of a path under src/. */
const topOf = (path: string) => relative(SRC, path).split("/")[0] as string;

/** Every rule a file breaks. */
function violationsOf(file: string, code: string): string[] {
  const out: string[] = [];
  const top = topOf(file);
  const layer = LAYERS[top];
  const name = relative(SRC, file);
  if (layer === undefined) return [`${name}: src/${top} has no layer in the import rules`];
  if (PURE.has(top))
    for (const [pattern, why] of FORBIDDEN) if (pattern.test(code)) out.push(`${name} ${why}`);
  for (const match of code.matchAll(/(?:from|import)\s+["']([^"']+)["']/g)) {
    const spec = match[1] as string;
    if (!spec.startsWith(".")) {
      // @noble/* (hashes, curves) and poseidon-lite (Poseidon, as circomlib computes it; one width of
      // it, whose module is 1/16 of the package's load time) are pure arithmetic without IO or dependencies.
      if (PURE.has(top) && !spec.startsWith("@noble/") && !/^poseidon-lite(\/poseidon\d+)?$/.test(spec))
        out.push(
          `${name} imports ${spec} (pure code imports only relative, @noble/* and poseidon-lite modules)`,
        );
      continue;
    }
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(SRC)) {
      out.push(`${name} imports ${spec} from outside src/`);
      continue;
    }
    const targetTop = topOf(target);
    const targetLayer = LAYERS[targetTop];
    if (targetLayer === undefined || targetLayer > layer)
      out.push(`${name} (layer ${layer}, ${top}) imports ${spec} (layer ${targetLayer}, ${targetTop})`);
  }
  return out;
}

describe("import rules", () => {
  const files = sourceFiles(SRC);

  it("every source file keeps to its layer, and protocol and sim stay pure", () => {
    const violations = files.flatMap((f) => violationsOf(f, stripComments(readFileSync(f, "utf8"))));
    expect(violations).toEqual([]);
  });

  it("the checker itself catches each kind of violation", () => {
    const at = (p: string) => join(SRC, p);
    expect(
      violationsOf(at("protocol/x.ts"), 'import { readFileSync } from "node:fs";\nMath.random();'),
    ).toHaveLength(3);
    expect(violationsOf(at("sim/x.ts"), "const t = Date.now();")).toEqual(["sim/x.ts uses Date.now"]);
    expect(violationsOf(at("protocol/x.ts"), 'import { a } from "../sim/y.ts";')[0]).toMatch(
      /layer 0.*imports ..\/sim/,
    );
    expect(violationsOf(at("engine/x.ts"), 'import { a } from "../node/y.ts";')[0]).toMatch(
      /imports ..\/node/,
    );
    expect(violationsOf(at("node/x.ts"), 'import { a } from "../cli/y.ts";')[0]).toMatch(/imports ..\/cli/);
    expect(violationsOf(at("cli/x.ts"), 'import { a } from "../node/y.ts";\nimport "node:fs";')).toEqual([]);
    expect(violationsOf(at("gadgets/x.ts"), "")[0]).toMatch(/has no layer/);
    expect(stripComments("// Math.random is banned\nconst y = 1;")).not.toMatch(/Math\.random/);
  });
});
