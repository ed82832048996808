import type { GroupSpec } from "../framework/command.ts";
import { verifyTraceCommand } from "./verify.ts";

/** `verinfer trace ...`. */
export const traceGroup: GroupSpec = {
  name: "trace",
  summary: "execution traces of the verifiable engine: re-execute and find the first divergent step",
  commands: [verifyTraceCommand],
};
