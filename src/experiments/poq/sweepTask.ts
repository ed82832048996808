/** Worker task for `verinfer poq sweep`: runs sweep points against a pool shared once per worker. */
import type { Seed } from "../../protocol/rng/deriveSeed.ts";
import type { PoqPool } from "../../sim/poqPool.ts";
import type { PoqSimConfig } from "../../sim/simConfig.ts";
import { runSweepPoint, type SweepPoint, type SweepRow } from "../../sim/sweep.ts";

/** Shared inputs. */
export interface SweepTaskData {
  readonly pool: PoqPool;
  readonly base: PoqSimConfig;
  readonly seed: Seed;
}

/** Returns the batch handler. */
export function setup(data: unknown): (batch: unknown[]) => SweepRow[] {
  const { pool, base, seed } = data as SweepTaskData;
  return (batch) => (batch as SweepPoint[]).map((p) => runSweepPoint(pool, base, p, seed));
}
