import type { GroupSpec } from "../framework/command.ts";
import { auditCommand } from "./audit.ts";
import { rougeCommand } from "./rouge.ts";
import { squadCommand } from "./squad.ts";

/** `verinfer eval ...`: metrics and the evaluator audit. */
export const evalGroup: GroupSpec = {
  name: "eval",
  summary: "reference metrics (SQuAD, ROUGE) and the evaluator audit on real logged outputs",
  commands: [auditCommand, squadCommand, rougeCommand],
};
