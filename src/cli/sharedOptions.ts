/** Options shared by several commands, defined once. */
import type { OptionSpec } from "./framework/command.ts";

/** `--data-dir DIR`. */
export const DATA_DIR_OPTION: OptionSpec = {
  type: "string",
  value: "DIR",
  description: "dataset directory (default: $VERINFER_DATA_DIR, else ../shared/data)",
};

/** `--seed N`: master seed of everything random in the command. */
export const SEED_OPTION: OptionSpec = {
  type: "integer",
  value: "N",
  default: 1,
  min: 0,
  description: "master seed; every random choice derives from it",
};
