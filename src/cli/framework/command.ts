/**
 * The command model of the `verinfer` CLI: groups of commands, each with typed options, help text and
 * a `run` function. Parsing uses node:util parseArgs in strict mode, so unknown options are errors.
 */
import type { Progress } from "../../report/progress.ts";

/** Option value types. */
export type OptionType = "string" | "boolean" | "number" | "integer";

/** One option of a command. */
export interface OptionSpec {
  readonly type: OptionType;
  readonly description: string;
  readonly short?: string;
  readonly default?: string | number | boolean;
  readonly required?: boolean;
  readonly choices?: readonly string[];
  /** Name of the value in help (`--out FILE`). */
  readonly value?: string;
  /** May be given several times (string options only). */
  readonly multiple?: boolean;
  /** Lower bound for numbers. */
  readonly min?: number;
  readonly max?: number;
}

/** What a command's `run` receives. */
export interface CommandContext {
  /** Parsed option values (defaults applied). */
  readonly options: Readonly<Record<string, string | number | boolean | string[] | undefined>>;
  readonly positionals: readonly string[];
  readonly json: boolean;
  readonly verbose: boolean;
  /** Prints `value` as JSON with --json, else the human rendering. */
  output(value: unknown, human: () => string): void;
  /** Writes raw text to stdout as it comes (streamed output; not used with --json). */
  write(text: string): void;
  /** Prints a line to stderr (never pollutes --json output). */
  info(message: string): void;
  /** Starts a progress bar (drawn only on a terminal). */
  progress(label: string, total: number): Progress;
  string(name: string): string | undefined;
  number(name: string): number | undefined;
  flag(name: string): boolean;
  strings(name: string): string[];
}

/** A runnable command. Returns the exit code (default 0). */
export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly description?: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly positionals?: readonly {
    readonly name: string;
    readonly description: string;
    readonly required: boolean;
  }[];
  readonly examples?: readonly string[];
  run(context: CommandContext): Promise<number | undefined> | number | undefined;
}

/** A named group of commands (`verinfer eval ...`). */
export interface GroupSpec {
  readonly name: string;
  readonly summary: string;
  readonly commands: readonly (CommandSpec | GroupSpec)[];
}

/** True for groups. */
export function isGroup(spec: CommandSpec | GroupSpec): spec is GroupSpec {
  return "commands" in spec;
}

/** Options every command accepts. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  json: { type: "boolean", description: "print machine-readable JSON on stdout" },
  verbose: { type: "boolean", description: "print stack traces and extra detail on errors" },
  "no-progress": { type: "boolean", description: "never draw progress bars" },
  help: { type: "boolean", short: "h", description: "show help for this command" },
};
