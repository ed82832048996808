#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx's loader, so there is no build step to forget.
import { register } from "tsx/esm/api";

// viem is imported natively first: through tsx's loader each of its hundreds of modules costs a round
// trip to the loader's thread (about 0.6 s more CPU per process), and our modules then find it loaded.
await import("viem");
register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
