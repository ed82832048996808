/**
 * A worker defends its receipts: it watches the dispute game for games opened over a receipt it signed
 * (read from the challenge transaction's calldata), regenerates that request's trace from the context it
 * kept, and plays the protocol's solver with it (chain/disputePlayer.ts) — dissecting attacked values
 * its trace agrees with and proving the leaf on chain with the one-step check — until the game is
 * resolved. Without it an honest worker challenged by a lying fisherman would lose by timeout. Its
 * moves are sent, and its bonds posted, by the worker's operator account.
 */
import type { Hex } from "viem";
import type { ChainClients } from "../../../chain/deploy.ts";
import { playTurn } from "../../../chain/disputePlayer.ts";
import { callOf, type EventCursor } from "../../../chain/events.ts";
import { readGame } from "../../../chain/gameMirror.ts";
import { disputeGameAbi } from "../../../chain/generated/contracts.ts";
import { encodeStepEvidence } from "../../../chain/stepEvidence.ts";
import { fastKeccak256 } from "../../../crypto/nativeSecp256k1.ts";
import { traceStepEvidence } from "../../../protocol/dispute/traceStep.ts";
import type { DisputeParams } from "../../../protocol/params/otr.ts";
import type { IntModel } from "../../../protocol/verifiable/intModel.ts";
import type { ExecutionContext } from "../../../protocol/verifiable/replay.ts";
import {
  type VerifiableGeneration,
  verifiableGeneration,
} from "../../../protocol/verifiable/verifiableGeneration.ts";
import { DisputeBonds } from "../../disputeBonds.ts";
import { Latest } from "../../latest.ts";
import type { Logger } from "../../observability.ts";
import { Pass } from "../../pass.ts";
import { ResolvedGames, recentResolutions } from "../../resolvedGames.ts";
import { ResumePoint } from "../../resumePoint.ts";
import { RECENT_KEPT } from "./spotCheckProver.ts";
import type { WorkerStore } from "./workerStore.ts";

interface Defended {
  readonly gameId: bigint;
  /** The block its GameOpened event is in: a restart must read from there to find it again. */
  readonly openedBlock: bigint;
  /** The disputed receipt's request: its context is kept while the game is played. */
  readonly requestId: Hex;
  readonly traceRoot: Hex;
  readonly context: ExecutionContext;
  readonly generation: VerifiableGeneration;
}

export class DisputeDefender {
  /** The games over our receipts being played, and those seen resolved while {@link resolved} watches them. */
  private readonly games = new Map<bigint, Defended>();
  private readonly resolved: ResolvedGames;
  /** Set when a reorganisation made this pass forget games, until the pass has found them again. */
  private rewound = false;
  private readonly pass: Pass;
  /** The latest games resolved, by outcome (for /health and tests; the latest RECENT_KEPT only). */
  readonly outcomes = new Latest<{ gameId: string; rootCountered: boolean }>(RECENT_KEPT);
  readonly bonds: DisputeBonds;
  /** The native keccak when it loads (the same hashes): regenerating a trace hashes every step. */
  private readonly keccak = fastKeccak256();

  constructor(
    private readonly chain: ChainClients,
    private readonly game: Hex,
    private readonly worker: Hex,
    private readonly params: DisputeParams,
    private readonly model: IntModel,
    private readonly store: WorkerStore,
    private readonly logger: Logger,
    /** The first block to look for games in (the deployment's). */
    fromBlock: bigint,
  ) {
    this.bonds = new DisputeBonds(chain, game, logger);
    this.resolved = new ResolvedGames(async (id) => (await readGame(chain, game, id)).resolved);
    const resume = new ResumePoint(
      store.resumePoints,
      `disputeGame ${game.toLowerCase()}`,
      chain.public,
      logger,
    );
    this.pass = new Pass(logger, "dispute defence pass failed; will retry", async () => {
      // Games opened in blocks the chain no longer holds may be gone or others: found again if not.
      const opened = await resume.cursor(fromBlock, (from) => {
        this.rewound = true;
        for (const [id, g] of this.games)
          if (g.openedBlock >= from) {
            this.games.delete(id);
            this.resolved.forget(id);
          }
      });
      await this.discover(opened);
      // The head only when there are games to play or watch (no read a pass otherwise).
      const head = this.games.size > 0 ? await this.chain.public.getBlockNumber({ cacheTime: 0 }) : 0n;
      const { settled, reopened } = await this.resolved.check(head);
      for (const id of settled) this.games.delete(id);
      for (const id of reopened)
        this.logger.warn(
          { game: String(id) },
          "a dispute's resolution is no longer on chain (reorganised): defending it again",
        );
      for (const g of this.games.values()) if (!this.resolved.has(g.gameId)) await this.play(g, head);
      await this.bonds.collect();
      // A restart must find every game still being played, or watched: resume no later than the oldest
      // one's block.
      let oldest = opened.next;
      for (const g of this.games.values()) if (g.openedBlock < oldest) oldest = g.openedBlock;
      await resume.done(oldest);
      this.rewound = false;
    });
  }

