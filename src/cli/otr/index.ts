import type { GroupSpec } from "../framework/command.ts";
import { costCommand } from "./cost.ts";
import { simulateCommand } from "./simulate.ts";
import { sweepCommand } from "./sweep.ts";

/** `verinfer otr ...`. */
export const otrGroup: GroupSpec = {
  name: "otr",
  summary: "Optimistic TEE-Rollup: simulate the network, run the paper's experiments, price a verified query",
  commands: [simulateCommand, sweepCommand, costCommand],
};
