/**
 * How the roles forget what they no longer need to keep: a retention given in days, and sweeps that
 * run in bounded steps on the role's own event loop.
 */
import type { Logger } from "pino";

/** A retention in days as milliseconds; 0 keeps everything (undefined). */
export function retentionMsOf(days: number): number | undefined {
  return days > 0 ? days * 86_400_000 : undefined;
}

/** How often a timed sweep runs: an eighth of the retention, at least hourly. */
export function sweepEveryMs(retentionMs: number): number {
  return Math.min(retentionMs / 8, 3_600_000);
}

/**
 * Runs `step` (one bounded transaction) until it says nothing more is left or `stopping()`, yielding to
 * the event loop between steps so that requests go on being served; returns how many rows went. A step
 * that fails (a full disk cannot even delete: the WAL must grow) is logged and ends the sweep; the next
 * sweep tries again.
 */
export async function forgetInSteps(
  step: () => { readonly forgotten: number; readonly more: boolean },
  stopping: () => boolean,
  logger: Pick<Logger, "warn">,
): Promise<number> {
  let total = 0;
  try {
    for (let more = true; more && !stopping(); await new Promise((next) => setImmediate(next))) {
      const done = step();
      total += done.forgotten;
      more = done.more;
    }
  } catch (e) {
    logger.warn(
      { err: (e as Error).message, forgotten: total },
      "forgetting failed; the next sweep tries again",
    );
  }
  return total;
}