  /**
   * The requests of the games still being played (or resolved less than a reorganisation deep), whose
   * contexts the worker keeps past its retention; null while the last pass has not completed, or a
   * reorganisation's has not (a game it has not found yet, or again, may need any context).
   */
  openRequests(): Hex[] | null {
    if (this.pass.failure !== null || this.rewound) return null;
    return [...this.games.values()].map((g) => g.requestId);
  }

  /** One pass: new games over our receipts are picked up, every open one gets its moves. */
  step(): Promise<void> {
    return this.pass.run();
  }

  private async discover(opened: EventCursor): Promise<void> {
    /** Games resolved a block or less deep than a reorganisation reaches (read once a pass, if needed). */
    let recent: Map<bigint, bigint> | null = null;
    await opened.each<{ game: bigint }>(
      this.chain,
      { address: this.game, abi: disputeGameAbi, eventName: "GameOpened" },
      async (log) => {
        const call = await callOf(this.chain, disputeGameAbi, log.transactionHash);
        if (call.functionName !== "challenge") return;
        const r = call.args[2] as { worker: Hex; requestId: Hex; traceRoot: Hex; outputTokens: number };
        if (r.worker.toLowerCase() !== this.worker.toLowerCase()) return;
        // After a restart the cursor reads again from its saved point. A game resolved deeper than a
        // reorganisation reaches needs no trace; one resolved since is watched, as if seen resolving.
        let resolvedIn: bigint | undefined;
        const record = await readGame(this.chain, this.game, log.args.game);
        if (record.resolved) {
          recent ??= await recentResolutions(
            this.chain,
            this.game,
            await this.chain.public.getBlockNumber({ cacheTime: 0 }),
          );
          resolvedIn = recent.get(log.args.game);
          if (resolvedIn === undefined) return;
        }
        const served = this.store.byRequestId(r.requestId);
        if (!served) {
          this.logger.error(
            { game: String(log.args.game), requestId: r.requestId },
            "disputed receipt not in the store: cannot defend",
          );
          return;
        }
        const generation = verifiableGeneration(
          this.model,
          served.context,
          r.outputTokens,
          null,
          this.keccak,
        );
        if (generation.fields.traceRoot !== r.traceRoot.toLowerCase()) {
          this.logger.error(
            { game: String(log.args.game) },
            "our own trace does not regenerate the disputed root: not defending",
          );
          return;
        }
        this.games.set(log.args.game, {
          gameId: log.args.game,
          openedBlock: log.blockNumber,
          requestId: r.requestId,
          traceRoot: r.traceRoot,
          context: served.context,
          generation,
        });
        if (resolvedIn !== undefined) {
          if (this.resolved.add(log.args.game, resolvedIn))
            this.outcomes.push({ gameId: String(log.args.game), rootCountered: record.rootCountered });
          this.logger.info(
            { game: String(log.args.game) },
            "a dispute over our receipt resolved recently: watched until a reorganisation cannot undo it",
          );
          return;
        }
        this.logger.warn(
          { game: String(log.args.game), requestId: r.requestId },
          "a receipt of ours is disputed: defending it",
        );
      },
    );
  }

  /** One turn of `g`'s game, `head` the chain's head before it. */
  private async play(g: Defended, head: bigint): Promise<void> {
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
    // Each move at info: a game lost by the clock then shows whether the worker moved at all.
    if (turn.sent.length > 0)
      this.logger.info({ game: String(g.gameId), moves: turn.sent }, "defence moves mined");
    for (const f of turn.failed)
      this.logger.warn({ game: String(g.gameId), err: f }, "a defence move was refused");
    if (turn.resolved) {
      // Kept, with the request's context, until the resolution is a reorganisation deep.
      if (this.resolved.add(g.gameId, head))
        this.outcomes.push({ gameId: String(g.gameId), rootCountered: turn.rootCountered === true });
      this.bonds.resolved();
      this.logger.info({ game: String(g.gameId), rootCountered: turn.rootCountered }, "dispute resolved");
    }
  }
}
