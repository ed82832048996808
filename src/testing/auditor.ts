/**
 * A settler in audit mode for tests (the devnet's parameters, a fresh key it never uses) and its verdicts
 * as `GET /v1/epochs` gives them.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "viem/accounts";
import { clientsFor } from "../chain/deploy.ts";
import type { DeploymentFile } from "../chain/deploymentFile.ts";
import { nodeLogger } from "../node/observability.ts";
import { createSettler, type SettlerNode } from "../node/services/settler/settlerService.ts";
import { DEVNET_OTR_PARAMS } from "../protocol/params/otr.ts";
import { DEFAULT_POQ_ROUND_PARAMS } from "../protocol/params/poq.ts";

export interface TestAuditor {
  readonly node: SettlerNode;
  /** The account it was given (an auditor sends nothing from it). */
  readonly account: string;
  /** Each epoch it has checked, with its status: agrees, disagrees or empty. */
  verdicts(): Promise<Map<number, string>>;
}

export function testAuditor(deployment: DeploymentFile): TestAuditor {
  const chain = clientsFor(deployment.rpcUrl, deployment.chainId, generatePrivateKey());
  const node = createSettler({
    dataDir: mkdtempSync(join(tmpdir(), "verinfer-audit-")),
    chain,
    deployment,
    poea: DEVNET_OTR_PARAMS.poea,
    round: DEFAULT_POQ_ROUND_PARAMS,
    seedDelayBlocks: DEVNET_OTR_PARAMS.spotcheck.seedDelayBlocks,
    pollMs: 1000,
    logger: nodeLogger("settler", "silent"),
    mode: "audit",
  });
  return {
    node,
    account: chain.wallet.account.address,
    async verdicts() {
      const listed = (await node.app.inject({ method: "GET", url: "/v1/epochs" })).json() as {
        epochs: { epoch: number; status: string }[];
      };
      return new Map(listed.epochs.map((x) => [x.epoch, x.status]));
    },
  };
}
