import { homedir } from "node:os";
import { join } from "node:path";

/** verinfer's cache directory (trained models, simulator pools, downloaded models): `$VERINFER_CACHE_DIR` or `~/.cache/verinfer`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.VERINFER_CACHE_DIR ?? join(homedir(), ".cache", "verinfer");
}
