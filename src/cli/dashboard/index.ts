import { startDashboardServer } from "../../node/services/gateway/dashboard.ts";
import type { CommandSpec } from "../framework/command.ts";

/** `verinfer dashboard`: the network dashboard for a remote gateway, served from this machine. */
export const dashboardCommand: CommandSpec = {
  name: "dashboard",
  summary:
    "serve the network dashboard and receipt explorer for a gateway (every gateway also serves it at /dashboard)",
  description: [
    "Serves the dashboard page on this machine for the gateway at --gateway: the gateway's read-only views",
    "(network, receipts, epochs) are passed through, and the browser reads the chain from --rpc (default: the",
    "RPC the gateway names). Every gateway serves the same page itself at /dashboard. Runs until Ctrl-C.",
  ].join("\n"),
  options: {
    gateway: { type: "string", value: "URL", required: true, description: "the gateway's base URL" },
    rpc: { type: "string", value: "URL", description: "JSON-RPC endpoint the browser reads the chain from" },
    host: { type: "string", value: "ADDRESS", default: "127.0.0.1", description: "address to listen on" },
    port: {
      type: "integer",
      value: "N",
      default: 8700,
      min: 0,
      max: 65_535,
      description: "port (0: any free)",
    },
  },
  examples: [
    "verinfer dashboard --gateway http://127.0.0.1:8600",
    "verinfer dashboard --gateway https://gw.example --rpc https://rpc.example",
  ],
  async run(ctx) {
    const server = await startDashboardServer({
      gateway: ctx.string("gateway") as string,
      rpcUrl: ctx.string("rpc"),
      host: ctx.string("host") as string,
      port: ctx.number("port") as number,
    });
    ctx.output({ url: server.url }, () => `dashboard: ${server.url} (Ctrl-C stops it)`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await server.close();
    return 0;
  },
};
