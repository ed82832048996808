/**
 * Node options from layers: defaults < config file < `VERINFER_*` environment < command-line flags,
 * validated by a zod schema with every problem reported at once (DESIGN.md "Config").
 */
import type { z } from "zod";
import { readJsonFile } from "../data/files.ts";
import { VerinferError } from "../errors.ts";

/** A layer's values (undefined entries are ignored). */
export type Layer = Readonly<Record<string, unknown>>;

function defined(layer: Layer): Record<string, unknown> {
  return Object.fromEntries(Object.entries(layer).filter(([, v]) => v !== undefined));
}

/** Reads one section of a JSON config file (`{ "<section>": {...} }`); absent section → {}. */
export function configFileSection(path: string | undefined, section: string): Layer {
  if (path === undefined) return {};
  const json = readJsonFile(path);
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new VerinferError("CONFIG_INVALID", `${path} must contain a JSON object`, { file: path });
  }
  const value = (json as Record<string, unknown>)[section];
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new VerinferError("CONFIG_INVALID", `${path}: "${section}" must be an object`, {
      file: path,
      section,
    });
  }
  return value as Layer;
}

/** Values of environment variables, keyed by option name. */
export function envLayer(env: NodeJS.ProcessEnv, names: Readonly<Record<string, string>>): Layer {
  return Object.fromEntries(Object.entries(names).map(([option, variable]) => [option, env[variable]]));
}

/** Merges layers in order and validates; all issues in one CONFIG_INVALID error. */
export function resolveLayers<S extends z.ZodType>(
  schema: S,
  what: string,
  layers: readonly Layer[],
): z.infer<S> {
  const merged = Object.assign({}, ...layers.map(defined));
  const result = schema.safeParse(merged);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
  throw new VerinferError("CONFIG_INVALID", `invalid ${what} configuration: ${problems.join("; ")}`, {
    problems,
  });
}
