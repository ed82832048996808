import type { GroupSpec } from "../framework/command.ts";
import { convertCommand } from "./convert.ts";
import { initCommand } from "./init.ts";
import { inspectCommand } from "./inspect.ts";
import { qualityCommand } from "./quality.ts";

/** `verinfer model ...`. */
export const modelGroup: GroupSpec = {
  name: "model",
  summary: "generated models and model files: init, inspect, convert to GGUF, integer-engine quality loss",
  commands: [initCommand, inspectCommand, convertCommand, qualityCommand],
};
