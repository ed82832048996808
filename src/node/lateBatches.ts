/**
 * A follower's runs of batches reached too late to use (their challenge window or their epoch's commit
 * phase closed first: after a restart or an outage): one warning when a run starts and one line when
 * it ends, with how many receipts went unchecked — not a line per batch, thousands after an hour away.
 */
import type { Logger } from "./observability.ts";

export class LateBatches {
  private receipts = 0;

  constructor(
    private readonly logger: Logger,
    /** What the warning says when a run starts. */
    private readonly warning: string,
  ) {}

  /** Notes batch `index`, of `receipts` receipts, reached in time or not. */
  batch(index: number, late: boolean, receipts: number): void {
    if (late) {
      if (this.receipts === 0) this.logger.warn({ fromBatch: index }, this.warning);
      this.receipts += receipts;
    } else if (this.receipts > 0) {
      this.logger.info(
        { untilBatch: index, receipts: this.receipts },
        "caught up: the receipts of the batches reached too late were skipped",
      );
      this.receipts = 0;
    }
  }
}
