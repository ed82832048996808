/**
 * The `verinfer` command line. Each top-level command's module is imported only when it is run (all of
 * them for the top-level help): every module goes through tsx's loader, and a node process that loaded
 * the whole CLI to run one role spent about a second more CPU at start.
 */
import type { CommandSpec, GroupSpec } from "./framework/command.ts";
import { type Io, runCli } from "./framework/run.ts";

/** The top-level commands, in help order, each with how to load it. */
const COMMANDS: readonly (readonly [string, () => Promise<CommandSpec | GroupSpec>])[] = [
  ["devnet", async () => (await import("./devnet/index.ts")).devnetGroup],
  ["node", async () => (await import("./node/index.ts")).nodeGroup],
  ["dashboard", async () => (await import("./dashboard/index.ts")).dashboardCommand],
  ["generate", async () => (await import("./generate/index.ts")).generateCommand],
  ["serve", async () => (await import("./serve/index.ts")).serveCommand],
  ["model", async () => (await import("./model/index.ts")).modelGroup],
  ["trace", async () => (await import("./trace/index.ts")).traceGroup],
  ["eval", async () => (await import("./eval/index.ts")).evalGroup],
  ["poq", async () => (await import("./poq/index.ts")).poqGroup],
  ["otr", async () => (await import("./otr/index.ts")).otrGroup],
  ["chain", async () => (await import("./chain/index.ts")).chainGroup],
  ["zk", async () => (await import("./zk/index.ts")).zkGroup],
  ["attest", async () => (await import("./attest/index.ts")).attestGroup],
  ["receipt", async () => (await import("./receipt/index.ts")).receiptGroup],
  ["evaluators", async () => (await import("./evaluators/index.ts")).evaluatorsGroup],
  ["data", async () => (await import("./data/index.ts")).dataGroup],
];

/** The command tree: only the command `first` names, or all of them when it names none. */
export async function rootFor(first: string | undefined): Promise<GroupSpec> {
  const named = COMMANDS.filter(([name]) => name === first);
  return {
    name: "verinfer",
    summary: "verifiable, incentive-aligned decentralized LLM inference (OTR, PoEA, PoQ)",
    commands: await Promise.all((named.length > 0 ? named : COMMANDS).map(([, load]) => load())),
  };
}

/** Entry point used by bin/verinfer.mjs (and, with `io`, by tests). */
export async function main(argv: readonly string[], io?: Io): Promise<number> {
  // A chain call's failure (viem's error) is coded where the CLI prints it; loaded only on failure.
  return runCli(await rootFor(argv[0]), argv, io, async (error) =>
    (await import("../chain/chainErrors.ts")).chainErrorOf(error),
  );
}
