/**
 * Closing a Fastify app the way a drain should: no new requests (Fastify answers 503 meanwhile), the
 * ones in flight finish, and each keep-alive socket is closed as soon as it falls idle. Fastify closes
 * idle sockets once, when closing starts, and otherwise keeps a keep-alive socket open for its 72 s
 * keep-alive timeout: a client whose request was in flight at SIGTERM held the process that long, past
 * any orchestrator's grace period, and the gateway never got to post what it had sealed.
 */
import type { FastifyInstance } from "fastify";

/** `app.close()`, reaping each keep-alive socket once its last request is answered. */
export async function closeDraining(app: FastifyInstance): Promise<void> {
  const reap = setInterval(() => app.server.closeIdleConnections(), 50);
  try {
    await app.close();
  } finally {
    clearInterval(reap);
  }
}
