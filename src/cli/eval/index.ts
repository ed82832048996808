import type { GroupSpec } from "../framework/command.ts";
import { auditCommand } from "./audit.ts";
import { rougeCommand } from "./rouge.ts";
import { squadCommand } from "./squad.ts";
import { winrateCommand } from "./winrate.ts";

/** `verinfer eval ...`: metrics and the evaluator audit. */
export const evalGroup: GroupSpec = {
  name: "eval",
  summary:
    "reference metrics (SQuAD, ROUGE, AlpacaEval win rate) and the evaluator audit on real logged outputs",
  commands: [auditCommand, squadCommand, rougeCommand, winrateCommand],
};
