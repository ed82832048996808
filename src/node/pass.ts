/**
 * A node's periodic work (poll the chain, post batches, play games): one pass at a time — a tick that
 * comes while a pass runs is skipped — and a failing pass is logged and simply retried on the next tick.
 */
import { chainErrorLine } from "../chain/chainErrors.ts";
import type { Logger } from "./observability.ts";

export class Pass {
  private running = false;
  private lastFailure: string | null = "starting: no pass has completed yet";

  constructor(
    private readonly logger: Logger,
    /** What the log says when a pass fails (e.g. "chain unavailable; will retry"). */
    private readonly failureLine: string,
    private readonly work: () => Promise<void>,
  ) {}

  /** Whether a pass is running now (shutdown waits for it). */
  get busy(): boolean {
    return this.running;
  }

  /** Why the last pass failed (or that none has completed yet); null once the last one succeeded. */
  get failure(): string | null {
    return this.lastFailure;
  }

  /** Runs one pass unless one is running; never throws. */
  async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.work();
      this.lastFailure = null;
    } catch (e) {
      const err = chainErrorLine(e);
      this.lastFailure = `the last pass failed: ${err}`;
      this.logger.warn({ err }, this.failureLine);
    } finally {
      this.running = false;
    }
  }
}
