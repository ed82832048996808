/**
 * The dashboard the gateway serves (issue: a network dashboard and receipt explorer in the browser):
 * the page (web/dashboard.html), its script bundled by esbuild from web/dashboard.ts on first request
 * (everything in it, nothing from a CDN), the addresses it reads the chain with, and the settler's
 * epochs passed through, so that the browser talks to the gateway and the RPC only.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { FastifyInstance } from "fastify";
import type { DeploymentFile } from "../../../chain/deploymentFile.ts";
import { VerinferError } from "../../../errors.ts";

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../web");

/** Bundles web/dashboard.ts for the browser (ES modules, minified). */
export async function bundleDashboard(): Promise<string> {
  const out = await build({
    entryPoints: [join(WEB, "dashboard.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    logLevel: "silent",
  });
  return out.outputFiles[0]?.text ?? "";
}

export function installDashboard(
  app: FastifyInstance,
  o: {
    readonly rpcUrl: string;
    readonly deployment: Pick<
      DeploymentFile,
      "chainId" | "rollup" | "registry" | "disputeGame" | "spotChecks" | "scoreCommits"
    >;
    readonly settler?: string | undefined;
  },
): void {
  let bundle: Promise<string> | null = null;
  app.get("/dashboard", async (_request, reply) =>
    reply.header("content-type", "text/html; charset=utf-8").send(readFileSync(join(WEB, "dashboard.html"))),
  );
  app.get("/dashboard/app.js", async (_request, reply) => {
    bundle ??= bundleDashboard().catch((e: unknown) => {
      bundle = null;
      throw e;
    });
    return reply.header("content-type", "text/javascript; charset=utf-8").send(await bundle);
  });
  app.get("/dashboard/config.json", async () => ({
    rpcUrl: o.rpcUrl,
    chainId: o.deployment.chainId,
    rollup: o.deployment.rollup,
    registry: o.deployment.registry,
    disputeGame: o.deployment.disputeGame ?? null,
    spotChecks: o.deployment.spotChecks ?? null,
    scoreCommits: o.deployment.scoreCommits ?? null,
    settler: o.settler !== undefined,
  }));
  app.get("/v1/epochs", async (_request, reply) => {
    if (!o.settler) throw new VerinferError("EPOCH_NOT_SETTLED", "this gateway knows no settler");
    const response = await fetch(`${o.settler}/v1/epochs`, { signal: AbortSignal.timeout(3000) });
    return reply
      .code(response.status)
      .header("content-type", "application/json")
      .send(await response.text());
  });
}
