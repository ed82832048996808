import type { GroupSpec } from "../framework/command.ts";
import { calibrateCommand } from "./calibrate.ts";
import { samplingCommand } from "./sampling.ts";
import { simulateCommand } from "./simulate.ts";
import { sweepCommand } from "./sweep.ts";

/** `verinfer poq ...`. */
export const poqGroup: GroupSpec = {
  name: "poq",
  summary:
    "Proof-of-Quality experiments on real logged outputs: simulate, sweep attacks, calibrate the composite",
  commands: [simulateCommand, sweepCommand, calibrateCommand, samplingCommand],
};
