/**
 * The dashboard the gateway serves (issue: a network dashboard and receipt explorer in the browser):
 * the page (web/dashboard.html), its script bundled by esbuild from web/dashboard.ts on first request
 * (everything in it, nothing from a CDN), the addresses it reads the chain with, and the settler's
 * epochs passed through, so that the browser talks to the gateway and the RPC only.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Fastify, { type FastifyInstance } from "fastify";
import type { DeploymentFile } from "../../../chain/deploymentFile.ts";
import { VerinferError } from "../../../errors.ts";
import type { DisputeParams } from "../../../protocol/params/otr.ts";
import { closeDraining } from "../../http/drain.ts";
import { installErrorReplies } from "../../http/httpErrors.ts";

const SETTLER_VIEWS = ["/v1/epochs", "/v1/epochs/:epoch", "/v1/trust"];
const WEB = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../web");

/** Bundles web/dashboard.ts for the browser (ES modules, minified). */
export async function bundleDashboard(): Promise<string> {
  // Loaded here, not at start: a gateway (re)starts faster without esbuild, which only this page needs.
  const { build } = await import("esbuild");
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

/** Serves the page and its bundled script (built on first request, kept). */
function installPage(app: FastifyInstance): void {
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
}

export function installDashboard(
  app: FastifyInstance,
  o: {
    readonly rpcUrl: string;
    readonly deployment: Pick<
      DeploymentFile,
      "chainId" | "rollup" | "registry" | "disputeGame" | "spotChecks" | "scoreCommits" | "deployedAtBlock"
    >;
    readonly settler?: string | undefined;
    /** The dispute game's parameters, so the page can mirror each game's tree from its events. */
    readonly dispute?: DisputeParams | undefined;
  },
): void {
  installPage(app);
  app.get("/dashboard/config.json", async () => ({
    rpcUrl: o.rpcUrl,
    chainId: o.deployment.chainId,
    rollup: o.deployment.rollup,
    registry: o.deployment.registry,
    disputeGame: o.deployment.disputeGame ?? null,
    spotChecks: o.deployment.spotChecks ?? null,
    scoreCommits: o.deployment.scoreCommits ?? null,
    deployedAtBlock: o.deployment.deployedAtBlock ?? 0,
    settler: o.settler !== undefined,
    // bigints as decimal strings (JSON has no bigint)
    dispute: o.dispute
      ? {
          ...o.dispute,
          bondGasPriceWei: String(o.dispute.bondGasPriceWei),
          workerSlash: String(o.dispute.workerSlash),
        }
      : null,
  }));
  // The settler's views, passed through: epochs (with their entries and proofs) and evaluators' trust.
  for (const path of SETTLER_VIEWS) {
    if (o.settler) passThrough(app, path, o.settler);
    else
      app.get(path, async () => {
        throw new VerinferError("EPOCH_NOT_SETTLED", "this gateway knows no settler");
      });
  }
}

/** Serves GET `path` by asking `base` for the same URL and answering what it answered. */
function passThrough(app: FastifyInstance, path: string, base: string): void {
  app.get(path, async (request, reply) => {
    const response = await fetch(`${base}${request.url}`, { signal: AbortSignal.timeout(5000) });
    return reply
      .code(response.status)
      .header("content-type", "application/json")
      .send(await response.text());
  });
}

/**
 * `verinfer dashboard --gateway URL [--rpc URL]`: the dashboard served from this machine for a remote
 * gateway — the page and script from here, the gateway's read-only views passed through, and the
 * chain read from `rpcUrl` (default: the RPC the gateway names).
 */
export async function startDashboardServer(o: {
  readonly gateway: string;
  readonly rpcUrl?: string | undefined;
  readonly host: string;
  readonly port: number;
}): Promise<{ url: string; close(): Promise<void> }> {
  const gateway = o.gateway.replace(/\/$/, "");
  let config: Record<string, unknown>;
  try {
    config = (await (
      await fetch(`${gateway}/dashboard/config.json`, { signal: AbortSignal.timeout(5000) })
    ).json()) as Record<string, unknown>;
  } catch (e) {
    throw new VerinferError(
      "UPSTREAM_CONNECTION_FAILED",
      `cannot read ${gateway}/dashboard/config.json: ${(e as Error).message}`,
    );
  }
  const app = Fastify({ logger: false });
  installErrorReplies(app, () => {});
  installPage(app);
  app.get("/dashboard/config.json", async () => ({ ...config, rpcUrl: o.rpcUrl ?? config.rpcUrl }));
  // The views the page reads, passed through from the gateway as they are.
  for (const path of ["/v1/network", "/v1/receipts/:id", ...SETTLER_VIEWS]) passThrough(app, path, gateway);
  const url = await app.listen({ host: o.host, port: o.port });
  return { url: `${url}/dashboard`, close: () => closeDraining(app) };
}
