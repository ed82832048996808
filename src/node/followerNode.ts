/**
 * What the roles that follow the chain (fisherman, evaluator, settler) share: a SQLite store opened
 * durably (WAL, synchronous = FULL) with a `progress` table of named cursors, an HTTP app with
 * `/metrics`, and a periodic, non-overlapping pass that `close` lets finish before the store closes.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import Fastify, { type FastifyInstance } from "fastify";
import { closeDraining } from "./http/drain.ts";
import { installErrorReplies } from "./http/httpErrors.ts";
import type { Logger, NodeMetrics } from "./observability.ts";
import type { Pass } from "./pass.ts";
import { readyRoute } from "./readiness.ts";

/** A started follower role. */
export interface FollowerNode {
  readonly app: FastifyInstance;
  /** Runs the pass every `pollMs`. */
  start(): void;
  /** One pass (tests drive it directly). */
  step(): Promise<void>;
  /** Stops the timer and the HTTP app, waits for the running pass, closes the store. */
  close(): Promise<void>;
}

/** A follower's store: its database, and named progress counters in it. */
export interface FollowerStore {
  readonly db: Database.Database;
  progress(name: string): number;
  setProgress(name: string, value: number): void;
}

/** Opens `<dataDir>/<file>` (mode 0700 folder) with `schema` and a progress table. */
export function openFollowerStore(dataDir: string, file: string, schema: string): FollowerStore {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(join(dataDir, file));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(`${schema}\nCREATE TABLE IF NOT EXISTS progress (name TEXT PRIMARY KEY, value INTEGER NOT NULL);`);
  return {
    db,
    progress: (name) =>
      (db.prepare("SELECT value FROM progress WHERE name = ?").get(name) as { value: number } | undefined)
        ?.value ?? 0,
    setProgress: (name, value) => {
      db.prepare(
        "INSERT INTO progress (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = ?",
      ).run(name, value, value);
    },
  };
}

/** The HTTP app of a follower role: error replies and `/metrics`; the role adds its own routes. */
export function followerApp(metrics: NodeMetrics, logger: Logger): FastifyInstance {
  const app = Fastify({ logger: false });
  installErrorReplies(app, (error) => logger.error({ err: error }, "internal error"));
  app.get("/metrics", async (_request, reply) => {
    const { contentType, text } = await metrics.exposition();
    return reply.header("content-type", contentType).send(text);
  });
  return app;
}

/** The role's lifecycle around its pass. */
export function followerNode(o: {
  readonly app: FastifyInstance;
  readonly pass: Pass;
  readonly pollMs: number;
  readonly db: Database.Database;
  readonly onClose?: () => Promise<void>;
}): FollowerNode {
  let timer: NodeJS.Timeout | null = null;
  // Ready while following the chain: the last pass went through.
  readyRoute(o.app, () => o.pass.failure);
  return {
    app: o.app,
    step: () => o.pass.run(),
    start() {
      timer = setInterval(() => void o.pass.run(), o.pollMs);
    },
    async close() {
      if (timer) clearInterval(timer);
      await closeDraining(o.app);
      while (o.pass.busy) await new Promise((r) => setTimeout(r, 50));
      await o.onClose?.();
      o.db.close();
    },
  };
}
