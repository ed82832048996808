/**
 * A progress bar on stderr for long work. It draws only on a terminal (or when VERINFER_PROGRESS=1),
 * redraws at most ten times a second, and never writes to stdout, so `--json` output stays clean.
 */
import { performance } from "node:perf_hooks";

/** A running progress bar. */
export interface Progress {
  /** Advances by `n` (default 1). */
  tick(n?: number): void;
  /** Sets the absolute count. */
  update(done: number): void;
  /** Finishes the bar and prints a final line with the elapsed time. */
  done(note?: string): void;
}

const NOOP: Progress = { tick() {}, update() {}, done() {} };

/** True when progress bars should be drawn. */
export function progressEnabled(disabledByFlag: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (disabledByFlag || env.VERINFER_PROGRESS === "0") return false;
  return env.VERINFER_PROGRESS === "1" || process.stderr.isTTY === true;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}

/** Starts a progress bar for `total` units of work labelled `label`. */
export function createProgress(label: string, total: number, enabled: boolean): Progress {
  if (!enabled || total <= 0) return NOOP;
  const start = performance.now();
  let count = 0;
  let lastDraw = 0;
  const width = 28;
  const draw = (force: boolean) => {
    const now = performance.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    const fraction = Math.min(1, count / total);
    const filled = Math.round(fraction * width);
    const elapsed = (now - start) / 1000;
    const eta = fraction > 0 ? (elapsed / fraction) * (1 - fraction) : Number.NaN;
    const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
    process.stderr.write(
      `\r${label} ${bar} ${(fraction * 100).toFixed(0).padStart(3)}% ${count}/${total} ${formatSeconds(elapsed)} eta ${formatSeconds(eta)}\x1b[K`,
    );
  };
  return {
    tick(n = 1) {
      count += n;
      draw(false);
    },
    update(done) {
      count = done;
      draw(false);
    },
    done(note) {
      count = total;
      draw(true);
      const elapsed = (performance.now() - start) / 1000;
      process.stderr.write(
        `\r${label} done: ${total} in ${formatSeconds(elapsed)}${note ? ` (${note})` : ""}\x1b[K\n`,
      );
    },
  };
}
