/**
 * `GET /ready`, the readiness probe every role serves beside `/health` (liveness: the process answers):
 * 200 `{ready: true}` when the role can do its work now, else 503 `{ready: false, why}` — a load
 * balancer or orchestrator stops sending it work meanwhile without restarting it.
 */
import type { FastifyInstance } from "fastify";

/** Serves `/ready` from `why`: null when ready, else the reason it is not. */
export function readyRoute(app: FastifyInstance, why: () => string | null): void {
  app.get("/ready", async (_request, reply) => {
    const reason = why();
    return reason === null ? { ready: true } : reply.code(503).send({ ready: false, why: reason });
  });
}
