/**
 * Runs one `verinfer` command in this process and prints, as the last line, its peak resident memory
 * (Linux VmHWM of this process, in MiB) and its exit code, so a benchmark can measure a command's
 * memory. Usage: node --import tsx bench/cliMemoryRunner.ts ARGS...
 */
import { readFileSync } from "node:fs";
import { main } from "../src/cli/main.ts";

const code = await main(process.argv.slice(2));
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
process.stdout.write(`\n${JSON.stringify({ code, peakRssMiB: hwm ? Number(hwm[1]) / 1024 : null })}\n`);
