import type { GroupSpec } from "../framework/command.ts";
import { listCommand } from "./list.ts";
import { scoreCommand } from "./score.ts";
import { trainStsCommand } from "./trainSts.ts";

/** `verinfer evaluators ...`. */
export const evaluatorsGroup: GroupSpec = {
  name: "evaluators",
  summary: "list, train and run PoQ evaluators",
  commands: [listCommand, scoreCommand, trainStsCommand],
};
