/** The `verinfer` command line. */
import { attestGroup } from "./attest/index.ts";
import { chainGroup } from "./chain/index.ts";
import { dashboardCommand } from "./dashboard/index.ts";
import { dataGroup } from "./data/index.ts";
import { devnetGroup } from "./devnet/index.ts";
import { evalGroup } from "./eval/index.ts";
import { evaluatorsGroup } from "./evaluators/index.ts";
import type { GroupSpec } from "./framework/command.ts";
import { runCli } from "./framework/run.ts";
import { generateCommand } from "./generate/index.ts";
import { modelGroup } from "./model/index.ts";
import { nodeGroup } from "./node/index.ts";
import { otrGroup } from "./otr/index.ts";
import { poqGroup } from "./poq/index.ts";
import { receiptGroup } from "./receipt/index.ts";
import { serveCommand } from "./serve/index.ts";
import { traceGroup } from "./trace/index.ts";
import { zkGroup } from "./zk/index.ts";

/** All commands. */
export const ROOT: GroupSpec = {
  name: "verinfer",
  summary: "verifiable, incentive-aligned decentralized LLM inference (OTR, PoEA, PoQ)",
  commands: [
    devnetGroup,
    nodeGroup,
    dashboardCommand,
    generateCommand,
    serveCommand,
    modelGroup,
    traceGroup,
    evalGroup,
    poqGroup,
    otrGroup,
    chainGroup,
    zkGroup,
    attestGroup,
    receiptGroup,
    evaluatorsGroup,
    dataGroup,
  ],
};

/** Entry point used by bin/verinfer.mjs. */
export function main(argv: readonly string[]): Promise<number> {
  return runCli(ROOT, argv);
}
