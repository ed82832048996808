/**
 * A settler for tests, with the devnet's parameters: settling from the given account, or auditing with a
 * fresh key it never uses; and its epochs as `GET /v1/epochs` gives them.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "viem/accounts";
import { type ChainClients, clientsFor } from "../chain/deploy.ts";
import type { DeploymentFile } from "../chain/deploymentFile.ts";
import { nodeLogger } from "../node/observability.ts";
import { createSettler, type SettlerNode } from "../node/services/settler/settlerService.ts";
import { DEVNET_OTR_PARAMS } from "../protocol/params/otr.ts";
import { DEFAULT_POQ_ROUND_PARAMS, type PoqRoundParams } from "../protocol/params/poq.ts";

export interface TestSettler {
  readonly node: SettlerNode;
  /** The account it was given (an auditor sends nothing from it). */
  readonly account: string;
  /** Each epoch it has handled, with its status (posted, claimed, empty; an auditor's agrees, disagrees). */
  statuses(): Promise<Map<number, string>>;
  /**
   * Steps the node until its statuses satisfy `done`, and returns them; throws after `passes` passes
   * (default 10) that did not get there.
   */
  stepUntil(done: (statuses: Map<number, string>) => boolean, passes?: number): Promise<Map<number, string>>;
  /** Epoch e as `GET /v1/epochs/{e}` gives it. */
  epoch(e: number): Promise<{
    root: string | null;
    rounds: unknown[];
    inputs: EpochInputsView;
    entries: unknown[];
    attribution: Record<string, unknown>;
  }>;
}

/** The parts of an epoch's recorded inputs the tests read. */
export interface EpochInputsView {
  readonly receipts: unknown[];
  readonly evaluators: string[];
  readonly fishermen: { fisherman: string; stake: string }[];
  readonly reveals: Record<string, unknown>;
}

/**
 * An auditing settler (`settler` absent) or one that settles from `settler`'s account; with the default
 * PoQ round unless `round` is given.
 */
export function testSettler(
  deployment: DeploymentFile,
  o: {
    readonly settler?: ChainClients;
    readonly round?: PoqRoundParams;
    /** Its store's folder (a new one by default): another settler's, to restart it. */
    readonly dataDir?: string;
    /** How long it keeps an epoch's inputs after its end (ms; forever by default). */
    readonly retentionMs?: number;
  } = {},
): TestSettler {
  const settler = o.settler;
  const chain = settler ?? clientsFor(deployment.rpcUrl, deployment.chainId, generatePrivateKey());
  const node = createSettler({
    dataDir: o.dataDir ?? mkdtempSync(join(tmpdir(), "verinfer-settler-")),
    chain,
    deployment,
    poea: DEVNET_OTR_PARAMS.poea,
    round: o.round ?? DEFAULT_POQ_ROUND_PARAMS,
    seedDelayBlocks: DEVNET_OTR_PARAMS.spotcheck.seedDelayBlocks,
    pollMs: 1000,
    logger: nodeLogger("settler", "silent"),
    mode: settler ? "settle" : "audit",
    retentionMs: o.retentionMs,
    maxReceiptAgeMs: DEVNET_OTR_PARAMS.rollup.maxReceiptAgeMs,
  });
  const statuses = async () => {
    const listed = (await node.app.inject({ method: "GET", url: "/v1/epochs" })).json() as {
      epochs: { epoch: number; status: string }[];
    };
    return new Map(listed.epochs.map((x) => [x.epoch, x.status]));
  };
  return {
    node,
    account: chain.wallet.account.address,
    statuses,
    async stepUntil(done, passes = 10) {
      for (let pass = 0; ; pass++) {
        const now = await statuses();
        if (done(now)) return now;
        if (pass === passes) throw new Error(`not there after ${passes} passes: ${JSON.stringify([...now])}`);
        await node.step();
      }
    },
    async epoch(e) {
      return (await node.app.inject({ method: "GET", url: `/v1/epochs/${e}` })).json();
    },
  };
}
