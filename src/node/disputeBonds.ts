/**
 * The dispute bonds a node's account wins back: resolving a game credits each winner's bonds (its own,
 * and the loser's) inside the contract, and pays nobody. The fisherman and a defending worker withdraw
 * them with this, or they would run dry of the ETH their next bonds need.
 */
import type { Hex } from "viem";
import type { ChainClients } from "../chain/deploy.ts";
import { withdrawCredits } from "../chain/disputeClient.ts";
import type { Logger } from "./observability.ts";

export class DisputeBonds {
  /** Whether the game may hold credits for us: at start (a restart may have left some), after a resolution. */
  private due = true;
  /** Wei withdrawn since start. */
  withdrawn = 0n;

  constructor(
    private readonly chain: ChainClients,
    private readonly game: Hex,
    private readonly logger: Logger,
  ) {}

  /** A game this node played was resolved: its bonds may be credited. */
  resolved(): void {
    this.due = true;
  }

  /** Withdraws what is credited, when some may be (one read otherwise skipped); a failure is retried next call. */
  async collect(): Promise<void> {
    if (!this.due) return;
    const amount = await withdrawCredits(this.chain, this.game);
    this.due = false;
    this.withdrawn += amount;
    if (amount > 0n) this.logger.info({ wei: String(amount) }, "dispute bonds withdrawn");
  }
}
