/**
 * The dispute bonds a node's account wins back: resolving a game credits each winner's bonds (its own,
 * and the loser's) inside the contract, and pays nobody. The fisherman and a defending worker withdraw
 * them with this, or they would run dry of the ETH their next bonds need.
 */
import { type Hex, TransactionReceiptNotFoundError } from "viem";
import type { ChainClients } from "../chain/deploy.ts";
import { withdrawCredits } from "../chain/disputeClient.ts";
import type { Logger } from "./observability.ts";
import { REORG_DEPTH_BLOCKS } from "./resolvedGames.ts";

/** A withdrawal mined less than a reorganisation deep, and whether the chain holds it now. */
interface RecentWithdrawal {
  readonly hash: Hex;
  readonly wei: bigint;
  /** The block it was first seen mined in. */
  readonly block: bigint;
  onChain: boolean;
}

export class DisputeBonds {
  /** Whether the game may hold credits for us: at start (a restart may have left some), after a resolution. */
  private due = true;
  /** Wei of the withdrawals mined {@link REORG_DEPTH_BLOCKS} deep. */
  private settled = 0n;
  /**
   * The withdrawals mined since, read again each call: one a reorganisation took off the chain (the
   * credits back in the game) is uncounted and the credits withdrawn again; counted again if the chain
   * mines it after all.
   */
  private readonly recent: RecentWithdrawal[] = [];

  constructor(
    private readonly chain: ChainClients,
    private readonly game: Hex,
    private readonly logger: Logger,
  ) {}

  /** Wei withdrawn since start: by the withdrawals the chain holds. */
  get withdrawn(): bigint {
    return this.recent.reduce((sum, w) => (w.onChain ? sum + w.wei : sum), this.settled);
  }

  /** A game this node played was resolved: its bonds may be credited. */
  resolved(): void {
    this.due = true;
  }

  /**
   * Withdraws what is credited, when some may be (one read otherwise skipped), after reading again the
   * withdrawals not yet a reorganisation deep; a failure is retried next call.
   */
  async collect(): Promise<void> {
    if (this.recent.length > 0) await this.recheck();
    if (!this.due) return;
    const { wei, hash } = await withdrawCredits(this.chain, this.game);
    this.due = false;
    if (!hash) return;
    const mined = await this.chain.public.getTransactionReceipt({ hash });
    this.recent.push({ hash, wei, block: mined.blockNumber, onChain: true });
    this.logger.info({ wei: String(wei) }, "dispute bonds withdrawn");
  }

  private async recheck(): Promise<void> {
    const head = await this.chain.public.getBlockNumber({ cacheTime: 0 });
    for (const w of [...this.recent]) {
      // Not found: not on this chain (any other failure throws, and the next call reads again).
      const mined = await this.chain.public.getTransactionReceipt({ hash: w.hash }).catch((e: unknown) => {
        if (e instanceof TransactionReceiptNotFoundError) return null;
        throw e;
      });
      const onChain = mined?.status === "success";
      if (w.onChain && !onChain) {
        this.due = true;
        this.logger.warn(
          { wei: String(w.wei) },
          "a withdrawal of dispute bonds is no longer on chain (reorganised): withdrawing again",
        );
      }
      w.onChain = onChain;
      // A reorganisation deep: counted for good, or (never mined again) forgotten.
      if (head - (mined?.blockNumber ?? w.block) >= REORG_DEPTH_BLOCKS) {
        if (onChain) this.settled += w.wei;
        this.recent.splice(this.recent.indexOf(w), 1);
      }
    }
  }
}
