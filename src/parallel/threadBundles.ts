/**
 * The modules worker threads load. In a process run from the CLI's role bundle
 * (src/node/devnet/roleBundle.ts) each thread's module is bundled too, and the bundle registers the
 * twins here: a thread then loads its twin instead of registering tsx and transforming its sources on
 * every start (a worker's engine thread and its proving thread). Anywhere else (tsx, tests) a thread
 * loads the source module, as before.
 */
const twins = new Map<string, string>();

/** Registers bundled twins: a source module's URL → its bundle's URL. */
export function useThreadBundles(map: Readonly<Record<string, string>>): void {
  for (const [source, bundle] of Object.entries(map)) twins.set(source, bundle);
}

/** The URL a thread should load for the source module `source`: its bundled twin when there is one. */
export function threadModule(source: URL): string {
  return twins.get(source.href) ?? source.href;
}
