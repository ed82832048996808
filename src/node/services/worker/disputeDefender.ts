/**
 * A worker defends its receipts: it watches the dispute game for games opened over a receipt it signed
 * (read from the challenge transaction's calldata), regenerates that request's trace from the context it
 * kept, and plays the protocol's solver with it (chain/disputePlayer.ts) — dissecting attacked values
 * its trace agrees with and proving the leaf on chain with the one-step check — until the game is
 * resolved. Without it an honest worker challenged by a lying fisherman would lose by timeout. Its
 * moves are sent, and its bonds posted, by the worker's operator account.
 */
import { decodeFunctionData, type Hex } from "viem";
import type { ChainClients } from "../../../chain/deploy.ts";
import { playTurn } from "../../../chain/disputePlayer.ts";
import { disputeGameAbi } from "../../../chain/generated/contracts.ts";
import { encodeStepEvidence } from "../../../chain/stepEvidence.ts";
import { traceStepEvidence } from "../../../protocol/dispute/traceStep.ts";
import type { DisputeParams } from "../../../protocol/params/otr.ts";
import type { IntModel } from "../../../protocol/verifiable/intModel.ts";
import type { ExecutionContext } from "../../../protocol/verifiable/replay.ts";
import {
  type VerifiableGeneration,
  verifiableGeneration,
} from "../../../protocol/verifiable/verifiableGeneration.ts";
import type { Logger } from "../../observability.ts";
import type { WorkerStore } from "./workerStore.ts";

interface Defended {
  readonly gameId: bigint;
  readonly traceRoot: Hex;
  readonly context: ExecutionContext;
  readonly generation: VerifiableGeneration;
}

export class DisputeDefender {
  private fromBlock = 0n;
  private readonly games = new Map<bigint, Defended>();
  private busy = false;
  /** Games resolved, by outcome (for /health and tests). */
  readonly outcomes: { gameId: string; rootCountered: boolean }[] = [];

  constructor(
    private readonly chain: ChainClients,
    private readonly game: Hex,
    private readonly worker: Hex,
    private readonly params: DisputeParams,
    private readonly model: IntModel,
    private readonly store: WorkerStore,
    private readonly logger: Logger,
  ) {}

  /** One pass: new games over our receipts are picked up, every open one gets its moves. */
  async step(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.discover();
      for (const g of this.games.values()) await this.play(g);
    } catch (e) {
      this.logger.warn(
        { err: (e as Error).message.split("\n")[0] },
        "dispute defence pass failed; will retry",
      );
    } finally {
      this.busy = false;
    }
  }

  private async discover(): Promise<void> {
    const to = await this.chain.public.getBlockNumber();
    if (to < this.fromBlock) return;
    const logs = (await this.chain.public.getContractEvents({
      address: this.game,
      abi: disputeGameAbi,
      eventName: "GameOpened",
      fromBlock: this.fromBlock,
      toBlock: to,
    } as never)) as unknown as { transactionHash: Hex; args: { game: bigint } }[];
    for (const log of logs) {
      const tx = await this.chain.public.getTransaction({ hash: log.transactionHash });
      const call = decodeFunctionData({ abi: disputeGameAbi, data: tx.input });
      if (call.functionName !== "challenge") continue;
      const r = (call.args as readonly unknown[])[2] as {
        worker: Hex;
        requestId: Hex;
        traceRoot: Hex;
        outputTokens: number;
      };
      if (r.worker.toLowerCase() !== this.worker.toLowerCase()) continue;
      const served = this.store.byRequestId(r.requestId);
      if (!served) {
        this.logger.error(
          { game: String(log.args.game), requestId: r.requestId },
          "disputed receipt not in the store: cannot defend",
        );
        continue;
      }
      const generation = verifiableGeneration(this.model, served.context, r.outputTokens);
      if (generation.fields.traceRoot !== r.traceRoot.toLowerCase()) {
        this.logger.error(
          { game: String(log.args.game) },
          "our own trace does not regenerate the disputed root: not defending",
        );
        continue;
      }
      this.games.set(log.args.game, {
        gameId: log.args.game,
        traceRoot: r.traceRoot,
        context: served.context,
        generation,
      });
      this.logger.warn(
        { game: String(log.args.game), requestId: r.requestId },
        "a receipt of ours is disputed: defending it",
      );
    }
    this.fromBlock = to + 1n;
  }

  private async play(g: Defended): Promise<void> {
    const evidence = (i: number) =>
      traceStepEvidence(this.model, g.context, g.generation.outputs, (j) => g.generation.tree.proof(j), i);
    const turn = await playTurn(
      this.chain,
      this.game,
      g.gameId,
      { traceRoot: g.traceRoot, leafCount: g.generation.outputs.length, worker: this.worker },
      this.params,
      { me: this.chain.wallet.account.address, tree: g.generation.tree, stepEvidence: evidence },
      (i) => encodeStepEvidence(this.model, i, evidence(i)),
    );
    for (const f of turn.failed)
      this.logger.warn({ game: String(g.gameId), err: f }, "a defence move was refused");
    if (turn.resolved) {
      this.games.delete(g.gameId);
      this.outcomes.push({ gameId: String(g.gameId), rootCountered: turn.rootCountered === true });
      this.logger.info({ game: String(g.gameId), rootCountered: turn.rootCountered }, "dispute resolved");
    }
  }
}
