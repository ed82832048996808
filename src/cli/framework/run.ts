/**
 * Dispatch: finds the command named by the leading words, parses its options strictly, runs it and
 * turns failures into one clear line on stderr with a non-zero exit code (a stack trace only with
 * --verbose). Exit codes: 0 success, 1 failure or negative verdict, 2 invalid request (see USAGE_CODES).
 */
import { parseArgs } from "node:util";
import { isVerinferError, VerinferError } from "../../errors.ts";
import type { ErrorCode } from "../../protocol/errors.ts";
import { jsonText } from "../../report/json.ts";
import { createProgress, progressEnabled } from "../../report/progress.ts";
import {
  type CommandContext,
  type CommandSpec,
  GLOBAL_OPTIONS,
  type GroupSpec,
  isGroup,
  type OptionSpec,
} from "./command.ts";
import { commandHelp, groupHelp } from "./help.ts";

/** Where output goes (injectable for tests). */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

const PROCESS_IO: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

/**
 * Exit code 2: the command line or configuration asked for something invalid, so nothing ran — an
 * option out of range, whether the parser or the command found it. Everything else that fails (a file,
 * a dataset, a model, a verification) exits 1.
 */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set([
  "CLI_USAGE",
  "PARAMS_INVALID",
  "CONFIG_INVALID",
  "GENERATION_INVALID",
]);

function usage(message: string): VerinferError {
  return new VerinferError("CLI_USAGE", message);
}

function convert(name: string, spec: OptionSpec, raw: string): number | string {
  if (spec.type === "string") {
    if (spec.choices && !spec.choices.includes(raw)) {
      throw usage(`--${name} must be one of ${spec.choices.join(", ")}, got "${raw}"`);
    }
    return raw;
  }
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value)) throw usage(`--${name} must be a number, got "${raw}"`);
  if (spec.type === "integer" && !Number.isInteger(value))
    throw usage(`--${name} must be an integer, got "${raw}"`);
  if (spec.min !== undefined && value < spec.min)
    throw usage(`--${name} must be at least ${spec.min}, got ${value}`);
  if (spec.max !== undefined && value > spec.max)
    throw usage(`--${name} must be at most ${spec.max}, got ${value}`);
  return value;
}

/**
 * `--seed -1` becomes `--seed=-1`: node's parser reads a value that starts with "-" as an option and
 * would call the argument ambiguous, hiding the range message the value deserves.
 */
function joinNegativeValues(args: readonly string[], options: Record<string, OptionSpec>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const spec = arg.startsWith("--") ? options[arg.slice(2)] : undefined;
    const next = args[i + 1];
    if (spec && spec.type !== "boolean" && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

function parseCommandArgs(command: CommandSpec, args: string[]) {
  const all = { ...GLOBAL_OPTIONS, ...command.options };
  const config: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(all)) {
    config[name] = {
      type: spec.type === "boolean" ? "boolean" : "string",
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.multiple ? { multiple: true } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(args, all),
      options: config,
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    const message = error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
    throw usage(`${message.replace(/^Unknown option/, "unknown option")} (see --help)`);
  }
  const options: Record<string, string | number | boolean | string[] | undefined> = {};
  for (const [name, spec] of Object.entries(all)) {
    const raw = parsed.values[name];
    if (raw === undefined) {
      options[name] = spec.default;
      continue;
    }
    if (spec.type === "boolean") options[name] = raw as boolean;
    else if (Array.isArray(raw)) options[name] = raw.map((r) => String(convert(name, spec, String(r))));
    else options[name] = convert(name, spec, String(raw));
  }
  return { options, positionals: parsed.positionals };
}

function makeContext(
  options: Record<string, string | number | boolean | string[] | undefined>,
  positionals: string[],
  io: Io,
): CommandContext {
  const json = options.json === true;
  const drawProgress = progressEnabled(options["no-progress"] === true);
  return {
    options,
    positionals,
    json,
    verbose: options.verbose === true,
    output(value, human) {
      io.stdout(json ? jsonText(value) : `${human()}\n`);
    },
    write(text) {
      io.stdout(text);
    },
    info(message) {
      io.stderr(`${message}\n`);
    },
    progress: (label, total) => createProgress(label, total, drawProgress),
    string: (name) => {
      const v = options[name];
      return typeof v === "string" ? v : undefined;
    },
    number: (name) => {
      const v = options[name];
      return typeof v === "number" ? v : undefined;
    },
    flag: (name) => options[name] === true,
    strings: (name) => {
      const v = options[name];
      return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
    },
  };
}

/**
 * Runs the CLI on `argv` (without node and script), returning the exit code. `explain` may turn an
 * error no command coded (a chain call's, say) into a coded one before it is printed.
 */
export async function runCli(
  root: GroupSpec,
  argv: readonly string[],
  io: Io = PROCESS_IO,
  explain: (error: unknown) => Promise<VerinferError | null> = async () => null,
): Promise<number> {
  const verbose = argv.includes("--verbose");
  try {
    let node: CommandSpec | GroupSpec = root;
    const path: string[] = [];
    let rest = [...argv];
    while (isGroup(node)) {
      const word = rest[0];
      if (word === undefined || word === "--help" || word === "-h" || word === "help") {
        io.stdout(`${groupHelp(path, node)}\n`);
        return word === undefined && path.length > 0 ? 2 : 0;
      }
      if (word === "--version") {
        io.stdout("verinfer 0.1.0\n");
        return 0;
      }
      const next: CommandSpec | GroupSpec | undefined = node.commands.find((c) => c.name === word);
      if (!next) {
        const where = path.length ? `verinfer ${path.join(" ")}` : "verinfer";
        throw usage(`unknown command "${word}" for ${where}; run '${where} --help' to list commands`);
      }
      node = next;
      path.push(word);
      rest = rest.slice(1);
    }
    const command: CommandSpec = node;
    if (rest.includes("--help") || rest.includes("-h")) {
      io.stdout(`${commandHelp(path, command)}\n`);
      return 0;
    }
    const { options, positionals } = parseCommandArgs(command, rest);
    const missing = Object.entries(command.options).filter(
      ([name, spec]) => spec.required && options[name] === undefined,
    );
    if (missing.length)
      throw usage(`missing required option ${missing.map(([n]) => `--${n}`).join(", ")} (see --help)`);
    const allowed = command.positionals ?? [];
    const required = allowed.filter((p) => p.required).length;
    if (positionals.length < required)
      throw usage(`missing argument ${allowed[positionals.length]?.name} (see --help)`);
    if (positionals.length > allowed.length)
      throw usage(`unexpected argument "${positionals[allowed.length]}" (see --help)`);
    const code = await command.run(makeContext(options, positionals, io));
    return code ?? 0;
  } catch (thrown) {
    const error = isVerinferError(thrown) ? thrown : ((await explain(thrown).catch(() => null)) ?? thrown);
    if (isVerinferError(error)) {
      io.stderr(`verinfer: error [${error.code}] ${error.message}\n`);
      if (verbose && error.stack) io.stderr(`${error.stack}\n`);
      return USAGE_CODES.has(error.code) ? 2 : 1;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`verinfer: internal error: ${message}${verbose ? "" : " (run with --verbose for details)"}\n`);
    if (verbose && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
    return 1;
  }
}
