#!/usr/bin/env node
// solc for forge, offline: forge runs this as its compiler (foundry.toml `solc`). It answers
// `--version` like the native binary and compiles forge's standard JSON on stdin with solc-js (the
// same compiler the TypeScript side uses, src/chain/compile.ts), reading imports from disk.
const fs = require("node:fs");
const path = require("node:path");
const solc = require("solc");

if (process.argv.includes("--version")) {
  process.stdout.write(
    `solc, the solidity compiler commandline interface\nVersion: ${solc.version().replace(".Emscripten.clang", ".Linux.g++")}\n`,
  );
  process.exit(0);
}

// Imports resolve against the base path and the include/allow paths forge passes.
const roots = [process.cwd()];
for (let i = 0; i < process.argv.length; i++) {
  const a = process.argv[i];
  if ((a === "--base-path" || a === "--include-path" || a === "--allow-paths") && process.argv[i + 1])
    roots.push(...process.argv[i + 1].split(","));
}
function findImports(file) {
  for (const root of [...roots, "/"]) {
    const full = path.isAbsolute(file) ? file : path.join(root, file);
    if (fs.existsSync(full)) return { contents: fs.readFileSync(full, "utf8") };
  }
  return { error: `file not found: ${file}` };
}

const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  process.stdout.write(solc.compile(Buffer.concat(chunks).toString("utf8"), { import: findImports }));
});
