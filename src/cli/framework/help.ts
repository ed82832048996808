/** Help text for groups and commands. */
import { type CommandSpec, GLOBAL_OPTIONS, type GroupSpec, isGroup, type OptionSpec } from "./command.ts";

function optionLine(name: string, spec: OptionSpec): [string, string] {
  const value = spec.type === "boolean" ? "" : ` ${spec.value ?? (spec.type === "string" ? "VALUE" : "N")}`;
  const flag = `${spec.short ? `-${spec.short}, ` : "    "}--${name}${value}`;
  const extras: string[] = [];
  if (spec.choices) extras.push(`one of: ${spec.choices.join(", ")}`);
  if (spec.default !== undefined) extras.push(`default: ${spec.default}`);
  if (spec.required) extras.push("required");
  if (spec.multiple) extras.push("repeatable");
  return [flag, `${spec.description}${extras.length ? ` (${extras.join("; ")})` : ""}`];
}

function columns(rows: [string, string][]): string {
  const width = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`).join("\n");
}

/** Help for a command. */
export function commandHelp(path: readonly string[], command: CommandSpec): string {
  const positionals = (command.positionals ?? [])
    .map((p) => (p.required ? ` ${p.name}` : ` [${p.name}]`))
    .join("");
  const parts = [
    `Usage: verinfer ${path.join(" ")} [options]${positionals}`,
    "",
    command.description ?? command.summary,
  ];
  if (command.positionals?.length) {
    parts.push("", "Arguments:", columns(command.positionals.map((p) => [p.name, p.description])));
  }
  const own = Object.entries(command.options);
  if (own.length) parts.push("", "Options:", columns(own.map(([n, s]) => optionLine(n, s))));
  parts.push(
    "",
    "Global options:",
    columns(Object.entries(GLOBAL_OPTIONS).map(([n, s]) => optionLine(n, s))),
  );
  if (command.examples?.length) parts.push("", "Examples:", ...command.examples.map((e) => `  ${e}`));
  return parts.join("\n");
}

/** Help for a group (or the root). */
export function groupHelp(path: readonly string[], group: GroupSpec): string {
  const prefix = path.length ? `verinfer ${path.join(" ")}` : "verinfer";
  const rows: [string, string][] = group.commands.map((c) => [
    isGroup(c) ? `${c.name} ...` : c.name,
    c.summary,
  ]);
  return [
    `Usage: ${prefix} <command> [options]`,
    "",
    group.summary,
    "",
    "Commands:",
    columns(rows),
    "",
    `Run '${prefix} <command> --help' for a command's options.`,
  ].join("\n");
}
